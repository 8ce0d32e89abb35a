/**
 * Builders for the segmentation tests: GSO/GRO-style super-frames (one Ethernet frame whose
 * TCP payload or UDP datagram is longer than any MTU), with valid checksums.
 */
import { checksumAdd, checksumFinish, pseudoHeaderSum } from '../../../packet/wire/checksum.js';
import { emitEthernet, ETHERTYPE } from '../../../packet/wire/ethernet.js';
import { IP_PROTO } from '../../../packet/wire/ip-proto.js';
import { emitIpv4 } from '../../../packet/wire/ipv4.js';
import { emitIpv6, emitIpv6JumboHbh } from '../../../packet/wire/ipv6.js';
import { emitTcp } from '../../../packet/wire/tcp.js';
import { emitUdp } from '../../../packet/wire/udp.js';

export interface SuperOptions {
  v6?: boolean;
  payload: Buffer;
  seq?: number;
  flags?: number;
  /** TCP options hex (multiple of 4 bytes). */
  tcpOptions?: string;
  /** IPv4 options hex. */
  ipOptions?: string;
  ipId?: number;
  /** One 802.1Q tag with this VID. */
  vlan?: number;
  /** IPv4: Total Length 0; IPv6: Payload Length 0 and a jumbo Hop-by-Hop header (BIG TCP). */
  big?: boolean;
  /** UDP instead of TCP. */
  udp?: boolean;
  tos?: number;
}

/** A payload whose byte i is a function of i (so misplaced bytes show). */
export function pattern(len: number, salt = 0): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = (i * 7 + (i >>> 8) + salt) & 0xff;
  return b;
}

export function superFrame(o: SuperOptions): Buffer {
  const tcpOptLen = o.tcpOptions === undefined ? 0 : o.tcpOptions.length / 2;
  const ipOptLen = o.ipOptions === undefined ? 0 : o.ipOptions.length / 2;
  const l4HeaderLen = o.udp === true ? 8 : 20 + tcpOptLen;
  const l4Len = l4HeaderLen + o.payload.length;
  const link = o.vlan === undefined ? 14 : 18;
  const ipHdr = o.v6 === true ? 40 + (o.big === true ? 8 : 0) : 20 + ipOptLen;
  const buf = Buffer.alloc(link + ipHdr + l4Len);
  const etherType = o.v6 === true ? ETHERTYPE.IPV6 : ETHERTYPE.IPV4;
  let p = emitEthernet({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', etherType: o.vlan === undefined ? etherType : ETHERTYPE.VLAN }, buf, 0);
  if (o.vlan !== undefined) {
    buf.writeUInt16BE((5 << 13) | o.vlan, p);
    buf.writeUInt16BE(etherType, p + 2);
    p += 4;
  }
  const ipOff = p;
  const proto = o.udp === true ? IP_PROTO.UDP : IP_PROTO.TCP;
  if (o.v6 === true) {
    p = emitIpv6({ trafficClass: o.tos ?? 0, flowLabel: 0x12345, payloadLength: o.big === true ? 0 : l4Len, nextHeader: o.big === true ? IP_PROTO.HOPOPTS : proto, hopLimit: 64, src: 'fd00::1', dst: 'fd00::2' }, buf, p);
    if (o.big === true) p = emitIpv6JumboHbh(proto, l4Len, buf, p);
  } else {
    p = emitIpv4(
      { tos: o.tos ?? 0, totalLength: o.big === true ? 0 : ipHdr + l4Len, id: o.ipId ?? 0x1234, flags: 2, fragOffset: 0, ttl: 64, proto, src: '10.0.0.1', dst: '10.0.0.2', ...(o.ipOptions !== undefined ? { options: o.ipOptions } : {}) },
      buf,
      p,
    );
  }
  const l4Off = p;
  o.payload.copy(buf, l4Off + l4HeaderLen);
  if (o.udp === true) {
    emitUdp({ sport: 40000, dport: 40001, length: l4Len > 0xffff ? 0 : l4Len, checksum: 0 }, buf, l4Off);
  } else {
    emitTcp({ sport: 43210, dport: 80, seq: o.seq ?? 1000, ack: 77, flags: o.flags ?? 0x18, window: 512, urgent: 0, checksum: 0, ...(o.tcpOptions !== undefined ? { options: o.tcpOptions } : {}) }, buf, l4Off);
  }
  // The checksum with the real upper-layer length (the IP length fields are 0 for "big").
  const sum = o.v6 === true ? pseudoHeaderSum(buf, ipOff + 8, ipOff + 24, 16, proto, l4Len) : pseudoHeaderSum(buf, ipOff + 12, ipOff + 16, 4, proto, l4Len);
  buf.writeUInt16BE(checksumFinish(checksumAdd(sum, buf, l4Off, l4Len)), l4Off + (o.udp === true ? 6 : 16));
  return buf;
}

/** Classic pcap (microseconds, Ethernet) of `frames`. */
export function pcapOf(frames: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(262144, 16);
  h.writeUInt32LE(1, 20);
  parts.push(h);
  frames.forEach((f, i) => {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(1_700_000_000 + i, 0);
    r.writeUInt32LE(f.length, 8);
    r.writeUInt32LE(f.length, 12);
    parts.push(r, f);
  });
  return Buffer.concat(parts);
}
