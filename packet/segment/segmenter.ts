/**
 * How an exporter sends a captured frame through a tunnel whose inner IP MTU is `mtu`
 * (`oversize=segment`): a veth capture holds GSO/GRO super-frames of up to 64 KiB (more with
 * BIG TCP) that no tunnel packet carries whole, so a frame longer than its link header plus
 * `mtu` is cut into frames that fit, as the kernel's GSO or a NIC would have put them on the
 * wire:
 *
 * - TCP over IPv4 or IPv6: TCP segmentation (tcp-segment.ts);
 * - other IPv4 (UDP GRO/GSO super-frames, large ICMP): IPv4 fragmentation (ipv4-fragment.ts).
 *   UDP GSO segmentation would need the GSO size, which the capture does not carry;
 *   fragments reassemble into exactly the captured datagram;
 * - anything else (IPv6 non-TCP, IPv6 with a Routing header, not IP, a frame cut by the
 *   snap length, headers longer than the MTU): truncated to link header + `mtu` (PLAN.TRUNCATE; the exporter counts it).
 *
 * Pure and allocation-free: plan() then write(i) for i in [0, count).
 */
import { ETHERNET_HEADER_LEN } from '../wire/ethernet.js';
import { ipv4FragmentCount, ipv4FragmentLen, ipv4FragmentSize, writeIpv4Fragment } from './ipv4-fragment.js';
import { FrameLayout, LAYOUT_KIND } from './layout.js';
import { tcpMss, tcpSegmentCount, tcpSegmentLen, writeTcpSegment } from './tcp-segment.js';

/** What plan() decided. */
export const PLAN = {
  /** The frame fits: send it as it is. */
  FITS: 0,
  /** TCP segments, `count` of them. */
  TCP_SEGMENTS: 1,
  /** IPv4 fragments, `count` of them. */
  IPV4_FRAGMENTS: 2,
  /** Cannot be segmented: send the first `truncateLen` bytes. */
  TRUNCATE: 3,
} as const;
export type Plan = (typeof PLAN)[keyof typeof PLAN];

/** Smallest inner IP MTU accepted (RFC 791 §3.2: every IPv4 host handles 68). */
export const SEGMENT_MIN_MTU = 68;
/** Largest inner IP MTU accepted (an IPv4 packet's Total Length). */
export const SEGMENT_MAX_MTU = 65535;

/**
 * Plans and writes the frames one captured frame becomes. One per exporter; the plan is
 * valid until the next plan().
 */
export class Segmenter {
  readonly layout: FrameLayout;
  plan: Plan;
  /** Frames write() produces (1 for FITS and TRUNCATE). */
  count: number;
  /** TCP MSS or IPv4 fragment data size of the current plan. */
  unit: number;
  /** For TRUNCATE: bytes to send. */
  truncateLen: number;

  constructor() {
    this.layout = new FrameLayout();
    this.plan = PLAN.FITS;
    this.count = 1;
    this.unit = 0;
    this.truncateLen = 0;
  }

  /**
   * Decides how `frame[0, capLen)` (wire length `wireLen`) goes through a link of IP MTU
   * `mtu`. Frames up to 14 + mtu bytes fit without parsing (the common case, no work);
   * longer ones are parsed (VLAN tags count as link header). Returns the plan.
   */
  planFrame(frame: Buffer, capLen: number, wireLen: number, mtu: number): Plan {
    this.count = 1;
    this.unit = 0;
    this.truncateLen = capLen;
    if (capLen <= ETHERNET_HEADER_LEN + mtu) return (this.plan = PLAN.FITS);
    const l = this.layout.parse(frame, capLen);
    const linkLen = Math.max(ETHERNET_HEADER_LEN, l.l3Off);
    if (capLen <= linkLen + mtu) return (this.plan = PLAN.FITS);
    this.truncateLen = linkLen + mtu;
    // Cut by the snap length: the headers' lengths promise bytes that are not here.
    if (capLen < wireLen) return (this.plan = PLAN.TRUNCATE);
    if (l.kind === LAYOUT_KIND.TCP) {
      const mss = tcpMss(l, mtu);
      if (mss > 0) {
        this.unit = mss;
        this.count = tcpSegmentCount(l, mss);
        return (this.plan = PLAN.TCP_SEGMENTS);
      }
    } else if (l.kind === LAYOUT_KIND.IPV4_OTHER) {
      const size = ipv4FragmentSize(l, mtu);
      if (size > 0) {
        this.unit = size;
        this.count = ipv4FragmentCount(l, size);
        return (this.plan = PLAN.IPV4_FRAGMENTS);
      }
    }
    return (this.plan = PLAN.TRUNCATE);
  }

  /** Length of frame `index` of the current plan. */
  frameLen(index: number): number {
    switch (this.plan) {
      case PLAN.TCP_SEGMENTS:
        return tcpSegmentLen(this.layout, this.unit, index);
      case PLAN.IPV4_FRAGMENTS:
        return ipv4FragmentLen(this.layout, this.unit, index);
      default:
        return this.truncateLen;
    }
  }

  /**
   * Writes frame `index` of the current plan (the frame given to planFrame) at
   * `out[outOff, …)`; returns its length. FITS and TRUNCATE copy the (first truncateLen)
   * bytes. `out` needs frameLen(index) bytes and must not overlap `frame`.
   */
  write(frame: Buffer, index: number, out: Buffer, outOff: number): number {
    switch (this.plan) {
      case PLAN.TCP_SEGMENTS:
        return writeTcpSegment(frame, this.layout, this.unit, index, this.count, out, outOff);
      case PLAN.IPV4_FRAGMENTS:
        return writeIpv4Fragment(frame, this.layout, this.unit, index, this.count, out, outOff);
      default:
        return frame.copy(out, outOff, 0, this.truncateLen);
    }
  }
}
