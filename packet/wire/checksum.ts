/**
 * The Internet checksum, RFC 1071: the 16-bit ones' complement of the ones' complement sum
 * of the data taken as big-endian 16-bit words (an odd trailing byte is padded with zero).
 * Used by IPv4 (RFC 791), TCP (RFC 9293 §3.1), UDP (RFC 768), ICMP (RFC 792),
 * ICMPv6 (RFC 4443 §2.3) and the GRE checksum (RFC 2784 §2.5).
 *
 * All functions are allocation-free and read only [off, off + len); the caller checks bounds.
 */

/**
 * Adds the bytes [off, off + len) of `buf` to a running 32-bit partial sum (not yet folded).
 * Chain calls to checksum discontiguous data; an odd-length chunk must be the last one.
 */
export function checksumAdd(sum: number, buf: Uint8Array, off: number, len: number): number {
  const end = off + len;
  let i = off;
  for (; i + 1 < end; i += 2) {
    sum += (buf[i]! << 8) | buf[i + 1]!;
    // Fold early so the partial sum stays a small integer on long buffers.
    if (sum > 0x7fffffff) sum = (sum & 0xffff) + (sum >>> 16);
  }
  if (i < end) sum += buf[i]! << 8;
  return sum;
}

/** Folds a partial sum to 16 bits and complements it: the value to store in a checksum field. */
export function checksumFinish(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Checksum of one contiguous range. */
export function internetChecksum(buf: Uint8Array, off: number, len: number): number {
  return checksumFinish(checksumAdd(0, buf, off, len));
}

/**
 * Partial sum of the TCP/UDP pseudo-header: source and destination addresses taken from
 * `buf` (4 bytes each for IPv4, RFC 768/9293; 16 bytes each for IPv6, RFC 8200 §8.1),
 * the upper-layer protocol number and the upper-layer length.
 */
export function pseudoHeaderSum(
  buf: Uint8Array,
  srcOff: number,
  dstOff: number,
  addrLen: 4 | 16,
  proto: number,
  l4Len: number,
): number {
  let sum = checksumAdd(0, buf, srcOff, addrLen);
  sum = checksumAdd(sum, buf, dstOff, addrLen);
  // IPv6 uses a 32-bit length; IPv4 a 16-bit one. Adding both halves covers both.
  return sum + proto + (l4Len >>> 16) + (l4Len & 0xffff);
}
