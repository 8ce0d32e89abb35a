/**
 * IPv4 and IPv6 address text, RFC 4001 dotted-quad and RFC 5952 (IPv6 text form).
 *
 * Output-edge helpers: `formatIPv4` / `formatIPv6` allocate a string and are meant for
 * printing, never for the per-packet path (keep addresses as byte offsets there).
 * `writeIPv4` / `writeIPv6` parse text into a caller-provided Buffer (header builders,
 * configuration) and throw a TypeError on text that is not an address.
 *
 * formatIPv6 follows the BIND/ws_inet_ntop6/tcpdump addrtostr6 algorithm, so its output is
 * byte-equal to tshark's and tcpdump's: lower-case hex, leading zeros dropped, the first
 * longest run of two or more zero groups replaced by "::", and a dotted-quad tail for
 * IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) addresses.
 */
export { tcpFlagsString } from './tcp-flags.js';

/** Dotted quad of the 4 bytes at `off`; the caller checks that they are present. */
export function formatIPv4(buf: Buffer, off: number): string {
  return `${buf.readUInt8(off)}.${buf.readUInt8(off + 1)}.${buf.readUInt8(off + 2)}.${buf.readUInt8(off + 3)}`;
}

/** RFC 5952 text of the 16 bytes at `off`; the caller checks that they are present. */
export function formatIPv6(buf: Buffer, off: number): string {
  buf.readUInt32BE(off + 12); // one bounds check for the whole address
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (buf.readUInt16BE(off + 2 * i) === 0) {
      if (curBase < 0) {
        curBase = i;
        curLen = 1;
      } else curLen++;
    } else if (curBase >= 0) {
      if (curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
      curBase = -1;
    }
  }
  if (curBase >= 0 && curLen > bestLen) {
    bestBase = curBase;
    bestLen = curLen;
  }
  if (bestLen < 2) bestBase = -1; // RFC 5952 §4.2.2: a single zero group is not compressed
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    // IPv4-mapped / IPv4-compatible tail, as BIND and tcpdump print it.
    if (
      i === 6 &&
      bestBase === 0 &&
      (bestLen === 6 || (bestLen === 5 && buf.readUInt16BE(off + 10) === 0xffff))
    ) {
      out += formatIPv4(buf, off + 12);
      break;
    }
    out += buf.readUInt16BE(off + 2 * i).toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) out += ':';
  return out;
}

function parseIPv4Into(text: string, buf: Buffer, off: number): boolean {
  const parts = text.split('.');
  if (parts.length !== 4) return false;
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return false;
    const v = Number(p);
    if (v > 255) return false;
    buf.writeUInt8(v, off + i);
  }
  return true;
}

/** True when `text` is a dotted-quad IPv4 address. */
export function isIPv4(text: string): boolean {
  return parseIPv4Into(text, Buffer.alloc(4), 0);
}

/** True when `text` is an IPv6 address in any RFC 4291 §2.2 text form. */
export function isIPv6(text: string): boolean {
  return parseIPv6Into(text, Buffer.alloc(16), 0);
}

/** Writes a dotted-quad IPv4 address at `off`; returns off + 4. Throws TypeError on bad text. */
export function writeIPv4(text: string, buf: Buffer, off: number): number {
  if (!parseIPv4Into(text, buf, off)) throw new TypeError(`not an IPv4 address: ${JSON.stringify(text)}`);
  return off + 4;
}

function parseGroups(text: string, words: number[]): boolean {
  if (text === '') return true;
  for (const g of text.split(':')) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return false;
    words.push(parseInt(g, 16));
  }
  return true;
}

function parseIPv6Into(text: string, buf: Buffer, off: number): boolean {
  let s = text;
  const tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (lastColon >= 0 && s.indexOf('.', lastColon) > 0) {
    const v4 = Buffer.alloc(4);
    if (!parseIPv4Into(s.slice(lastColon + 1), v4, 0)) return false;
    tail.push(v4.readUInt16BE(0), v4.readUInt16BE(2));
    s = s.slice(0, lastColon + 1);
    if (!s.endsWith('::')) s = s.slice(0, -1);
  }
  const dbl = s.indexOf('::');
  const head: number[] = [];
  const rest: number[] = [];
  if (dbl >= 0) {
    if (s.indexOf('::', dbl + 1) >= 0) return false;
    if (!parseGroups(s.slice(0, dbl), head) || !parseGroups(s.slice(dbl + 2), rest)) return false;
    const fill = 8 - head.length - rest.length - tail.length;
    if (fill < 1) return false;
    for (let i = 0; i < fill; i++) head.push(0);
  } else if (!parseGroups(s, head)) return false;
  const words = head.concat(rest, tail);
  if (words.length !== 8) return false;
  for (let i = 0; i < 8; i++) buf.writeUInt16BE(words[i]!, off + 2 * i);
  return true;
}

/** Writes an IPv6 address (any RFC 4291 text form) at `off`; returns off + 16. Throws TypeError on bad text. */
export function writeIPv6(text: string, buf: Buffer, off: number): number {
  if (!parseIPv6Into(text, buf, off)) throw new TypeError(`not an IPv6 address: ${JSON.stringify(text)}`);
  return off + 16;
}
