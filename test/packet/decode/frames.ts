/**
 * Test frame builders: wrap an inner Buffer in one header at a time, inside out, with lengths
 * and checksums filled in. Built from the wire emitters, so a frame built here is what the
 * emitters produce. Allocates freely (tests only).
 */
import { emitArp } from '../../../packet/wire/arp.js';
import { emitErspan2, emitErspan3, type Erspan2Header, type Erspan3Header } from '../../../packet/wire/erspan.js';
import { emitEthernet, ETHERTYPE } from '../../../packet/wire/ethernet.js';
import { emitGeneve, type GeneveHeader } from '../../../packet/wire/geneve.js';
import { emitGre, greFixedHeaderLen, GRE_FLAG, type GreHeader } from '../../../packet/wire/gre.js';
import { emitIcmp } from '../../../packet/wire/icmp.js';
import { IP_PROTO } from '../../../packet/wire/ip-proto.js';
import { emitIpv4 } from '../../../packet/wire/ipv4.js';
import { emitIpv6 } from '../../../packet/wire/ipv6.js';
import { l4Checksum } from '../../../packet/wire/l4-checksum.js';
import { emitTcp, TCP_FLAG } from '../../../packet/wire/tcp.js';
import { emitUdp } from '../../../packet/wire/udp.js';
import { emitVlan } from '../../../packet/wire/vlan.js';
import { emitVxlan, VXLAN_FLAG_I } from '../../../packet/wire/vxlan.js';

export const MAC_A = '02:00:00:00:00:0a';
export const MAC_B = '02:00:00:00:00:0b';

export function cat(...parts: Buffer[]): Buffer {
  return Buffer.concat(parts);
}

export function payload(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

export function eth(etherType: number, inner: Buffer, opts: { src?: string; dst?: string } = {}): Buffer {
  const h = Buffer.alloc(14);
  emitEthernet({ dst: opts.dst ?? MAC_B, src: opts.src ?? MAC_A, etherType }, h, 0);
  return cat(h, inner);
}

/** One VLAN tag body (TCI + next EtherType) in front of `inner`; the TPID is the previous EtherType. */
export function vlanTag(vid: number, etherType: number, inner: Buffer, pcp = 0): Buffer {
  const h = Buffer.alloc(4);
  emitVlan({ pcp, dei: 0, vid, etherType }, h, 0);
  return cat(h, inner);
}

export interface Ipv4Opts {
  src?: string;
  dst?: string;
  id?: number;
  ttl?: number;
  flags?: number;
  fragOffset?: number;
  /** Override the total length field (0 for TSO). */
  totalLength?: number;
  options?: string;
  /** Leave the transport checksum alone. */
  noL4Checksum?: boolean;
}

const L4_CSUM_AT: Record<number, number> = { [IP_PROTO.TCP]: 16, [IP_PROTO.UDP]: 6, [IP_PROTO.ICMP]: 2, [IP_PROTO.ICMPV6]: 2 };

function fixL4Checksum(b: Buffer, ipOff: number, l4Off: number, proto: number): void {
  const at = L4_CSUM_AT[proto];
  if (at === undefined || b.length < l4Off + at + 2) return;
  b.writeUInt16BE(0, l4Off + at);
  let sum = l4Checksum(b, ipOff, l4Off, proto);
  if (proto === IP_PROTO.UDP && sum === 0) sum = 0xffff;
  b.writeUInt16BE(sum, l4Off + at);
}

export function ipv4(proto: number, inner: Buffer, o: Ipv4Opts = {}): Buffer {
  const optLen = o.options === undefined ? 0 : o.options.length / 2;
  const h = Buffer.alloc(20 + optLen);
  const total = 20 + optLen + inner.length;
  emitIpv4(
    {
      tos: 0,
      totalLength: total,
      id: o.id ?? 1,
      flags: o.flags ?? 2,
      fragOffset: o.fragOffset ?? 0,
      ttl: o.ttl ?? 64,
      proto,
      src: o.src ?? '10.0.0.1',
      dst: o.dst ?? '10.0.0.2',
      ...(o.options !== undefined ? { options: o.options } : {}),
    },
    h,
    0,
  );
  const b = cat(h, inner);
  if (o.noL4Checksum !== true && (o.fragOffset ?? 0) === 0 && ((o.flags ?? 2) & 1) === 0) fixL4Checksum(b, 0, h.length, proto);
  if (o.totalLength !== undefined) {
    b.writeUInt16BE(o.totalLength, 2);
    b.writeUInt16BE(0, 10);
    emitIpv4Checksum(b);
  }
  return b;
}

function emitIpv4Checksum(b: Buffer): void {
  const hl = (b.readUInt8(0) & 15) * 4;
  let sum = 0;
  for (let i = 0; i < hl; i += 2) sum += b.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  b.writeUInt16BE(~sum & 0xffff, 10);
}

export interface Ipv6Opts {
  src?: string;
  dst?: string;
  hopLimit?: number;
  /** Extension headers already built (their first Next Header must chain to `nh` via `proto`). */
  payloadLength?: number;
  flowLabel?: number;
  noL4Checksum?: boolean;
  /** Bytes of extension headers at the start of `inner`, to find the transport for its checksum. */
  extLen?: number;
  /** Transport protocol after the extension headers, for the checksum. */
  l4Proto?: number;
}

export function ipv6(nextHeader: number, inner: Buffer, o: Ipv6Opts = {}): Buffer {
  const h = Buffer.alloc(40);
  emitIpv6(
    { trafficClass: 0, flowLabel: o.flowLabel ?? 0, payloadLength: o.payloadLength ?? inner.length, nextHeader, hopLimit: o.hopLimit ?? 64, src: o.src ?? 'fd00::1', dst: o.dst ?? 'fd00::2' },
    h,
    0,
  );
  const b = cat(h, inner);
  if (o.noL4Checksum !== true && o.payloadLength === undefined) fixL4Checksum(b, 0, 40 + (o.extLen ?? 0), o.l4Proto ?? nextHeader);
  return b;
}

export function udp(sport: number, dport: number, inner: Buffer, o: { length?: number } = {}): Buffer {
  const h = Buffer.alloc(8);
  emitUdp({ sport, dport, length: o.length ?? 8 + inner.length, checksum: 0 }, h, 0);
  return cat(h, inner);
}

export interface TcpOpts {
  seq?: number;
  ack?: number;
  window?: number;
  options?: string;
}

export function tcp(sport: number, dport: number, flags: number, inner: Buffer, o: TcpOpts = {}): Buffer {
  const optLen = o.options === undefined ? 0 : o.options.length / 2;
  const h = Buffer.alloc(20 + optLen);
  emitTcp(
    {
      sport,
      dport,
      seq: o.seq ?? 1000,
      ack: o.ack ?? ((flags & TCP_FLAG.ACK) !== 0 ? 2000 : 0),
      flags,
      window: o.window ?? 65535,
      checksum: 0,
      urgent: 0,
      ...(o.options !== undefined ? { options: o.options } : {}),
    },
    h,
    0,
  );
  return cat(h, inner);
}

export function icmp(type: number, code: number, inner: Buffer, rest = 0x00010001): Buffer {
  const h = Buffer.alloc(8);
  emitIcmp({ type, code, checksum: 0, rest }, h, 0);
  return cat(h, inner);
}

export function vxlan(vni: number, inner: Buffer, flags = VXLAN_FLAG_I): Buffer {
  const h = Buffer.alloc(8);
  emitVxlan({ flags, vni }, h, 0);
  return cat(h, inner);
}

export function gre(h: GreHeader, inner: Buffer): Buffer {
  let f = h.version;
  if (h.checksum !== undefined) f |= GRE_FLAG.CHECKSUM;
  if (h.key !== undefined) f |= GRE_FLAG.KEY;
  if (h.seq !== undefined) f |= GRE_FLAG.SEQ;
  if (h.ack !== undefined && h.version === 1) f |= GRE_FLAG.ACK;
  const routing = h.routing === undefined ? 0 : h.routing.length / 2;
  if (routing > 0) f |= GRE_FLAG.ROUTING;
  const b = Buffer.alloc(greFixedHeaderLen(f) + routing + inner.length);
  const p = emitGre(h, b, 0, { payloadLen: inner.length });
  inner.copy(b, p);
  if (h.checksum === 'compute') emitGre(h, b, 0, { payloadLen: inner.length });
  return b;
}

export function erspan2(h: Partial<Erspan2Header> & { sessionId: number }, inner: Buffer): Buffer {
  const b = Buffer.alloc(8);
  emitErspan2({ version: 1, vlan: 0, cos: 0, en: 0, t: 0, index: 0, ...h }, b, 0);
  return cat(b, inner);
}

export function erspan3(h: Partial<Erspan3Header> & { sessionId: number }, inner: Buffer): Buffer {
  const b = Buffer.alloc(20);
  const end = emitErspan3({ version: 2, vlan: 0, cos: 0, bso: 0, t: 0, timestamp: 0, sgt: 0, p: 0, ft: 0, hwId: 0, d: 0, gra: 0, ...h }, b, 0);
  return cat(b.subarray(0, end), inner);
}

export function geneve(h: Partial<GeneveHeader> & { vni: number; protocol: number }, inner: Buffer): Buffer {
  const b = Buffer.alloc(8 + 252);
  const end = emitGeneve({ version: 0, flags: 0, ...h }, b, 0);
  return cat(b.subarray(0, end), inner);
}

export function arp(): Buffer {
  const b = Buffer.alloc(28);
  emitArp({ oper: 1, senderMac: MAC_A, senderIp: '10.0.0.1', targetMac: '00:00:00:00:00:00', targetIp: '10.0.0.2' }, b, 0);
  return b;
}

/** Ethernet / IPv4 / TCP with a payload: the common case. */
export function ethIpv4Tcp(flags: number = TCP_FLAG.SYN, data = Buffer.alloc(0), o: Ipv4Opts & TcpOpts = {}): Buffer {
  return eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.TCP, tcp(40000, 80, flags, data, o), o));
}

/** Ethernet / IPv4 / UDP. */
export function ethIpv4Udp(sport: number, dport: number, data: Buffer, o: Ipv4Opts = {}): Buffer {
  return eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.UDP, udp(sport, dport, data), o));
}

/** A classic little-endian microsecond pcap file of `frames` (wireLen defaults to the frame length). */
export function pcapFile(linkType: number, frames: readonly { data: Buffer; wireLen?: number }[]): Buffer {
  const hdr = Buffer.alloc(24);
  hdr.writeUInt32LE(0xa1b2c3d4, 0);
  hdr.writeUInt16LE(2, 4);
  hdr.writeUInt16LE(4, 6);
  hdr.writeUInt32LE(262144, 16);
  hdr.writeUInt32LE(linkType, 20);
  const parts: Buffer[] = [hdr];
  frames.forEach((f, i) => {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(1700000000 + i, 0);
    r.writeUInt32LE(f.data.length, 8);
    r.writeUInt32LE(f.wireLen ?? f.data.length, 12);
    parts.push(r, f.data);
  });
  return Buffer.concat(parts);
}
