/**
 * Numeric hashes of flow keys (murmur3's mixing steps), so that flow lookup never builds a
 * string per packet: a hash picks a bucket, then the key is compared as numbers. Does not
 * allocate. Results are small non-negative integers (30 bits) so that V8 keeps them as Smis
 * in a Map key.
 */

/** Mixes one 32-bit word into a running hash. */
export function mixWord(h: number, w: number): number {
  let k = Math.imul(w, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** Final avalanche; result in 0 .. 2^30-1. */
export function finishHash(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h & 0x3fffffff;
}

/** Hash of one endpoint (address words, IPv4 in w0 with the rest 0, and port). */
export function endpointHash(w0: number, w1: number, w2: number, w3: number, port: number): number {
  let h = mixWord(0x2545f491, port);
  h = mixWord(h, w0);
  h = mixWord(h, w1);
  h = mixWord(h, w2);
  return mixWord(h, w3);
}

/** Direction-independent hash of a 4-tuple: the same for (a, b) and (b, a). */
export function symmetricFlowHash(a: number, b: number, ipVersion: number): number {
  return finishHash(((a + b) | 0) ^ ipVersion);
}
