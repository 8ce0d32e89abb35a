/**
 * In-place rewriting of one Ethernet frame for replay, as tcprewrite does it:
 *
 *   - Ethernet source and/or destination MAC set on every frame (tcprewrite --enet-smac,
 *     --enet-dmac);
 *   - IPv4 source and destination addresses mapped (tcprewrite --pnat, see ipv4-map.ts),
 *     in IPv4 headers behind up to two VLAN tags and in ARP sender/target fields;
 *   - checksums fixed wherever an address changed: the IPv4 header checksum (RFC 791)
 *     recomputed; the TCP (RFC 9293 §3.1) or UDP (RFC 768) checksum recomputed when the
 *     whole segment is in the frame and is not a fragment (a bad checksum in the file is
 *     then corrected, as tcprewrite does), and otherwise (cut by the snap length, or a first
 *     fragment) updated incrementally for the pseudo-header change (RFC 1624 eqn. 3), so it
 *     stays right for the bytes the receiver never sees. A UDP checksum of 0 ("none",
 *     RFC 768) stays 0; a computed 0 is sent as 0xffff. Non-first fragments carry no
 *     transport header and only get the IPv4 checksum.
 *
 * Pure: no I/O, no allocation; reads only inside `frame` (every length is checked before
 * a read), never throws on any input.
 */
import { Buffer } from 'node:buffer';

import { checksumFinish, internetChecksum } from '../wire/checksum.js';
import { ETHERNET_HEADER_LEN, ETHERNET_OFF, ETHERTYPE, MAC_LEN } from '../wire/ethernet.js';
import { IP_PROTO } from '../wire/ip-proto.js';
import { IPV4_FRAG_MASK, IPV4_MIN_HEADER_LEN, IPV4_OFF } from '../wire/ipv4.js';
import { l4Checksum } from '../wire/l4-checksum.js';
import { TCP_MIN_HEADER_LEN, TCP_OFF } from '../wire/tcp.js';
import { UDP_HEADER_LEN, UDP_OFF } from '../wire/udp.js';
import { mapIpv4, type Ipv4MapRule } from './ipv4-map.js';

/** What a rewrite does; built once (see `rewritePlan`), used for every frame. */
export interface RewritePlan {
  /** 6 bytes, or undefined to leave the source MAC alone. */
  readonly srcMac: Buffer | undefined;
  /** 6 bytes, or undefined to leave the destination MAC alone. */
  readonly dstMac: Buffer | undefined;
  readonly ipv4Map: readonly Ipv4MapRule[];
}

export interface RewritePlanOptions {
  srcMac?: Buffer | undefined;
  dstMac?: Buffer | undefined;
  ipv4Map?: readonly Ipv4MapRule[] | undefined;
}

export function rewritePlan(opts: RewritePlanOptions): RewritePlan {
  for (const [name, mac] of [['srcMac', opts.srcMac], ['dstMac', opts.dstMac]] as const) {
    if (mac !== undefined && mac.length !== MAC_LEN) throw new RangeError(`rewritePlan: ${name} must be 6 bytes`);
  }
  return { srcMac: opts.srcMac, dstMac: opts.dstMac, ipv4Map: opts.ipv4Map ?? [] };
}

/** True when the plan changes nothing (the replay then skips rewriting). */
export function isEmptyPlan(plan: RewritePlan): boolean {
  return plan.srcMac === undefined && plan.dstMac === undefined && plan.ipv4Map.length === 0;
}

/** Bits of rewriteFrame's result. */
export const REWRITE = {
  /** A MAC address was written. */
  MAC: 1,
  /** An IPv4 header address was mapped (and the header checksum recomputed). */
  IPV4: 2,
  /** An ARP sender or target address was mapped. */
  ARP: 4,
  /** The TCP/UDP checksum was recomputed over the whole segment. */
  L4_RECOMPUTED: 8,
  /** The TCP/UDP checksum was updated incrementally (segment cut short, or a first fragment). */
  L4_INCREMENTAL: 16,
} as const;

const VLAN_MAX_TAGS = 2;
const VLAN_TAG_LEN = 4;
/** ARP for IPv4 over Ethernet (RFC 826): htype 1, ptype 0x0800, hlen 6, plen 4. */
const ARP_ETH_IPV4_LEN = 28;
const ARP_OFF = { HTYPE: 0, PTYPE: 2, HLEN: 4, PLEN: 5, SPA: 14, TPA: 24 } as const;

function isVlanType(t: number): boolean {
  return t === ETHERTYPE.VLAN || t === ETHERTYPE.QINQ || t === ETHERTYPE.QINQ_OLD;
}

/** Adds ~old + new of one 32-bit field, as two 16-bit words, to a ones' complement sum (RFC 1624). */
function addChange(sum: number, oldV: number, newV: number): number {
  return sum + (~(oldV >>> 16) & 0xffff) + (~oldV & 0xffff) + (newV >>> 16) + (newV & 0xffff);
}

/**
 * Applies `plan` to the Ethernet frame in `frame` (exactly the frame's bytes present, e.g.
 * a subarray of a batch buffer), in place. Returns REWRITE bits saying what changed (0:
 * nothing). Does not allocate, never throws.
 */
export function rewriteFrame(frame: Buffer, plan: RewritePlan): number {
  const len = frame.length;
  let result = 0;
  if (plan.dstMac !== undefined && len >= ETHERNET_OFF.DST + MAC_LEN) {
    plan.dstMac.copy(frame, ETHERNET_OFF.DST);
    result |= REWRITE.MAC;
  }
  if (plan.srcMac !== undefined && len >= ETHERNET_OFF.SRC + MAC_LEN) {
    plan.srcMac.copy(frame, ETHERNET_OFF.SRC);
    result |= REWRITE.MAC;
  }
  const rules = plan.ipv4Map;
  if (rules.length === 0 || len < ETHERNET_HEADER_LEN) return result;
  let type = frame.readUInt16BE(ETHERNET_OFF.ETHER_TYPE);
  let off = ETHERNET_HEADER_LEN;
  for (let tags = 0; tags < VLAN_MAX_TAGS && isVlanType(type); tags++) {
    if (off + VLAN_TAG_LEN > len) return result;
    type = frame.readUInt16BE(off + 2);
    off += VLAN_TAG_LEN;
  }
  if (type === ETHERTYPE.ARP) return result | rewriteArp(frame, off, rules);
  if (type !== ETHERTYPE.IPV4) return result;
  return result | rewriteIpv4(frame, off, rules);
}

function rewriteArp(frame: Buffer, off: number, rules: readonly Ipv4MapRule[]): number {
  if (off + ARP_ETH_IPV4_LEN > frame.length) return 0;
  if (
    frame.readUInt16BE(off + ARP_OFF.HTYPE) !== 1 ||
    frame.readUInt16BE(off + ARP_OFF.PTYPE) !== ETHERTYPE.IPV4 ||
    frame.readUInt8(off + ARP_OFF.HLEN) !== MAC_LEN ||
    frame.readUInt8(off + ARP_OFF.PLEN) !== 4
  ) {
    return 0;
  }
  let changed = 0;
  for (const at of [off + ARP_OFF.SPA, off + ARP_OFF.TPA]) {
    const a = frame.readUInt32BE(at);
    const b = mapIpv4(rules, a);
    if (a !== b) {
      frame.writeUInt32BE(b, at);
      changed = REWRITE.ARP;
    }
  }
  return changed;
}

function rewriteIpv4(frame: Buffer, ip: number, rules: readonly Ipv4MapRule[]): number {
  const len = frame.length;
  if (ip + IPV4_MIN_HEADER_LEN > len) return 0;
  const verIhl = frame.readUInt8(ip + IPV4_OFF.VER_IHL);
  const hdrLen = (verIhl & 0x0f) * 4;
  if (verIhl >>> 4 !== 4 || hdrLen < IPV4_MIN_HEADER_LEN || ip + hdrLen > len) return 0;
  const src = frame.readUInt32BE(ip + IPV4_OFF.SRC);
  const dst = frame.readUInt32BE(ip + IPV4_OFF.DST);
  const nsrc = mapIpv4(rules, src);
  const ndst = mapIpv4(rules, dst);
  if (nsrc === src && ndst === dst) return 0;
  frame.writeUInt32BE(nsrc, ip + IPV4_OFF.SRC);
  frame.writeUInt32BE(ndst, ip + IPV4_OFF.DST);
  frame.writeUInt16BE(0, ip + IPV4_OFF.CHECKSUM);
  frame.writeUInt16BE(internetChecksum(frame, ip, hdrLen), ip + IPV4_OFF.CHECKSUM);
  let result: number = REWRITE.IPV4;

  const frag = frame.readUInt16BE(ip + IPV4_OFF.FLAGS_FRAG);
  if ((frag & IPV4_FRAG_MASK.OFFSET) !== 0) return result; // no transport header here
  const proto = frame.readUInt8(ip + IPV4_OFF.PROTO);
  const l4 = ip + hdrLen;
  let csumOff: number;
  let minL4: number;
  if (proto === IP_PROTO.TCP) {
    csumOff = l4 + TCP_OFF.CHECKSUM;
    minL4 = TCP_MIN_HEADER_LEN;
  } else if (proto === IP_PROTO.UDP) {
    csumOff = l4 + UDP_OFF.CHECKSUM;
    minL4 = UDP_HEADER_LEN;
  } else {
    return result; // ICMP and others: no pseudo-header
  }
  if (csumOff + 2 > len) return result; // checksum field not captured
  const old = frame.readUInt16BE(csumOff);
  if (proto === IP_PROTO.UDP && old === 0) return result; // "no checksum" stays so
  const totalLen = frame.readUInt16BE(ip + IPV4_OFF.TOTAL_LEN);
  const whole = (frag & IPV4_FRAG_MASK.MF) === 0 && totalLen >= hdrLen + minL4 && ip + totalLen <= len;
  let sum: number;
  if (whole) {
    frame.writeUInt16BE(0, csumOff);
    sum = l4Checksum(frame, ip, l4, proto);
    result |= REWRITE.L4_RECOMPUTED;
  } else {
    let s = ~old & 0xffff;
    s = addChange(s, src, nsrc);
    s = addChange(s, dst, ndst);
    sum = checksumFinish(s);
    result |= REWRITE.L4_INCREMENTAL;
  }
  // RFC 768: a computed UDP checksum of 0 is sent as all ones (0 means "none").
  if (proto === IP_PROTO.UDP && sum === 0) sum = 0xffff;
  frame.writeUInt16BE(sum, csumOff);
  return result;
}

/** Parses "aa:bb:cc:dd:ee:ff" (or with '-') into 6 bytes, or undefined. */
export function parseMac(text: string): Buffer | undefined {
  const parts = text.split(/[:-]/);
  if (parts.length !== MAC_LEN || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) return undefined;
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}
