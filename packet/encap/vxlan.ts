/**
 * VXLAN encapsulation (RFC 7348 §5) for mirrored frames.
 *
 * Two uses: the agent's VXLAN exporter sends `[buildVxlanHeader(vni), frame]` on a UDP socket
 * (the kernel adds IP and UDP), and tests/tools that write a whole outer frame use
 * emitVxlanEncap (Ethernet + IPv4/IPv6 + UDP + VXLAN in front of an inner frame).
 */
import { emitEthernet, ETHERNET_HEADER_LEN, ETHERTYPE } from '../wire/ethernet.js';
import { isIPv4 } from '../wire/ip-addr.js';
import { IP_PROTO } from '../wire/ip-proto.js';
import { emitIpv4, IPV4_MIN_HEADER_LEN } from '../wire/ipv4.js';
import { emitIpv6, IPV6_HEADER_LEN } from '../wire/ipv6.js';
import { emitUdp, UDP_HEADER_LEN } from '../wire/udp.js';
import { emitVxlan, VXLAN_FLAG_I, VXLAN_HEADER_LEN, VXLAN_PORT, VXLAN_VNI_MAX } from '../wire/vxlan.js';

/** Bytes in front of the inner frame: Ethernet + IPv4 + UDP + VXLAN. */
export const VXLAN_ENCAP_OVERHEAD_IPV4 = ETHERNET_HEADER_LEN + IPV4_MIN_HEADER_LEN + UDP_HEADER_LEN + VXLAN_HEADER_LEN;
/** Bytes in front of the inner frame: Ethernet + IPv6 + UDP + VXLAN. */
export const VXLAN_ENCAP_OVERHEAD_IPV6 = ETHERNET_HEADER_LEN + IPV6_HEADER_LEN + UDP_HEADER_LEN + VXLAN_HEADER_LEN;

function checkVni(vni: number): void {
  if (!Number.isInteger(vni) || vni < 0 || vni > VXLAN_VNI_MAX) throw new RangeError(`VXLAN VNI must be an integer 0..${VXLAN_VNI_MAX}, got ${vni}`);
}

/** A new 8-byte VXLAN header with the I flag set and `vni`. Allocates once per exporter, not per packet. */
export function buildVxlanHeader(vni: number): Buffer {
  checkVni(vni);
  const b = Buffer.alloc(VXLAN_HEADER_LEN);
  emitVxlan({ flags: VXLAN_FLAG_I, vni }, b, 0);
  return b;
}

/** Outer headers for emitVxlanEncap. */
export interface VxlanEncapHeader {
  srcMac: string;
  dstMac: string;
  /** Outer IP addresses, both IPv4 or both IPv6. */
  src: string;
  dst: string;
  /** UDP source port; RFC 7348 §5 recommends a hash of the inner flow for entropy. */
  sport: number;
  /** Default 4789. */
  dport?: number;
  vni: number;
  /** Length of the inner Ethernet frame that will follow. */
  innerLen: number;
  /** Default 64. */
  ttl?: number;
  /** IPv4 identification; default 0. */
  ipId?: number;
}

/**
 * Writes Ethernet + IP + UDP + VXLAN for an inner frame of `h.innerLen` bytes at `off`; returns
 * the offset where the inner frame goes. IPv4 gets a header checksum and DF; the UDP checksum
 * is 0 (RFC 7348 §5 for IPv4; RFC 6935 zero-checksum tunnels for IPv6).
 */
export function emitVxlanEncap(h: VxlanEncapHeader, buf: Buffer, off: number): number {
  checkVni(h.vni);
  const v4 = isIPv4(h.src);
  const udpLen = UDP_HEADER_LEN + VXLAN_HEADER_LEN + h.innerLen;
  let p = emitEthernet({ dst: h.dstMac, src: h.srcMac, etherType: v4 ? ETHERTYPE.IPV4 : ETHERTYPE.IPV6 }, buf, off);
  if (v4) {
    p = emitIpv4({ tos: 0, totalLength: IPV4_MIN_HEADER_LEN + udpLen, id: h.ipId ?? 0, flags: 2, fragOffset: 0, ttl: h.ttl ?? 64, proto: IP_PROTO.UDP, src: h.src, dst: h.dst }, buf, p);
  } else {
    p = emitIpv6({ trafficClass: 0, flowLabel: 0, payloadLength: udpLen, nextHeader: IP_PROTO.UDP, hopLimit: h.ttl ?? 64, src: h.src, dst: h.dst }, buf, p);
  }
  p = emitUdp({ sport: h.sport, dport: h.dport ?? VXLAN_PORT, length: udpLen, checksum: 0 }, buf, p);
  return emitVxlan({ flags: VXLAN_FLAG_I, vni: h.vni }, buf, p);
}
