/**
 * Where the headers of an oversize Ethernet frame are: the layout the segmenters need to cut
 * a GSO/GRO super-frame into MTU-sized frames. Ethernet II, up to VLAN_MAX_SEGMENT_TAGS
 * 802.1Q/802.1ad tags, then IPv4 (RFC 791) or IPv6 (RFC 8200) with its extension headers,
 * then the upper layer.
 *
 * Quirks of super-frames, as captured on a veth or a NIC with GRO/TSO:
 * - IPv4 Total Length 0 under BIG TCP (packets > 64 KiB, Linux 6.3+): the IP packet runs to
 *   the end of the captured frame.
 * - IPv6 Payload Length 0 with a Hop-by-Hop header holding only a Jumbo Payload option
 *   (RFC 2675), which Linux 5.19+ inserts for BIG TCP so that tcpdump can parse the frame:
 *   the segments leave that header out, as the kernel's GSO does (ipv6_hopopt_jumbo_remove).
 *
 * Pure: bytes in, numbers out; no I/O; parse() does not allocate.
 */
import { ETHERNET_HEADER_LEN, ETHERNET_OFF, ETHERTYPE } from '../wire/ethernet.js';
import { IP_PROTO } from '../wire/ip-proto.js';
import { IPV4_FRAG_MASK, IPV4_MIN_HEADER_LEN, IPV4_OFF } from '../wire/ipv4.js';
import { IPV6_EXT_OFF, IPV6_HEADER_LEN, IPV6_OFF, IPV6_OPT, ipv6ExtLength } from '../wire/ipv6.js';
import { TCP_MIN_HEADER_LEN, TCP_OFF } from '../wire/tcp.js';
import { isVlanTpid, VLAN_OFF, VLAN_TAG_LEN } from '../wire/vlan.js';

/** Most VLAN tags walked (802.1ad needs two). */
export const VLAN_MAX_SEGMENT_TAGS = 2;
/** Most IPv6 extension headers walked before the upper layer. */
export const IPV6_MAX_SEGMENT_EXT = 8;

/** What the frame is, for the segmenters. */
export const LAYOUT_KIND = {
  /** Not IP, or IP whose headers do not parse: can only be truncated. */
  OTHER: 0,
  /** IPv4 or IPv6 carrying TCP, headers complete: TCP segmentation applies. */
  TCP: 1,
  /** IPv4, not TCP, not a fragment: IPv4 fragmentation applies. */
  IPV4_OTHER: 2,
  /** IPv6, not TCP: no segmentation (see segmenter.ts). */
  IPV6_OTHER: 3,
} as const;
export type LayoutKind = (typeof LAYOUT_KIND)[keyof typeof LAYOUT_KIND];

/**
 * Header offsets of one frame, relative to the frame's start. Reused: valid until the next
 * parse(). Every field is initialised in the constructor (stable shape).
 */
export class FrameLayout {
  kind: LayoutKind = LAYOUT_KIND.OTHER;
  /** Bytes of Ethernet header and VLAN tags: where the IP header starts. */
  l3Off = 0;
  /** 4 or 6; 0 when not IP. */
  ipVersion = 0;
  /** IPv4 header with options; IPv6 fixed header plus the extension headers kept in segments. */
  ipHeaderLen = 0;
  /** Bytes of the frame skipped between the kept IPv6 headers and the rest (a jumbo Hop-by-Hop header); 0 otherwise. */
  skipOff = 0;
  skipLen = 0;
  /** Offset of the upper-layer header. */
  l4Off = 0;
  /** Upper-layer protocol. */
  l4Proto = 0;
  /** TCP header length with options (TCP only). */
  l4HeaderLen = 0;
  /** End of the IP packet in the frame (Ethernet padding, if any, lies after it). */
  ipEnd = 0;
  /** The Next Header the IPv6 fixed header gets in segments when a jumbo header is skipped; -1 otherwise. */
  ipv6FixedNext = -1;

  private reset(): void {
    this.kind = LAYOUT_KIND.OTHER;
    this.l3Off = 0;
    this.ipVersion = 0;
    this.ipHeaderLen = 0;
    this.skipOff = 0;
    this.skipLen = 0;
    this.l4Off = 0;
    this.l4Proto = 0;
    this.l4HeaderLen = 0;
    this.ipEnd = 0;
    this.ipv6FixedNext = -1;
  }

  /**
   * Parses `frame[0, len)` (the whole frame as captured; `len` is its wire length when the
   * caller knows the capture is complete). Never throws on input; every read is bounds
   * checked first. Returns this.
   */
  parse(frame: Buffer, len: number): this {
    this.reset();
    if (len > frame.length) len = frame.length;
    if (len < ETHERNET_HEADER_LEN) return this;
    let p = ETHERNET_OFF.ETHER_TYPE;
    let type = frame.readUInt16BE(p);
    p += 2;
    for (let tags = 0; isVlanTpid(type); tags++) {
      if (tags >= VLAN_MAX_SEGMENT_TAGS || p + VLAN_TAG_LEN > len) return this;
      type = frame.readUInt16BE(p + VLAN_OFF.ETHER_TYPE);
      p += VLAN_TAG_LEN;
    }
    this.l3Off = p;
    if (type === ETHERTYPE.IPV4) this.parseIpv4(frame, p, len);
    else if (type === ETHERTYPE.IPV6) this.parseIpv6(frame, p, len);
    return this;
  }

  private parseIpv4(frame: Buffer, p: number, len: number): void {
    if (len - p < IPV4_MIN_HEADER_LEN) return;
    const vihl = frame.readUInt8(p + IPV4_OFF.VER_IHL);
    const ihl = (vihl & 0x0f) * 4;
    if (vihl >>> 4 !== 4 || ihl < IPV4_MIN_HEADER_LEN || p + ihl > len) return;
    let total = frame.readUInt16BE(p + IPV4_OFF.TOTAL_LEN);
    // Total Length 0: BIG TCP (Linux 6.3+), the packet runs to the end of the frame.
    if (total === 0) total = len - p;
    if (total < ihl || p + total > len) return;
    this.ipVersion = 4;
    this.ipHeaderLen = ihl;
    this.ipEnd = p + total;
    this.l4Off = p + ihl;
    this.l4Proto = frame.readUInt8(p + IPV4_OFF.PROTO);
    const frag = frame.readUInt16BE(p + IPV4_OFF.FLAGS_FRAG);
    // A fragment already: neither segmentable nor fragmentable again here.
    if ((frag & (IPV4_FRAG_MASK.MF | IPV4_FRAG_MASK.OFFSET)) !== 0) return;
    if (this.l4Proto === IP_PROTO.TCP) {
      if (this.parseTcp(frame)) this.kind = LAYOUT_KIND.TCP;
      return;
    }
    this.kind = LAYOUT_KIND.IPV4_OTHER;
  }

  private parseIpv6(frame: Buffer, p: number, len: number): void {
    if (len - p < IPV6_HEADER_LEN) return;
    if (frame.readUInt8(p) >>> 4 !== 6) return;
    const payloadLen = frame.readUInt16BE(p + IPV6_OFF.PAYLOAD_LEN);
    let end = p + IPV6_HEADER_LEN + payloadLen;
    let next = frame.readUInt8(p + IPV6_OFF.NEXT_HEADER);
    let q = p + IPV6_HEADER_LEN;
    // BIG TCP: Payload Length 0 and a Hop-by-Hop header holding only the Jumbo option.
    if (payloadLen === 0 && next === IP_PROTO.HOPOPTS) {
      if (q + 8 > len) return;
      const hbhLen = ipv6ExtLength(frame.readUInt8(q + IPV6_EXT_OFF.HDR_EXT_LEN));
      // Linux's jumbo header is exactly 8 bytes: next, 0, type 0xC2, len 4, 32-bit length.
      if (hbhLen !== 8 || frame.readUInt8(q + 2) !== IPV6_OPT.JUMBO || frame.readUInt8(q + 3) !== 4) return;
      const jumbo = frame.readUInt32BE(q + 4);
      end = q + hbhLen + jumbo;
      next = frame.readUInt8(q);
      this.ipv6FixedNext = next;
      this.skipOff = q;
      this.skipLen = hbhLen;
      q += hbhLen;
    } else if (payloadLen === 0) {
      return;
    }
    if (end > len) return;
    // Extension headers kept in every segment (Hop-by-Hop, Destination Options). A Routing
    // header is not: the TCP pseudo-header would need its final destination (RFC 8200
    // §8.1), so such frames are truncated instead (see segmenter.ts).
    let routing = false;
    for (let i = 0; next === IP_PROTO.HOPOPTS || next === IP_PROTO.ROUTING || next === IP_PROTO.DSTOPTS; i++) {
      if (i >= IPV6_MAX_SEGMENT_EXT || q + 8 > end) return;
      if (next === IP_PROTO.ROUTING) routing = true;
      next = frame.readUInt8(q + IPV6_EXT_OFF.NEXT_HEADER);
      q += ipv6ExtLength(frame.readUInt8(q + IPV6_EXT_OFF.HDR_EXT_LEN));
    }
    if (q > end) return;
    this.ipVersion = 6;
    this.ipHeaderLen = q - p - this.skipLen;
    this.ipEnd = end;
    this.l4Off = q;
    this.l4Proto = next;
    if (next === IP_PROTO.TCP && !routing) {
      if (this.parseTcp(frame)) this.kind = LAYOUT_KIND.TCP;
      return;
    }
    // A Routing header, a fragment header or anything else: no segmentation over IPv6 except TCP.
    this.kind = LAYOUT_KIND.IPV6_OTHER;
  }

  private parseTcp(frame: Buffer): boolean {
    if (this.ipEnd - this.l4Off < TCP_MIN_HEADER_LEN) return false;
    const doff = (frame.readUInt8(this.l4Off + TCP_OFF.DOFF) >>> 4) * 4;
    if (doff < TCP_MIN_HEADER_LEN || this.l4Off + doff > this.ipEnd) return false;
    this.l4HeaderLen = doff;
    return true;
  }

  /** Bytes of TCP payload (TCP only). */
  get tcpPayloadLen(): number {
    return this.ipEnd - this.l4Off - this.l4HeaderLen;
  }
}
