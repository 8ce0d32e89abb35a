/**
 * IPv4 address mapping for packet rewriting, with tcprewrite's `--pnat` semantics:
 * `OLD=NEW` maps one address, `10.0.0.0/24=192.168.7.0/24` maps a network onto another of
 * the same prefix length, keeping the host bits. Rules are tried in order; the first whose
 * network holds the address wins.
 *
 * Addresses are host-order unsigned 32-bit numbers (10.0.0.1 = 0x0a000001), never strings
 * on the per-packet path.
 */

/** One mapping rule: addresses with the top `prefixLen` bits equal to `from` take `to`'s. */
export interface Ipv4MapRule {
  /** Network (host bits zero), host-order uint32. */
  from: number;
  /** Network (host bits zero), host-order uint32. */
  to: number;
  /** 0..32. */
  prefixLen: number;
  /** Network mask for prefixLen, host-order uint32 (0 for /0). */
  mask: number;
}

/** Host-order uint32 of a dotted quad, or -1. */
export function parseIpv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) return -1;
  let n = 0;
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p)) return -1;
    const v = Number(p);
    if (v > 255) return -1;
    n = n * 256 + v;
  }
  return n;
}

/** Dotted quad of a host-order uint32 (allocates; output edge only). */
export function formatIpv4Number(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

function maskOf(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
}

function parseSide(text: string): { addr: number; prefixLen: number } | undefined {
  const m = /^([0-9.]+)(?:\/([0-9]{1,2}))?$/.exec(text.trim());
  if (m === null) return undefined;
  const addr = parseIpv4(m[1]!);
  const prefixLen = m[2] === undefined ? 32 : Number(m[2]);
  if (addr < 0 || prefixLen > 32) return undefined;
  return { addr, prefixLen };
}

/**
 * Parses "OLD=NEW" or "NET/LEN=NET/LEN" (also with ':' as tcprewrite writes it). Returns an
 * error text instead of throwing: the caller turns it into its own usage error.
 */
export function parseIpv4MapRule(text: string): Ipv4MapRule | string {
  const sep = text.includes('=') ? '=' : ':';
  const halves = text.split(sep);
  if (halves.length !== 2) return `"${text}" is not OLD=NEW (e.g. 10.0.0.1=192.168.0.1 or 10.0.0.0/24=192.168.0.0/24)`;
  const a = parseSide(halves[0]!);
  const b = parseSide(halves[1]!);
  if (a === undefined || b === undefined) {
    return `"${text}": both sides must be IPv4 addresses or networks (IPv6 mapping is not supported)`;
  }
  if (a.prefixLen !== b.prefixLen) return `"${text}": both networks must have the same prefix length`;
  const mask = maskOf(a.prefixLen);
  if (((a.addr & ~mask) >>> 0) !== 0 || ((b.addr & ~mask) >>> 0) !== 0) {
    return `"${text}": host bits set in a network (write e.g. 10.0.0.0/24)`;
  }
  return { from: a.addr, to: b.addr, prefixLen: a.prefixLen, mask };
}

/** The mapped address, or `addr` itself when no rule matches. Does not allocate. */
export function mapIpv4(rules: readonly Ipv4MapRule[], addr: number): number {
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    if (((addr & r.mask) >>> 0) === r.from) return (r.to | (addr & ~r.mask)) >>> 0;
  }
  return addr;
}
