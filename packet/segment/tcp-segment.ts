/**
 * TCP segmentation of a GSO/GRO super-frame into MSS-sized frames, as Linux's software GSO
 * does it (net/ipv4/tcp_offload.c tcp_gso_segment, net/ipv4/af_inet.c inet_gso_segment,
 * net/ipv6/ip6_offload.c ipv6_gso_segment) and as a NIC does TSO:
 *
 * - every segment carries a copy of the Ethernet header, VLAN tags, IP header (IPv4 options,
 *   IPv6 extension headers) and TCP header with its options (timestamps included);
 * - IPv4: Identification of segment i is the super-frame's + i (mod 2^16), Total Length and
 *   the header checksum are rewritten (RFC 791 §3.1); DF is kept;
 * - IPv6: Payload Length is rewritten (RFC 8200 §3); a BIG TCP jumbo Hop-by-Hop header is
 *   left out (RFC 2675 is for packets above 64 KiB only);
 * - TCP: sequence number of segment i is seq + i·mss (mod 2^32, RFC 9293 §3.4); FIN and PSH
 *   only on the last segment, CWR only on the first (RFC 3168 §6.1.2: CWR marks the first
 *   new segment after a window reduction; tcp_gso_segment clears it on the rest); URG, ECE
 *   and the urgent pointer are copied; the checksum is recomputed over the pseudo-header
 *   (RFC 9293 §3.1, RFC 8200 §8.1).
 *
 * Pure and allocation-free: the caller gives the output buffer.
 */
import { checksumAdd, checksumFinish, pseudoHeaderSum } from '../wire/checksum.js';
import { IP_PROTO } from '../wire/ip-proto.js';
import { IPV4_OFF } from '../wire/ipv4.js';
import { IPV6_HEADER_LEN, IPV6_OFF } from '../wire/ipv6.js';
import { TCP_FLAG, TCP_OFF } from '../wire/tcp.js';
import type { FrameLayout } from './layout.js';

/** The MSS segments get on a link whose IP MTU is `mtu` (IP and TCP headers as in the super-frame); ≤ 0 when they do not fit. */
export function tcpMss(layout: FrameLayout, mtu: number): number {
  return mtu - layout.ipHeaderLen - layout.l4HeaderLen;
}

/** Number of segments of `mss` payload bytes (at least 1). */
export function tcpSegmentCount(layout: FrameLayout, mss: number): number {
  const payload = layout.tcpPayloadLen;
  return payload <= mss ? 1 : Math.ceil(payload / mss);
}

/** Length of segment `index` as an Ethernet frame. */
export function tcpSegmentLen(layout: FrameLayout, mss: number, index: number): number {
  const payload = Math.min(mss, layout.tcpPayloadLen - index * mss);
  return layout.l4Off - layout.skipLen + layout.l4HeaderLen + Math.max(0, payload);
}

/**
 * Writes segment `index` of `count` (see tcpSegmentCount) of the super-frame `frame`,
 * parsed into `layout` (kind TCP), at `out[outOff, …)`. Returns the segment's length.
 * `out` needs tcpSegmentLen() bytes from outOff; `out` must not overlap `frame`.
 */
export function writeTcpSegment(frame: Buffer, layout: FrameLayout, mss: number, index: number, count: number, out: Buffer, outOff: number): number {
  const { l3Off, l4Off, l4HeaderLen, skipOff, skipLen } = layout;
  const hdrEnd = l4Off + l4HeaderLen;
  const payloadStart = hdrEnd + index * mss;
  const payloadLen = Math.max(0, Math.min(mss, layout.ipEnd - payloadStart));
  // Headers: everything up to the end of TCP, minus a skipped jumbo Hop-by-Hop header.
  let o = outOff;
  if (skipLen > 0) {
    o += frame.copy(out, o, 0, skipOff);
    o += frame.copy(out, o, skipOff + skipLen, hdrEnd);
  } else {
    o += frame.copy(out, o, 0, hdrEnd);
  }
  const tcpOut = o - l4HeaderLen;
  o += frame.copy(out, o, payloadStart, payloadStart + payloadLen);
  const ipOut = outOff + l3Off;
  const l4Len = l4HeaderLen + payloadLen;
  let pseudo: number;
  if (layout.ipVersion === 4) {
    out.writeUInt16BE(layout.ipHeaderLen + l4Len, ipOut + IPV4_OFF.TOTAL_LEN);
    const id = frame.readUInt16BE(l3Off + IPV4_OFF.ID);
    out.writeUInt16BE((id + index) & 0xffff, ipOut + IPV4_OFF.ID);
    out.writeUInt16BE(0, ipOut + IPV4_OFF.CHECKSUM);
    out.writeUInt16BE(checksumFinish(checksumAdd(0, out, ipOut, layout.ipHeaderLen)), ipOut + IPV4_OFF.CHECKSUM);
    pseudo = pseudoHeaderSum(out, ipOut + IPV4_OFF.SRC, ipOut + IPV4_OFF.DST, 4, IP_PROTO.TCP, l4Len);
  } else {
    out.writeUInt16BE(layout.ipHeaderLen - IPV6_HEADER_LEN + l4Len, ipOut + IPV6_OFF.PAYLOAD_LEN);
    if (layout.ipv6FixedNext >= 0) out.writeUInt8(layout.ipv6FixedNext, ipOut + IPV6_OFF.NEXT_HEADER);
    pseudo = pseudoHeaderSum(out, ipOut + IPV6_OFF.SRC, ipOut + IPV6_OFF.DST, 16, IP_PROTO.TCP, l4Len);
  }
  const seq = frame.readUInt32BE(l4Off + TCP_OFF.SEQ);
  out.writeUInt32BE((seq + index * mss) >>> 0, tcpOut + TCP_OFF.SEQ);
  let flags = out.readUInt8(tcpOut + TCP_OFF.FLAGS);
  if (index < count - 1) flags &= ~(TCP_FLAG.FIN | TCP_FLAG.PSH);
  if (index > 0) flags &= ~TCP_FLAG.CWR;
  out.writeUInt8(flags, tcpOut + TCP_OFF.FLAGS);
  out.writeUInt16BE(0, tcpOut + TCP_OFF.CHECKSUM);
  out.writeUInt16BE(checksumFinish(checksumAdd(pseudo, out, tcpOut, l4Len)), tcpOut + TCP_OFF.CHECKSUM);
  return o - outOff;
}
