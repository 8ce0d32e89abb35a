/**
 * BSD loopback encapsulation: LINKTYPE_NULL (0), a 4-byte address family in the byte order
 * of the host that captured, and LINKTYPE_LOOP (108), the same in network byte order
 * (https://www.tcpdump.org/linktypes/LINKTYPE_NULL.html). Savefiles exist with either byte
 * order under either link type, so the decoder accepts both.
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |            Address family (host or network byte order)        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * AF_INET is 2 everywhere; AF_INET6 is 10 (Linux), 24 (NetBSD, OpenBSD, BSD/OS),
 * 28 (FreeBSD, DragonFly BSD) or 30 (macOS/Darwin).
 */

export const NULL_OFF = { FAMILY: 0 } as const;
export const NULL_HEADER_LEN = 4;

export const NULL_AF = {
  INET: 2,
  INET6_LINUX: 10,
  INET6_BSD: 24,
  INET6_FREEBSD: 28,
  INET6_DARWIN: 30,
} as const;

/** 4 for an IPv4 family value, 6 for an IPv6 one, 0 otherwise. */
export function nullFamilyIpVersion(af: number): number {
  if (af === NULL_AF.INET) return 4;
  if (af === NULL_AF.INET6_LINUX || af === NULL_AF.INET6_BSD || af === NULL_AF.INET6_FREEBSD || af === NULL_AF.INET6_DARWIN) return 6;
  return 0;
}

/**
 * IP version (4 or 6) named by the family word at `off`, trying little-endian first, then
 * big-endian; 0 when neither order names IPv4/IPv6. The caller has checked 4 bytes.
 */
export function nullIpVersion(buf: Buffer, off: number): number {
  const v = nullFamilyIpVersion(buf.readUInt32LE(off));
  return v !== 0 ? v : nullFamilyIpVersion(buf.readUInt32BE(off));
}

/** Plain header, for building frames and for tests. */
export interface NullHeader {
  family: number;
  /** true: host order of a little-endian machine (LINKTYPE_NULL on x86); false: network order (LOOP). */
  littleEndian: boolean;
}

/** Writes the 4-byte family word at `off`; returns the offset after it. */
export function emitNull(h: NullHeader, buf: Buffer, off: number): number {
  if (h.littleEndian) buf.writeUInt32LE(h.family >>> 0, off);
  else buf.writeUInt32BE(h.family >>> 0, off);
  return off + NULL_HEADER_LEN;
}
