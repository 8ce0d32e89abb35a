/**
 * Upper-layer checksums over an IP packet already laid out in a buffer: TCP (RFC 9293 §3.1),
 * UDP (RFC 768; RFC 8200 §8.1 for IPv6), ICMP (RFC 792, no pseudo-header) and ICMPv6
 * (RFC 4443 §2.3). The upper-layer length is the IP header's length minus the bytes before
 * the upper-layer header (IPv4 Total Length; IPv6 Payload Length + 40).
 */
import { checksumAdd, checksumFinish, pseudoHeaderSum } from './checksum.js';
import { IP_PROTO } from './ip-proto.js';
import { IPV4_OFF } from './ipv4.js';
import { IPV6_HEADER_LEN, IPV6_OFF } from './ipv6.js';

/** Where the upper-layer header's IP header is, for emitters that compute a checksum. */
export interface L4ChecksumOptions {
  /** Offset of the IPv4 or IPv6 header in the same buffer; its length fields must be final and the payload in place. */
  ipOffset: number;
}

/** Bytes from `l4Off` to the end of the IP packet at `ipOff`, per the IP header's length field. */
export function l4LengthFromIp(buf: Buffer, ipOff: number, l4Off: number): number {
  const version = buf.readUInt8(ipOff) >>> 4;
  const end =
    version === 4
      ? ipOff + buf.readUInt16BE(ipOff + IPV4_OFF.TOTAL_LEN)
      : ipOff + IPV6_HEADER_LEN + buf.readUInt16BE(ipOff + IPV6_OFF.PAYLOAD_LEN);
  return end - l4Off;
}

/**
 * Checksum of the upper-layer segment at `l4Off`, with its checksum field taken as it is in
 * the buffer (zero it first when computing a fresh value). `proto` selects the pseudo-header.
 */
export function l4Checksum(buf: Buffer, ipOff: number, l4Off: number, proto: number): number {
  const len = l4LengthFromIp(buf, ipOff, l4Off);
  const v6 = buf.readUInt8(ipOff) >>> 4 === 6;
  let sum = 0;
  if (proto !== IP_PROTO.ICMP) {
    sum = v6
      ? pseudoHeaderSum(buf, ipOff + IPV6_OFF.SRC, ipOff + IPV6_OFF.DST, 16, proto, len)
      : pseudoHeaderSum(buf, ipOff + IPV4_OFF.SRC, ipOff + IPV4_OFF.DST, 4, proto, len);
  }
  return checksumFinish(checksumAdd(sum, buf, l4Off, len));
}
