/**
 * ICMPv6, RFC 4443 §2.1 (checksum over the IPv6 pseudo-header, §2.3). Same 8-octet
 * leading layout as ICMP; the decoder reads type and code only.
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Type      |     Code      |          Checksum             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         Message Body                          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 */
import { emitIcmpCommon, ICMP_HEADER_LEN, ICMP_OFF, type IcmpHeader } from './icmp.js';
import { IP_PROTO } from './ip-proto.js';
import type { L4ChecksumOptions } from './l4-checksum.js';

export const ICMPV6_OFF = ICMP_OFF;
export const ICMPV6_HEADER_LEN = ICMP_HEADER_LEN;
export const ICMPV6_TYPE = { DEST_UNREACH: 1, PACKET_TOO_BIG: 2, TIME_EXCEEDED: 3, ECHO_REQUEST: 128, ECHO_REPLY: 129, NEIGHBOR_SOLICIT: 135, NEIGHBOR_ADVERT: 136 } as const;

export type Icmpv6Header = IcmpHeader;
export { IcmpView as Icmpv6View } from './icmp.js';

/** Writes the 8-byte ICMPv6 header at `off`; returns the offset after it. Checksum as emitUdp. */
export function emitIcmpv6(h: Icmpv6Header, buf: Buffer, off: number, opts?: L4ChecksumOptions): number {
  return emitIcmpCommon(h, buf, off, IP_PROTO.ICMPV6, opts);
}
