/**
 * Request rewriting for replay: Host, added/replaced and removed header fields. Without any
 * rewrite the captured bytes are sent unchanged (byte-exact replay); with one, the head is
 * rebuilt (request line, fields in their captured order and case, then the added ones) and
 * the body is sent as captured (chunked framing included).
 */
import type { HttpMessage } from '../../packet/http/http1.js';

export interface RewriteOptions {
  /** New Host value. */
  host?: string;
  /** Fields to set: every captured field of that name is replaced by this one. */
  set: readonly (readonly [string, string])[];
  /** Lower-case names of fields to remove. */
  remove: readonly string[];
}

export function hasRewrites(o: RewriteOptions): boolean {
  return o.host !== undefined || o.set.length > 0 || o.remove.length > 0;
}

/**
 * The bytes to send for request `m`, whose captured bytes are `raw` (startOff..endOff of
 * the client stream). Returns a view of `raw` when nothing is rewritten.
 */
export function rewriteRequest(m: HttpMessage, raw: Buffer, o: RewriteOptions): Buffer {
  if (!hasRewrites(o)) return raw;
  const drop = new Set(o.remove.map((n) => n.toLowerCase()));
  for (const [n] of o.set) drop.add(n.toLowerCase());
  if (o.host !== undefined) drop.add('host');
  const lines = [`${m.method} ${m.target} HTTP/1.${m.versionMinor}`];
  let hostDone = false;
  for (const f of m.headers) {
    const n = f.name.toLowerCase();
    if (n === 'host' && o.host !== undefined) {
      // Keep Host where it was (first), with the new value.
      if (!hostDone) lines.push(`${f.name}: ${o.host}`);
      hostDone = true;
      continue;
    }
    if (drop.has(n)) continue;
    lines.push(`${f.name}: ${f.value}`);
  }
  if (o.host !== undefined && !hostDone) lines.splice(1, 0, `Host: ${o.host}`);
  for (const [n, v] of o.set) lines.push(`${n}: ${v}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  const body = raw.subarray(m.headEndOff - m.startOff);
  return Buffer.concat([head, body]);
}
