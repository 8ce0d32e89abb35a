/**
 * Encode, decode, re-encode for every emitter/view pair, with field values at their bit-width
 * limits, at offset 0 and at offset 10 of a buffer pre-filled with 0xa5. Checksums computed by
 * the emitters are verified independently.
 */
import t from 'tap';
import { LAYER, LAYER_NAMES } from '../../../packet/decode/layers.js';
import { emitAh } from '../../../packet/wire/ah.js';
import { checksumAdd, checksumFinish, internetChecksum } from '../../../packet/wire/checksum.js';
import { ETHERTYPE } from '../../../packet/wire/ethernet.js';
import { emitGre, GreView } from '../../../packet/wire/gre.js';
import { emitIcmpv6 } from '../../../packet/wire/icmpv6.js';
import { IP_PROTO } from '../../../packet/wire/ip-proto.js';
import { emitIpv4, Ipv4View } from '../../../packet/wire/ipv4.js';
import { emitIpv6, emitIpv6Ext, emitIpv6Fragment, emitIpv6JumboHbh, ipv6FindJumbo } from '../../../packet/wire/ipv6.js';
import { l4Checksum } from '../../../packet/wire/l4-checksum.js';
import { emitTcp, findTcpOption, TCP_OPT } from '../../../packet/wire/tcp.js';
import { emitUdp } from '../../../packet/wire/udp.js';
import { emitLayer, readLayer } from './layer-codec.js';

const CASES: [number, object][] = [
  [LAYER.ETH, { dst: 'ff:ff:ff:ff:ff:ff', src: '00:00:00:00:00:01', etherType: 0xffff }],
  [LAYER.VLAN, { pcp: 7, dei: 1, vid: 4095, etherType: ETHERTYPE.IPV6 }],
  [LAYER.VLAN, { pcp: 0, dei: 0, vid: 0, etherType: ETHERTYPE.VLAN }],
  [LAYER.SLL, { packetType: 4, arphrd: 0xffff, addrLen: 8, addr: '0102030405060708', protocol: ETHERTYPE.IPV4 }],
  [LAYER.SLL2, { protocol: ETHERTYPE.IPV6, ifindex: 0xffffffff, arphrd: 772, packetType: 255, addrLen: 0, addr: '' }],
  [LAYER.NULL, { family: 24, littleEndian: false }],
  [LAYER.NULL, { family: 2, littleEndian: true }],
  [LAYER.PPP, { addressControl: false, protocol: 0x21, compressProtocol: true }],
  [LAYER.PPP, { addressControl: true, protocol: 0xc021, compressProtocol: false }],
  [LAYER.PPPOE, { version: 1, type: 1, code: 0, sessionId: 0xffff, length: 0xffff }],
  [LAYER.ARP, { oper: 2, senderMac: '02:00:00:00:00:01', senderIp: '255.255.255.255', targetMac: 'ff:ff:ff:ff:ff:ff', targetIp: '0.0.0.0' }],
  [LAYER.CMD, { version: 1, length: 1, option: 1, sgt: 0xffff, etherType: ETHERTYPE.IPV6 }],
  [LAYER.IPV4, { tos: 0xff, totalLength: 0xffff, id: 0xffff, flags: 7, fragOffset: 0x1fff, ttl: 255, proto: 255, checksum: 0xffff, src: '1.2.3.4', dst: '255.0.255.0', options: '01010100' + '00'.repeat(36) }],
  [LAYER.IPV6, { trafficClass: 0xff, flowLabel: 0xfffff, payloadLength: 0xffff, nextHeader: 255, hopLimit: 255, src: '::ffff:1.2.3.4', dst: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff' }],
  [LAYER.TCP, { sport: 65535, dport: 0, seq: 0xffffffff, ack: 0x80000000, flags: 0x1ff, window: 0xffff, checksum: 0x1234, urgent: 0xffff, options: '01'.repeat(40) }],
  [LAYER.TCP, { sport: 1, dport: 2, seq: 0, ack: 0, flags: 0, window: 0, checksum: 0, urgent: 0 }],
  [LAYER.UDP, { sport: 65535, dport: 65535, length: 0xffff, checksum: 0xffff }],
  [LAYER.ICMP, { type: 255, code: 255, checksum: 0xabcd, rest: 0xffffffff }],
  [LAYER.ICMPV6, { type: 128, code: 0, checksum: 1, rest: 0 }],
  [LAYER.VXLAN, { flags: 0x08, vni: 0xffffff }],
  [LAYER.VXLAN, { flags: 0xff, vni: 0, reserved1: 0xffffff, reserved2: 0xff }],
  [LAYER.GRE, { version: 0, protocol: ETHERTYPE.TEB }],
  [LAYER.GRE, { version: 0, protocol: ETHERTYPE.IPV4, checksum: 0xffff, offset: 0x1234, key: 0xffffffff, seq: 0xffffffff, recursion: 7, otherFlags: 0x0878 }],
  [LAYER.GRE, { version: 0, protocol: ETHERTYPE.IPV4, offset: 0, routing: '0800000401020304' + '00000000' }],
  [LAYER.GRE, { version: 1, protocol: ETHERTYPE.PPP, key: 0xffff0001, seq: 9, ack: 0xffffffff }],
  [LAYER.GENEVE, { version: 0, flags: 0xc0, protocol: ETHERTYPE.IPV4, vni: 0xffffff, options: 'ab'.repeat(252), reserved: 0xff }],
  [LAYER.GENEVE, { version: 3, flags: 0, protocol: 0, vni: 0 }],
  [LAYER.TEREDO, {}],
  [LAYER.TEREDO, { auth: { clientId: '0102', authValue: 'aabbcc', nonce: '0011223344556677', confirmation: 1 }, origin: { port: 65535, addr: '255.255.255.254' } }],
  [LAYER.ERSPAN, { version: 1, vlan: 4095, cos: 7, en: 3, t: 1, sessionId: 1023, index: 0xfffff, reserved: 0xfff }],
  [
    LAYER.ERSPAN,
    { version: 2, vlan: 4095, cos: 7, bso: 3, t: 1, sessionId: 1023, timestamp: 0xffffffff, sgt: 0xffff, p: 1, ft: 31, hwId: 63, d: 1, gra: 3, platform: { id: 63, infoHi: 0x3ffffff, infoLo: 0xffffffff } },
  ],
  [LAYER.ERSPAN, { version: 2, vlan: 0, cos: 0, bso: 0, t: 0, sessionId: 0, timestamp: 0, sgt: 0, p: 0, ft: 0, hwId: 0, d: 0, gra: 0 }],
];

for (const [layer, h] of CASES) {
  t.test(`round-trips ${LAYER_NAMES[layer]} ${JSON.stringify(h).slice(0, 60)}`, async (t) => {
    const a = Buffer.alloc(400);
    const endA = emitLayer(layer, h, a, 0);
    t.same(readLayer(layer, a, 0, endA), h, 'decodes to the same header');
    const b = Buffer.alloc(420, 0xa5);
    const endB = emitLayer(layer, readLayer(layer, a, 0, endA), b, 10);
    t.equal(endB - 10, endA, 're-encodes to the same length');
    t.same(b.subarray(10, endB), a.subarray(0, endA), 're-encodes to the same bytes');
    t.ok(b.subarray(0, 10).every((x) => x === 0xa5) && b.subarray(endB).every((x) => x === 0xa5), 'writes nothing outside the header');
    t.same(readLayer(layer, b, 10, endB), h, 'decodes at offset 10');
  });
}

t.test('emitIpv4 computes a header checksum that verifies, at any offset', async (t) => {
  for (const off of [0, 10, 11]) {
    const b = Buffer.alloc(off + 60, 0xa5);
    emitIpv4({ tos: 0, totalLength: 60, id: 7, flags: 2, fragOffset: 0, ttl: 1, proto: 17, src: '192.0.2.1', dst: '198.51.100.2', options: '07070400000000000000000000000000' + '00'.repeat(8) }, b, off);
    t.ok(new Ipv4View().bind(b, off).checksumValid(), `offset ${off}`);
    t.equal(internetChecksum(b, off, 44), 0);
  }
});

t.test('emitUdp and emitTcp compute checksums over the pseudo-header (IPv4 and IPv6)', async (t) => {
  const data = Buffer.from('odd-length payload!');
  for (const v6 of [false, true]) {
    for (const proto of [IP_PROTO.UDP, IP_PROTO.TCP]) {
      const hl = proto === IP_PROTO.UDP ? 8 : 24;
      const ipLen = v6 ? 40 : 20;
      const b = Buffer.alloc(10 + ipLen + hl + data.length, 0xa5);
      const l4len = hl + data.length;
      if (v6) emitIpv6({ trafficClass: 0, flowLabel: 1, payloadLength: l4len, nextHeader: proto, hopLimit: 9, src: '2001:db8::1', dst: '2001:db8::2' }, b, 10);
      else emitIpv4({ tos: 0, totalLength: 20 + l4len, id: 1, flags: 0, fragOffset: 0, ttl: 9, proto, src: '10.9.8.7', dst: '10.1.2.3' }, b, 10);
      data.copy(b, 10 + ipLen + hl);
      if (proto === IP_PROTO.UDP) emitUdp({ sport: 1, dport: 2, length: l4len }, b, 10 + ipLen, { ipOffset: 10 });
      else emitTcp({ sport: 1, dport: 2, seq: 3, ack: 4, flags: 0x18, window: 5, urgent: 0, options: '02040218' }, b, 10 + ipLen, { ipOffset: 10 });
      t.not(b.readUInt16BE(10 + ipLen + (proto === IP_PROTO.UDP ? 6 : 16)), 0, 'a checksum was written');
      t.equal(l4Checksum(b, 10, 10 + ipLen, proto), 0, `${v6 ? 'IPv6' : 'IPv4'} ${proto === 6 ? 'TCP' : 'UDP'} checksum verifies`);
    }
  }
  const b = Buffer.alloc(48);
  emitIpv6({ trafficClass: 0, flowLabel: 0, payloadLength: 8, nextHeader: IP_PROTO.ICMPV6, hopLimit: 255, src: 'fe80::1', dst: 'ff02::1' }, b, 0);
  emitIcmpv6({ type: 128, code: 0, rest: 0x00010002 }, b, 40, { ipOffset: 0 });
  t.equal(l4Checksum(b, 0, 40, IP_PROTO.ICMPV6), 0, 'ICMPv6 checksum verifies');
});

t.test('emitGre computes the checksum over header and payload (RFC 2784 §2.5)', async (t) => {
  const b = Buffer.alloc(10 + 12 + 5, 0xa5);
  b.write('hello', 22);
  const end = emitGre({ version: 0, protocol: ETHERTYPE.IPV4, checksum: 'compute', key: 5 }, b, 10, { payloadLen: 5 });
  t.equal(end, 22);
  t.equal(checksumFinish(checksumAdd(0, b, 10, 17)), 0);
  t.equal(new GreView().bind(b, 10).keyOffset(), 18);
  t.equal(new GreView().bind(b, 10).headerLen(), 12);
});

t.test('IPv6 extension header builders and the jumbo option scan', async (t) => {
  const b = Buffer.alloc(64, 0xa5);
  let p = emitIpv6JumboHbh(IP_PROTO.DSTOPTS, 70000, b, 0);
  t.equal(p, 8);
  t.equal(ipv6FindJumbo(b, 2, 8), 70000);
  p = emitIpv6Ext({ nextHeader: IP_PROTO.FRAGMENT, body: '0000' }, b, p);
  t.equal(p, 16);
  t.equal(b.readUInt8(9), 0, 'one 8-octet unit');
  t.equal(ipv6FindJumbo(b, 10, 16), -1, 'PadN only: no jumbo');
  p = emitIpv6Fragment({ nextHeader: IP_PROTO.UDP, fragOffset: 0x1fff, more: true, id: 0xffffffff }, b, p);
  t.equal(b.readUInt16BE(18), 0xfff9);
  p = emitAh({ nextHeader: IP_PROTO.TCP, spi: 1, seq: 2, icv: '00'.repeat(12) }, b, p);
  t.equal(p, 48);
  t.equal(b.readUInt8(25), 4, 'AH payload length in 32-bit words minus 2');
  t.equal(ipv6FindJumbo(Buffer.from([0xc2, 3, 0, 0, 0]), 0, 5), -1, 'a jumbo option of the wrong length is ignored');
  t.equal(ipv6FindJumbo(Buffer.from([0x00, 0x01]), 0, 2), -1, 'an option running past the header stops the scan');
});

t.test('findTcpOption walks options with a cap and stops on bad lengths', async (t) => {
  const b = Buffer.alloc(40);
  emitTcp({ sport: 1, dport: 2, seq: 0, ack: 0, flags: 2, window: 0, urgent: 0, options: '0101' + '030307' + '01' + '020405b4' + '0000' }, b, 0);
  t.equal(findTcpOption(b, 0, 32, TCP_OPT.WSCALE), 22);
  t.equal(findTcpOption(b, 0, 32, TCP_OPT.MSS), 26);
  t.equal(findTcpOption(b, 0, 32, TCP_OPT.TIMESTAMP), -1);
  emitTcp({ sport: 1, dport: 2, seq: 0, ack: 0, flags: 2, window: 0, urgent: 0, options: '0200' + '0000' }, b, 0);
  t.equal(findTcpOption(b, 0, 24, TCP_OPT.MSS), -1, 'length 0 option stops the walk');
  emitTcp({ sport: 1, dport: 2, seq: 0, ack: 0, flags: 2, window: 0, urgent: 0, options: '0101' + '08ff' }, b, 0);
  t.equal(findTcpOption(b, 0, 24, TCP_OPT.TIMESTAMP), -1, 'option running past the header is not returned');
});

t.test('emitters refuse option lengths the header cannot express', async (t) => {
  const b = Buffer.alloc(100);
  t.throws(() => emitIpv4({ tos: 0, totalLength: 20, id: 0, flags: 0, fragOffset: 0, ttl: 1, proto: 1, src: '1.1.1.1', dst: '2.2.2.2', options: '01' }, b, 0), RangeError);
  t.throws(() => emitTcp({ sport: 1, dport: 2, seq: 0, ack: 0, flags: 0, window: 0, urgent: 0, options: '01'.repeat(44) }, b, 0), RangeError);
  t.throws(() => emitIpv4({ tos: 0, totalLength: 20, id: 0, flags: 0, fragOffset: 0, ttl: 1, proto: 1, src: '1.1.1', dst: '2.2.2.2' }, b, 0), TypeError);
});
