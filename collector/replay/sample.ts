/**
 * Consistent sampling: a key is in the sample when its hash falls under the percentage, so
 * the same connection (or the same value of a header, e.g. a user id) is always in or out,
 * run after run. FNV-1a 32-bit over the UTF-8 key.
 */
export function fnv1a32(key: string): number {
  let h = 0x811c9dc5;
  const b = Buffer.from(key, 'utf8');
  for (let i = 0; i < b.length; i++) {
    h ^= b.readUInt8(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** True if `key` is in a `pct` % sample (0..100, resolution 0.0001 %). */
export function inSample(key: string, pct: number): boolean {
  if (pct >= 100) return true;
  if (pct <= 0) return false;
  return fnv1a32(key) % 1_000_000 < Math.round(pct * 10_000);
}
