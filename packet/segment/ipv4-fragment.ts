/**
 * IPv4 fragmentation (RFC 791 §2.3, §3.2 "An Example Fragmentation Procedure") of an
 * oversize non-TCP IPv4 packet, as Linux's ip_do_fragment does for a locally sent datagram
 * larger than the MTU:
 *
 * - every fragment but the last carries a multiple of 8 data bytes and MF; offsets in units
 *   of 8; Identification and DF are those of the original packet;
 * - the first fragment keeps all IP options; later ones keep only options whose copied flag
 *   is set, the others overwritten with NOP (ip_options_fragment);
 * - Total Length and the header checksum are rewritten.
 *
 * Used for UDP super-frames (UDP GRO/GSO on a veth): a capture does not say where the
 * original datagrams began (the GSO size is not in the frame), so the super-frame is
 * carried as one datagram in fragments, which a receiver reassembles into exactly the
 * captured packet. Pure and allocation-free.
 */
import { checksumAdd, checksumFinish } from '../wire/checksum.js';
import { IPV4_FRAG_MASK, IPV4_MIN_HEADER_LEN, IPV4_OFF } from '../wire/ipv4.js';
import type { FrameLayout } from './layout.js';

/** IP option types with a special length (RFC 791 §3.1). */
const IPOPT_EOL = 0;
const IPOPT_NOP = 1;
/** The copied flag of an option type (RFC 791 §3.1). */
const IPOPT_COPIED = 0x80;

/** Data bytes per fragment on a link whose IP MTU is `mtu` (a multiple of 8); ≤ 0 when none fit. */
export function ipv4FragmentSize(layout: FrameLayout, mtu: number): number {
  return Math.floor((mtu - layout.ipHeaderLen) / 8) * 8;
}

/** Number of fragments (at least 1). */
export function ipv4FragmentCount(layout: FrameLayout, fragSize: number): number {
  const data = layout.ipEnd - layout.l4Off;
  return data <= fragSize ? 1 : Math.ceil(data / fragSize);
}

/** Length of fragment `index` as an Ethernet frame. */
export function ipv4FragmentLen(layout: FrameLayout, fragSize: number, index: number): number {
  const data = Math.min(fragSize, layout.ipEnd - layout.l4Off - index * fragSize);
  return layout.l4Off + Math.max(0, data);
}

/**
 * Writes fragment `index` of `count` of the IPv4 packet in `frame` (layout kind IPV4_OTHER)
 * at `out[outOff, …)`. Returns its length. `out` must not overlap `frame`.
 */
export function writeIpv4Fragment(frame: Buffer, layout: FrameLayout, fragSize: number, index: number, count: number, out: Buffer, outOff: number): number {
  const { l3Off, l4Off, ipHeaderLen } = layout;
  const dataStart = l4Off + index * fragSize;
  const dataLen = Math.max(0, Math.min(fragSize, layout.ipEnd - dataStart));
  let o = outOff + frame.copy(out, outOff, 0, l4Off);
  o += frame.copy(out, o, dataStart, dataStart + dataLen);
  const ip = outOff + l3Off;
  if (index > 0) {
    // ip_options_fragment: options without the copied flag become NOPs. Each step advances
    // by at least one byte, within the ≤ 40 option bytes.
    const end = ip + ipHeaderLen;
    let p = ip + IPV4_MIN_HEADER_LEN;
    while (p < end) {
      const type = out.readUInt8(p);
      if (type === IPOPT_EOL) break;
      if (type === IPOPT_NOP) {
        p++;
        continue;
      }
      if (p + 1 >= end) break;
      const len = out.readUInt8(p + 1);
      if (len < 2 || p + len > end) break;
      if ((type & IPOPT_COPIED) === 0) out.fill(IPOPT_NOP, p, p + len);
      p += len;
    }
  }
  const origFrag = frame.readUInt16BE(l3Off + IPV4_OFF.FLAGS_FRAG);
  const mf = index < count - 1 ? IPV4_FRAG_MASK.MF : 0;
  out.writeUInt16BE((origFrag & IPV4_FRAG_MASK.DF) | mf | (((index * fragSize) >>> 3) & IPV4_FRAG_MASK.OFFSET), ip + IPV4_OFF.FLAGS_FRAG);
  out.writeUInt16BE(ipHeaderLen + dataLen, ip + IPV4_OFF.TOTAL_LEN);
  out.writeUInt16BE(0, ip + IPV4_OFF.CHECKSUM);
  out.writeUInt16BE(checksumFinish(checksumAdd(0, out, ip, ipHeaderLen)), ip + IPV4_OFF.CHECKSUM);
  return o - outOff;
}
