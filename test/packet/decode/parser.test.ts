/**
 * Parser behaviour: tunnels, link types, length semantics (truncated / malformed / contained /
 * unsupported) and caps. Frames are built with the wire emitters (frames.ts); the golden
 * frames in test/packet/wire confirm the builders against tcpdump and tshark.
 */
import t from 'tap';
import { LAYER, LAYER_NAMES } from '../../../packet/decode/layers.js';
import { Parser } from '../../../packet/decode/parser.js';
import { DECODE_STATUS, DECODE_STATUS_NAMES } from '../../../packet/decode/status.js';
import { emitCiscoMetadata } from '../../../packet/wire/cisco-metadata.js';
import { ETHERTYPE } from '../../../packet/wire/ethernet.js';
import { formatIPv4, formatIPv6 } from '../../../packet/wire/ip-addr.js';
import { IP_PROTO } from '../../../packet/wire/ip-proto.js';
import { emitIpv6Ext, emitIpv6Fragment, emitIpv6JumboHbh } from '../../../packet/wire/ipv6.js';
import { LINKTYPE } from '../../../packet/wire/link-type.js';
import { emitNull } from '../../../packet/wire/null.js';
import { emitPpp, PPP_PROTO } from '../../../packet/wire/ppp.js';
import { emitPppoe } from '../../../packet/wire/pppoe.js';
import { emitSll } from '../../../packet/wire/sll.js';
import { emitSll2 } from '../../../packet/wire/sll2.js';
import { TCP_FLAG } from '../../../packet/wire/tcp.js';
import { emitTeredo } from '../../../packet/wire/teredo.js';
import { VXLAN_FLAG_I } from '../../../packet/wire/vxlan.js';
import { arp, cat, erspan2, erspan3, eth, ethIpv4Tcp, ethIpv4Udp, geneve, gre, icmp, ipv4, ipv6, payload, tcp, udp, vlanTag, vxlan } from './frames.js';

const p = new Parser();

function layersOf(parser: Parser): string {
  return Array.from(parser.layers.subarray(0, parser.layerCount), (l) => LAYER_NAMES[l]).join(':');
}

interface Result {
  status: string;
  layers: string;
  stopLayer: string;
}

function run(frame: Buffer, linkType: number = LINKTYPE.ETHERNET, wireLen = frame.length, parser = p): Result {
  parser.decode(frame, linkType, wireLen);
  return { status: DECODE_STATUS_NAMES[parser.status]!, layers: layersOf(parser), stopLayer: parser.stopLayer < 0 ? '' : LAYER_NAMES[parser.stopLayer]! };
}

function hdr(n: number, fill: (b: Buffer) => number): Buffer {
  const b = Buffer.alloc(n);
  return b.subarray(0, fill(b));
}

function src(parser = p): string {
  return parser.ipVersion === 4 ? formatIPv4(parser.data, parser.ipSrcOffset) : parser.ipVersion === 6 ? formatIPv6(parser.data, parser.ipSrcOffset) : '';
}

const innerTcp = eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.TCP, tcp(43210, 80, TCP_FLAG.SYN | TCP_FLAG.ACK, payload('hi'), { seq: 0xfffffffe, ack: 7 }), { src: '10.1.0.1', dst: '10.1.0.2' }));
const outer = (inner: Buffer, dport = 4789): Buffer => ethIpv4Udp(51000, dport, inner, { src: '192.168.0.1', dst: '192.168.0.2' });

// ---- tunnels ---------------------------------------------------------------------------------

t.test('strips VXLAN and yields the inner frame with VNI 42', async (t) => {
  const frame = outer(vxlan(42, innerTcp));
  t.same(run(frame), { status: 'ok', layers: 'eth:ipv4:udp:vxlan:eth:ipv4:tcp', stopLayer: '' });
  t.equal(p.tunnelCount, 1);
  const slot = p.tunnels[0]!;
  t.same({ type: slot.type, id: slot.id, hasId: slot.hasId, version: slot.version }, { type: LAYER.VXLAN, id: 42, hasId: true, version: 0 });
  t.same(frame.subarray(slot.innerOffset), innerTcp, 'innerOffset is where the inner frame starts');
  t.equal(src(), '10.1.0.1', 'IP fields are the innermost');
  t.same([p.l4Proto, p.sport, p.dport, p.tcpFlags, p.seq, p.ack], [6, 43210, 80, TCP_FLAG.SYN | TCP_FLAG.ACK, 0xfffffffe, 7]);
  t.same([p.payloadLen, frame.subarray(p.payloadOffset).toString()], [2, 'hi']);
  t.equal(p.layerOffsets[4], slot.innerOffset);
});

t.test('decodes VXLAN on 4789 and 8472 by default, and only on the configured ports when given', async (t) => {
  t.equal(run(outer(vxlan(1, innerTcp), 8472)).layers, 'eth:ipv4:udp:vxlan:eth:ipv4:tcp');
  const custom = new Parser({ vxlanPorts: [9999] });
  t.equal(run(outer(vxlan(1, innerTcp), 4789), LINKTYPE.ETHERNET, undefined, custom).layers, 'eth:ipv4:udp');
  t.equal(run(outer(vxlan(1, innerTcp), 9999), LINKTYPE.ETHERNET, undefined, custom).layers, 'eth:ipv4:udp:vxlan:eth:ipv4:tcp');
  const gen = new Parser({ genevePorts: [7000] });
  t.equal(run(outer(geneve({ vni: 5, protocol: ETHERTYPE.TEB }, innerTcp), 7000), LINKTYPE.ETHERNET, undefined, gen).layers, 'eth:ipv4:udp:geneve:eth:ipv4:tcp');
});

t.test('reports no VNI when the VXLAN I flag is clear, and tolerates non-zero reserved bits (RFC 7348 §5)', async (t) => {
  run(outer(vxlan(42, innerTcp, 0x00)));
  t.equal(p.tunnels[0]!.hasId, false);
  t.equal(p.status, DECODE_STATUS.OK);
  const f = outer(vxlan(42, innerTcp));
  const vx = 14 + 20 + 8;
  f.writeUInt8(VXLAN_FLAG_I | 0x80, vx);
  f.writeUInt16BE(0xffff, vx + 1);
  f.writeUInt8(0xff, vx + 7);
  t.equal(run(f).layers, 'eth:ipv4:udp:vxlan:eth:ipv4:tcp');
  t.same([p.tunnels[0]!.id, p.tunnels[0]!.hasId], [42, true]);
});

t.test('strips Geneve with options, and Geneve carrying IP without Ethernet', async (t) => {
  run(outer(geneve({ vni: 0xabcdef, protocol: ETHERTYPE.TEB, options: '01048002' + '00'.repeat(8) }, innerTcp), 6081));
  t.equal(layersOf(p), 'eth:ipv4:udp:geneve:eth:ipv4:tcp');
  t.same([p.tunnels[0]!.type, p.tunnels[0]!.id], [LAYER.GENEVE, 0xabcdef]);
  run(outer(geneve({ vni: 1, protocol: ETHERTYPE.IPV6 }, ipv6(IP_PROTO.UDP, udp(1, 2, payload('x')))), 6081));
  t.equal(layersOf(p), 'eth:ipv4:udp:geneve:ipv6:udp');
  t.same(run(outer(geneve({ vni: 1, protocol: ETHERTYPE.TEB, version: 1 }, innerTcp), 6081)), { status: 'unsupported', layers: 'eth:ipv4:udp', stopLayer: '' }, 'Geneve version 1 is not defined');
  const short = outer(geneve({ vni: 1, protocol: ETHERTYPE.TEB, options: '00'.repeat(8) }, Buffer.alloc(0)), 6081);
  t.same(run(short.subarray(0, short.length - 4), LINKTYPE.ETHERNET, short.length).status, 'truncated', 'options cut by snaplen');
});

t.test('strips GRE with checksum, key and sequence and reports the key', async (t) => {
  const frame = eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.GRE, gre({ version: 0, protocol: ETHERTYPE.IPV4, checksum: 'compute', key: 0xdeadbeef, seq: 1 }, ipv4(IP_PROTO.ICMP, icmp(8, 0, payload('x')), { src: '172.16.0.9' }))));
  t.same(run(frame), { status: 'ok', layers: 'eth:ipv4:gre:ipv4:icmp', stopLayer: '' });
  t.same([p.tunnels[0]!.id, p.tunnels[0]!.hasId, p.tunnels[0]!.version], [0xdeadbeef, true, 0]);
  t.equal(src(), '172.16.0.9');
  t.same([p.icmpType, p.icmpCode], [8, 0]);
});

t.test('strips GRE transparent Ethernet bridging, GRE with 802.1Q payload, and RFC 1701 routing', async (t) => {
  t.equal(run(eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.GRE, gre({ version: 0, protocol: ETHERTYPE.TEB }, innerTcp)))).layers, 'eth:ipv4:gre:eth:ipv4:tcp');
  t.equal(run(eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.GRE, gre({ version: 0, protocol: ETHERTYPE.VLAN }, vlanTag(5, ETHERTYPE.ARP, arp()))))).layers, 'eth:ipv4:gre:vlan:arp');
  t.equal(p.vlanIds[0], 5);
  const routed = eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.GRE, gre({ version: 0, protocol: ETHERTYPE.IPV4, routing: '0800000401020304' + '00000000' }, ipv4(IP_PROTO.UDP, udp(1, 2, payload('r'))))));
  t.equal(run(routed).layers, 'eth:ipv4:gre:ipv4:udp');
});

t.test('gives statuses for GRE with wrong lengths, never throws', async (t) => {
  const base = eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.GRE, gre({ version: 0, protocol: ETHERTYPE.IPV4, checksum: 0, key: 1, seq: 2 }, Buffer.alloc(0))));
  // The flags promise 16 header bytes; cut the frame after 10 of them.
  const cut = base.subarray(0, 14 + 20 + 10);
  const ipFix = Buffer.from(cut);
  ipFix.writeUInt16BE(30, 16); // IPv4 total length says only 10 GRE bytes exist
  t.same(run(ipFix), { status: 'malformed', layers: 'eth:ipv4', stopLayer: 'gre' }, 'GRE header runs past the IP packet');
  t.same(run(cut, LINKTYPE.ETHERNET, base.length), { status: 'truncated', layers: 'eth:ipv4', stopLayer: 'gre' }, 'GRE header cut by snaplen');
  const unterminated = eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.GRE, gre({ version: 0, protocol: ETHERTYPE.IPV4, routing: '08000004010203040800000401020304' }, Buffer.alloc(0))));
  t.same(run(unterminated), { status: 'malformed', layers: 'eth:ipv4', stopLayer: 'gre' }, 'routing list without its null SRE');
  const manySre = eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.GRE, gre({ version: 0, protocol: ETHERTYPE.IPV4, routing: '08000000'.repeat(40) + '00000000' }, Buffer.alloc(0))));
  t.equal(run(manySre).status, 'malformed', 'more SREs than the cap');
  t.same(run(eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.GRE, gre({ version: 2, protocol: ETHERTYPE.IPV4 }, Buffer.alloc(4))))), { status: 'unsupported', layers: 'eth:ipv4', stopLayer: '' }, 'GRE version 2');
  const noKey = eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.GRE, gre({ version: 1, protocol: ETHERTYPE.PPP, seq: 1 }, Buffer.alloc(8))));
  t.same(run(noKey), { status: 'malformed', layers: 'eth:ipv4', stopLayer: 'gre' }, 'PPTP GRE without its key');
  const tooLong = eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.GRE, gre({ version: 1, protocol: ETHERTYPE.PPP, key: (500 << 16) | 9 }, Buffer.alloc(8))));
  t.same(run(tooLong, LINKTYPE.ETHERNET, tooLong.length + 1000), { status: 'contained', layers: 'eth:ipv4:gre', stopLayer: 'gre' }, 'PPTP payload length beyond the IP packet');
  const ackOnly = eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.GRE, gre({ version: 1, protocol: ETHERTYPE.PPP, key: 9, ack: 5 }, Buffer.alloc(0))));
  t.same(run(ackOnly), { status: 'ok', layers: 'eth:ipv4:gre', stopLayer: '' }, 'PPTP acknowledgment without payload');
  t.same([p.tunnels[0]!.id, p.tunnels[0]!.version], [9, 1], 'PPTP id is the call id');
});

t.test('strips PPTP enhanced GRE carrying PPP with and without address/control', async (t) => {
  const ip = ipv4(IP_PROTO.UDP, udp(1, 2, payload('pptp')));
  for (const addressControl of [true, false]) {
    const ppp = cat(hdr(4, (b) => emitPpp({ addressControl, protocol: PPP_PROTO.IPV4, compressProtocol: !addressControl }, b, 0)), ip);
    t.equal(run(eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.GRE, gre({ version: 1, protocol: ETHERTYPE.PPP, key: (ppp.length << 16) | 1, seq: 3 }, ppp)))).layers, 'eth:ipv4:gre:ppp:ipv4:udp');
  }
});

t.test('strips ERSPAN type I, II and III and reports type and session', async (t) => {
  const e1 = eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.GRE, gre({ version: 0, protocol: ETHERTYPE.ERSPAN_II }, innerTcp)));
  t.equal(run(e1).layers, 'eth:ipv4:gre:erspan:eth:ipv4:tcp');
  t.same([p.tunnels[1]!.type, p.tunnels[1]!.version, p.tunnels[1]!.hasId], [LAYER.ERSPAN, 1, false]);
  const e2 = eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.GRE, gre({ version: 0, protocol: ETHERTYPE.ERSPAN_II, seq: 1 }, erspan2({ sessionId: 1023, index: 0xfffff }, innerTcp))));
  t.equal(run(e2).layers, 'eth:ipv4:gre:erspan:eth:ipv4:tcp');
  t.same([p.tunnels[1]!.id, p.tunnels[1]!.version], [1023, 2]);
  t.same(e2.subarray(p.tunnels[1]!.innerOffset), innerTcp);
  const e3 = eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.GRE, gre({ version: 0, protocol: ETHERTYPE.ERSPAN_III, seq: 1 }, erspan3({ sessionId: 77, platform: { id: 1, infoHi: 2, infoLo: 3 } }, innerTcp))));
  t.equal(run(e3).layers, 'eth:ipv4:gre:erspan:eth:ipv4:tcp');
  t.same([p.tunnels[1]!.id, p.tunnels[1]!.version], [77, 3]);
  t.same(e3.subarray(p.tunnels[1]!.innerOffset), innerTcp, 'platform subheader skipped');
});

t.test('stops at ERSPAN frame types other than Ethernet and at unknown ERSPAN versions', async (t) => {
  const ft2 = eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.GRE, gre({ version: 0, protocol: ETHERTYPE.ERSPAN_III, seq: 1 }, erspan3({ sessionId: 1, ft: 2 }, ipv4(IP_PROTO.UDP, udp(1, 2, payload('x')))))));
  t.same(run(ft2), { status: 'unsupported', layers: 'eth:ipv4:gre:erspan', stopLayer: '' });
  t.equal(p.tunnels[1]!.id, 1, 'the session is still reported');
  const badVer = eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.GRE, gre({ version: 0, protocol: ETHERTYPE.ERSPAN_II, seq: 1 }, erspan2({ sessionId: 1, version: 3 }, innerTcp))));
  t.same(run(badVer), { status: 'unsupported', layers: 'eth:ipv4:gre', stopLayer: '' });
  const noSub = eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.GRE, gre({ version: 0, protocol: ETHERTYPE.ERSPAN_III, seq: 1 }, erspan3({ sessionId: 1, platform: { id: 0, infoHi: 0, infoLo: 0 } }, Buffer.alloc(0)))));
  t.same(run(noSub.subarray(0, noSub.length - 4), LINKTYPE.ETHERNET, noSub.length + 100), { status: 'truncated', layers: 'eth:ipv4:gre', stopLayer: 'erspan' }, 'O flag set, subheader cut by snaplen');
});

t.test('strips Teredo with authentication and origin indicators; other traffic on 3544 stays UDP', async (t) => {
  const v6 = ipv6(IP_PROTO.UDP, udp(1, 2, payload('t')), { src: '2001:0:4136:e378:8000:63bf:3fff:fdd2' });
  const ind = hdr(64, (b) => emitTeredo({ auth: { clientId: '01', authValue: '0203', nonce: '0011223344556677', confirmation: 0 }, origin: { port: 1, addr: '192.0.2.1' } }, b, 0));
  t.equal(run(ethIpv4Udp(3544, 40000, cat(ind, v6))).layers, 'eth:ipv4:udp:teredo:ipv6:udp');
  t.equal(src(), '2001:0:4136:e378:8000:63bf:3fff:fdd2');
  t.equal(p.tunnels[0]!.type, LAYER.TEREDO);
  t.equal(run(ethIpv4Udp(40000, 3544, v6)).layers, 'eth:ipv4:udp:teredo:ipv6:udp', 'destination port 3544, no indicators');
  t.same(run(ethIpv4Udp(40000, 3544, payload('not teredo at all, just text'))), { status: 'ok', layers: 'eth:ipv4:udp', stopLayer: '' });
  t.same(run(ethIpv4Udp(40000, 3544, cat(v6, payload('trailing')))).layers, 'eth:ipv4:udp', 'IPv6 length must match the UDP payload');
});

t.test('decodes IP-in-IP (4in4, 6in4) and IPv4 AH', async (t) => {
  t.equal(run(eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.IPIP, ipv4(IP_PROTO.UDP, udp(1, 2, payload('x')), { src: '10.9.9.9' })))).layers, 'eth:ipv4:ipv4:udp');
  t.equal(src(), '10.9.9.9');
  t.equal(run(eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.IPV6, ipv6(IP_PROTO.TCP, tcp(1, 2, TCP_FLAG.SYN, Buffer.alloc(0)))))).layers, 'eth:ipv4:ipv6:tcp');
  const ah = Buffer.from('06040000' + '00000001' + '00000002' + '00'.repeat(12), 'hex');
  run(eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.AH, cat(ah, tcp(1, 2, TCP_FLAG.SYN, Buffer.alloc(0))), { noL4Checksum: true })));
  t.same([layersOf(p), p.ipProto, p.ipPayloadLen, p.l4Offset], ['eth:ipv4:tcp', 6, 20, 14 + 20 + 24]);
});

t.test('stops at nested tunnels beyond maxLayers, never throws', async (t) => {
  let f = innerTcp;
  for (let i = 0; i < 6; i++) f = outer(vxlan(i, f));
  t.same(run(f), { status: 'unsupported', layers: 'eth:ipv4:udp:vxlan:'.repeat(3) + 'eth:ipv4:udp:vxlan', stopLayer: 'eth' });
  t.equal(p.tunnelCount, 4);
  const deep = new Parser({ maxLayers: 40 });
  t.equal(run(f, LINKTYPE.ETHERNET, f.length, deep).status, 'ok');
  t.equal(deep.tunnelCount, 6);
  t.same(deep.tunnels.slice(0, 6).map((s) => s.id), [5, 4, 3, 2, 1, 0], 'outermost first');
  let ipip = ipv4(IP_PROTO.UDP, udp(1, 2, Buffer.alloc(0)));
  for (let i = 0; i < 30; i++) ipip = ipv4(IP_PROTO.IPIP, ipip);
  t.same(run(ipip, LINKTYPE.RAW), { status: 'unsupported', layers: Array(16).fill('ipv4').join(':'), stopLayer: 'ipv4' });
});

// ---- VLAN and link layers --------------------------------------------------------------------

t.test('decodes 802.1ad + 802.1Q stacks and stops at the VLAN cap', async (t) => {
  const qinq = eth(ETHERTYPE.QINQ, vlanTag(100, ETHERTYPE.VLAN, vlanTag(200, ETHERTYPE.IPV4, ipv4(IP_PROTO.UDP, udp(1, 2, payload('q'))))));
  t.equal(run(qinq).layers, 'eth:vlan:vlan:ipv4:udp');
  t.same(Array.from(p.vlanIds.subarray(0, p.vlanCount)), [100, 200]);
  t.equal(run(eth(ETHERTYPE.QINQ_OLD, vlanTag(3, ETHERTYPE.ARP, arp()))).layers, 'eth:vlan:arp', '0x9100 S-tag');
  let stack = ipv4(IP_PROTO.UDP, udp(1, 2, Buffer.alloc(0)));
  stack = vlanTag(9, ETHERTYPE.IPV4, stack);
  for (let i = 0; i < 9; i++) stack = vlanTag(i, ETHERTYPE.VLAN, stack);
  t.same(run(eth(ETHERTYPE.VLAN, stack)), { status: 'unsupported', layers: 'eth' + ':vlan'.repeat(8), stopLayer: 'vlan' });
});

t.test('stops at 802.3 length frames (LLC), unknown EtherTypes and unknown link types', async (t) => {
  t.same(run(eth(100, Buffer.from('424203000000', 'hex'))), { status: 'unsupported', layers: 'eth:llc', stopLayer: '' });
  t.same(run(eth(0x88cc, Buffer.alloc(30))), { status: 'unsupported', layers: 'eth', stopLayer: '' });
  t.same(run(Buffer.alloc(60), 147), { status: 'unsupported', layers: '', stopLayer: '' });
  t.same(run(eth(ETHERTYPE.ARP, arp())), { status: 'ok', layers: 'eth:arp', stopLayer: '' });
  t.equal(p.ipVersion, 0);
});

t.test('decodes BSD NULL/LOOP with either byte order and every AF_INET6 value', async (t) => {
  const v4 = ipv4(IP_PROTO.UDP, udp(1, 2, Buffer.alloc(0)));
  const v6 = ipv6(IP_PROTO.UDP, udp(1, 2, Buffer.alloc(0)));
  for (const lt of [LINKTYPE.NULL, LINKTYPE.LOOP]) {
    for (const littleEndian of [true, false]) {
      t.equal(run(cat(hdr(4, (b) => emitNull({ family: 2, littleEndian }, b, 0)), v4), lt).layers, 'null:ipv4:udp', `AF_INET ${littleEndian ? 'LE' : 'BE'}`);
      for (const af of [10, 24, 28, 30]) t.equal(run(cat(hdr(4, (b) => emitNull({ family: af, littleEndian }, b, 0)), v6), lt).layers, 'null:ipv6:udp', `AF ${af}`);
    }
  }
  t.same(run(cat(hdr(4, (b) => emitNull({ family: 7, littleEndian: true }, b, 0)), v4), LINKTYPE.NULL), { status: 'unsupported', layers: 'null', stopLayer: '' }, 'AF_OSI');
  t.same(run(cat(hdr(4, (b) => emitNull({ family: 2, littleEndian: true }, b, 0)), v6), LINKTYPE.NULL), { status: 'malformed', layers: 'null', stopLayer: 'ipv4' }, 'family says IPv4, packet is IPv6');
});

t.test('decodes raw IP link types, LINKTYPE_IPV4 and LINKTYPE_IPV6 included, by the version nibble as tshark does', async (t) => {
  const v4 = ipv4(IP_PROTO.UDP, udp(1, 2, Buffer.alloc(0)));
  const v6 = ipv6(IP_PROTO.UDP, udp(1, 2, Buffer.alloc(0)));
  for (const lt of [LINKTYPE.RAW, LINKTYPE.RAW_BSD12, LINKTYPE.RAW_BSD14]) {
    t.equal(run(v4, lt).layers, 'ipv4:udp');
    t.equal(run(v6, lt).layers, 'ipv6:udp');
  }
  t.same(run(Buffer.from([0x50, 0, 0, 0]), LINKTYPE.RAW), { status: 'unsupported', layers: '', stopLayer: '' });
  t.equal(run(v4, LINKTYPE.IPV4).layers, 'ipv4:udp');
  t.equal(run(v6, LINKTYPE.IPV6).layers, 'ipv6:udp');
  t.equal(run(v6, LINKTYPE.IPV4).layers, 'ipv6:udp', 'IPv6 under LINKTYPE_IPV4 (tcpdump: "[version 6 != 4]"; tshark decodes it)');
  t.equal(run(v4, LINKTYPE.IPV6).layers, 'ipv4:udp');
  t.same(run(Buffer.from([0x50, 0, 0, 0]), LINKTYPE.IPV4), { status: 'unsupported', layers: '', stopLayer: '' });
});

t.test('decodes Linux SLL and SLL2; non-EtherType protocols are unsupported', async (t) => {
  const v4 = ipv4(IP_PROTO.TCP, tcp(1, 2, TCP_FLAG.ACK, Buffer.alloc(0)));
  const sll = (protocol: number): Buffer => hdr(16, (b) => emitSll({ packetType: 0, arphrd: 1, addrLen: 6, addr: '020000000001', protocol }, b, 0));
  t.equal(run(cat(sll(ETHERTYPE.IPV4), v4), LINKTYPE.LINUX_SLL).layers, 'sll:ipv4:tcp');
  t.equal(run(cat(sll(ETHERTYPE.VLAN), vlanTag(4, ETHERTYPE.IPV4, v4)), LINKTYPE.LINUX_SLL).layers, 'sll:vlan:ipv4:tcp');
  t.same(run(cat(sll(0x0004), Buffer.from('424203', 'hex')), LINKTYPE.LINUX_SLL), { status: 'unsupported', layers: 'sll', stopLayer: '' }, 'ETH_P_802_2');
  const sll2 = hdr(20, (b) => emitSll2({ protocol: ETHERTYPE.IPV4, ifindex: 3, arphrd: 1, packetType: 4, addrLen: 6, addr: '020000000001' }, b, 0));
  t.equal(run(cat(sll2, v4), LINKTYPE.LINUX_SLL2).layers, 'sll2:ipv4:tcp');
  t.same(run(sll2.subarray(0, 12), LINKTYPE.LINUX_SLL2, 60), { status: 'truncated', layers: '', stopLayer: 'sll2' });
});

t.test('decodes PPP with and without address/control and with a compressed protocol field', async (t) => {
  const v4 = ipv4(IP_PROTO.UDP, udp(1, 2, Buffer.alloc(0)));
  const v6 = ipv6(IP_PROTO.UDP, udp(1, 2, Buffer.alloc(0)));
  const ppp = (addressControl: boolean, protocol: number, compressProtocol: boolean): Buffer => hdr(4, (b) => emitPpp({ addressControl, protocol, compressProtocol }, b, 0));
  t.equal(run(cat(ppp(true, PPP_PROTO.IPV4, false), v4), LINKTYPE.PPP).layers, 'ppp:ipv4:udp');
  t.equal(run(cat(ppp(false, PPP_PROTO.IPV4, false), v4), LINKTYPE.PPP).layers, 'ppp:ipv4:udp');
  t.equal(run(cat(ppp(false, PPP_PROTO.IPV6, true), v6), LINKTYPE.PPP).layers, 'ppp:ipv6:udp', 'PFC: one-octet protocol');
  t.equal(p.layerOffsets[1], 1);
  t.equal(run(cat(ppp(true, PPP_PROTO.IPV6, true), v6), LINKTYPE.PPP_HDLC).layers, 'ppp:ipv6:udp');
  t.same(run(cat(ppp(true, PPP_PROTO.LCP, false), Buffer.alloc(8)), LINKTYPE.PPP), { status: 'unsupported', layers: 'ppp', stopLayer: '' });
});

t.test('decodes PPPoE sessions and Cisco MetaData', async (t) => {
  const inner = ipv4(IP_PROTO.UDP, udp(1, 2, payload('x')));
  const sess = (len: number): Buffer => cat(hdr(6, (b) => emitPppoe({ version: 1, type: 1, code: 0, sessionId: 1, length: len }, b, 0)), hdr(2, (b) => emitPpp({ addressControl: false, protocol: PPP_PROTO.IPV4, compressProtocol: false }, b, 0)), inner);
  t.equal(run(eth(ETHERTYPE.PPPOE_SESSION, sess(inner.length + 2))).layers, 'eth:pppoe:ppp:ipv4:udp');
  t.same(run(eth(ETHERTYPE.PPPOE_SESSION, sess(inner.length + 50))), { status: 'malformed', layers: 'eth:pppoe', stopLayer: 'pppoe' }, 'PPPoE length beyond the frame');
  const cmd = hdr(8, (b) => emitCiscoMetadata({ version: 1, length: 1, option: 1, sgt: 5, etherType: ETHERTYPE.IPV4 }, b, 0));
  t.equal(run(eth(ETHERTYPE.CISCO_METADATA, cat(cmd, inner))).layers, 'eth:cmd:ipv4:udp');
  const cmdGre = Buffer.from('0800' + '0101' + '0001' + '0005', 'hex');
  t.equal(run(eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.GRE, gre({ version: 0, protocol: ETHERTYPE.CISCO_METADATA }, cat(cmdGre, inner))))).layers, 'eth:ipv4:gre:cmd:ipv4:udp', 'GRE form: EtherType first');
});

// ---- IPv4 / IPv6 lengths -----------------------------------------------------------------------

t.test('takes the IPv4 length from wireLen when total length is 0 (TSO / BIG TCP)', async (t) => {
  const full = ethIpv4Tcp(TCP_FLAG.ACK | TCP_FLAG.PSH, Buffer.alloc(200), { totalLength: 0 });
  const wireLen = 80000;
  t.same(run(full, LINKTYPE.ETHERNET, wireLen), { status: 'ok', layers: 'eth:ipv4:tcp', stopLayer: '' });
  t.same([p.ipPayloadLen, p.payloadLen], [wireLen - 14 - 20, wireLen - 14 - 20 - 20]);
  // BIG TCP inside VXLAN: both IPv4 headers say 0 (tcpdump's bigtcp-ipv4-vxlan-ipv4.pcap).
  const inner = eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.TCP, tcp(1, 2, TCP_FLAG.ACK, Buffer.alloc(100)), { totalLength: 0 }));
  const f = eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.UDP, udp(1, 4789, vxlan(1, inner), { length: 0 }), { totalLength: 0 }));
  t.equal(run(f, LINKTYPE.ETHERNET, 80156).layers, 'eth:ipv4:udp:vxlan:eth:ipv4:tcp');
  t.equal(p.payloadLen, 80156 - 14 - 20 - 8 - 8 - 14 - 20 - 20);
});

t.test('uses the IPv4 total length: Ethernet padding is not payload, a cut capture is not an error', async (t) => {
  const f = cat(ethIpv4Udp(1, 2, payload('ab')), Buffer.alloc(20));
  t.equal(run(f).status, 'ok');
  t.same([p.ipPayloadLen, p.payloadLen], [10, 2]);
  const big = ethIpv4Udp(1, 2, Buffer.alloc(1000));
  t.same(run(big.subarray(0, 96), LINKTYPE.ETHERNET, big.length), { status: 'ok', layers: 'eth:ipv4:udp', stopLayer: '' }, 'snaplen 96');
  t.equal(p.payloadLen, 1000);
});

t.test('reports IPv4 total length beyond the frame as malformed, keeping the IP fields', async (t) => {
  const f = ethIpv4Udp(1, 2, payload('abc'), { totalLength: 200, src: '10.7.7.7' });
  t.same(run(f), { status: 'malformed', layers: 'eth:ipv4', stopLayer: 'ipv4' });
  t.same([p.ipVersion, src(), p.ipPayloadLen], [4, '10.7.7.7', 180]);
  t.same(run(ethIpv4Udp(1, 2, payload('abc'), { totalLength: 10 })), { status: 'malformed', layers: 'eth:ipv4', stopLayer: 'ipv4' }, 'total length < header length');
});

t.test('reports IHL < 5 as malformed without an IPv4 layer', async (t) => {
  for (const ihl of [0, 4]) {
    const f = ethIpv4Udp(1, 2, payload('x'));
    f.writeUInt8(0x40 | ihl, 14);
    t.same(run(f), { status: 'malformed', layers: 'eth', stopLayer: 'ipv4' });
    t.equal(p.ipVersion, 0);
  }
  const opts = ethIpv4Udp(1, 2, payload('x'), { options: '01010101'.repeat(10) });
  t.same(run(opts.subarray(0, 14 + 40), LINKTYPE.ETHERNET, opts.length), { status: 'truncated', layers: 'eth', stopLayer: 'ipv4' }, 'IHL 15, options cut by snaplen');
});

t.test('flags IPv4 fragments: the first carries the transport header, later ones do not', async (t) => {
  const first = ethIpv4Tcp(TCP_FLAG.SYN, Buffer.alloc(8), { flags: 1 });
  t.same(run(first), { status: 'ok', layers: 'eth:ipv4:tcp', stopLayer: '' });
  t.same([p.isFragment, p.sport], [true, 40000]);
  const later = eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.TCP, Buffer.alloc(24, 0x41), { fragOffset: 3, flags: 0 }));
  t.same(run(later), { status: 'ok', layers: 'eth:ipv4', stopLayer: '' });
  t.same([p.isFragment, p.ipProto, p.l4Proto, p.ipPayloadLen], [true, 6, 0, 24]);
  const tiny = eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.TCP, Buffer.alloc(8, 0x41), { flags: 1 }));
  t.same(run(tiny), { status: 'ok', layers: 'eth:ipv4', stopLayer: '' }, 'TCP header split across fragments is not malformed');
  const udpFrag = eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.UDP, udp(4789, 4789, Buffer.alloc(16), { length: 3000 }), { flags: 1 }));
  t.same(run(udpFrag), { status: 'ok', layers: 'eth:ipv4:udp', stopLayer: '' }, 'UDP length covers the datagram, not the fragment');
  t.equal(p.payloadLen, 2992);
});

t.test('reports TCP data offset < 5 or beyond the segment as malformed, with IP fields kept', async (t) => {
  const bad = ethIpv4Tcp(TCP_FLAG.SYN);
  bad.writeUInt8(0x40, 14 + 20 + 12);
  t.same(run(bad), { status: 'malformed', layers: 'eth:ipv4', stopLayer: 'tcp' });
  t.same([p.ipVersion, src(), p.l4Proto], [4, '10.0.0.1', 0]);
  const beyond = ethIpv4Tcp(TCP_FLAG.SYN);
  beyond.writeUInt8(0xf0, 14 + 20 + 12);
  t.same(run(beyond), { status: 'malformed', layers: 'eth:ipv4', stopLayer: 'tcp' });
  const withOpts = ethIpv4Tcp(TCP_FLAG.SYN, Buffer.alloc(0), { options: '020405b4' + '01010101' });
  t.same(run(withOpts.subarray(0, 14 + 20 + 22), LINKTYPE.ETHERNET, withOpts.length), { status: 'truncated', layers: 'eth:ipv4', stopLayer: 'tcp' }, 'options cut by snaplen');
  t.equal(src(), '10.0.0.1', 'a truncated TCP header still yields addresses');
});

t.test('reports a UDP length beyond the IP payload as contained, and below 8 as malformed', async (t) => {
  t.same(run(cat(eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.UDP, udp(1, 2, payload('abcd'), { length: 40 }))), Buffer.alloc(64))), { status: 'contained', layers: 'eth:ipv4:udp', stopLayer: 'udp' });
  t.same(run(eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.UDP, udp(1, 2, payload('abcd'), { length: 7 })))), { status: 'malformed', layers: 'eth:ipv4:udp', stopLayer: 'udp' });
  run(eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.UDP, udp(1, 2, payload('abcd'), { length: 0 }))));
  t.same([p.status, p.payloadLen], [DECODE_STATUS.OK, 4], 'length 0 takes the IP payload');
  run(eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.UDP, udp(1, 2, payload('abcd'), { length: 10 }))));
  t.same([p.status, p.payloadLen], [DECODE_STATUS.OK, 2], 'a shorter UDP length wins');
});

t.test('reports an inner IP packet longer than its tunnel as contained', async (t) => {
  const inner = eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.UDP, udp(1, 2, payload('abc')), { totalLength: 300 }));
  const f = cat(outer(vxlan(1, inner)), Buffer.alloc(400));
  t.same(run(f), { status: 'contained', layers: 'eth:ipv4:udp:vxlan:eth:ipv4', stopLayer: 'ipv4' });
  t.same(run(outer(vxlan(1, inner))).status, 'malformed', 'and malformed when it also runs past the frame');
});

t.test('walks IPv6 extension headers to the transport', async (t) => {
  const u = udp(7, 8, payload('six'));
  const chain = cat(
    hdr(8, (b) => emitIpv6Ext({ nextHeader: IP_PROTO.ROUTING, body: '' }, b, 0)),
    hdr(24, (b) => emitIpv6Ext({ nextHeader: IP_PROTO.DSTOPTS, body: '0000' + '00000000' + '00'.repeat(16) }, b, 0)),
    hdr(8, (b) => emitIpv6Ext({ nextHeader: IP_PROTO.FRAGMENT, body: '' }, b, 0)),
    hdr(8, (b) => emitIpv6Fragment({ nextHeader: IP_PROTO.AH, fragOffset: 0, more: false, id: 1 }, b, 0)),
    Buffer.from('11020000' + '00000001' + '00000002' + '00000000', 'hex'),
    u,
  );
  run(eth(ETHERTYPE.IPV6, ipv6(IP_PROTO.HOPOPTS, chain, { noL4Checksum: true })));
  t.same([layersOf(p), p.ipProto, p.isFragment, p.ipPayloadLen, p.dport], ['eth:ipv6:udp', 17, false, u.length, 8], 'atomic fragment is not a fragment');
  t.same(run(eth(ETHERTYPE.IPV6, ipv6(IP_PROTO.NONE, Buffer.alloc(0)))), { status: 'ok', layers: 'eth:ipv6', stopLayer: '' }, 'next header 59');
  t.equal(p.ipProto, 59);
  t.same(run(eth(ETHERTYPE.IPV6, ipv6(IP_PROTO.ESP, Buffer.alloc(16)))), { status: 'unsupported', layers: 'eth:ipv6', stopLayer: '' });
  t.equal(p.ipProto, 50);
  const later = cat(hdr(8, (b) => emitIpv6Fragment({ nextHeader: IP_PROTO.TCP, fragOffset: 100, more: true, id: 1 }, b, 0)), Buffer.alloc(40));
  t.same(run(eth(ETHERTYPE.IPV6, ipv6(IP_PROTO.FRAGMENT, later))), { status: 'ok', layers: 'eth:ipv6', stopLayer: '' });
  t.same([p.isFragment, p.ipProto, p.l4Proto, p.ipPayloadLen], [true, 6, 0, 40]);
  let many: Buffer = Buffer.alloc(0);
  for (let i = 0; i < 20; i++) many = cat(hdr(8, (b) => emitIpv6Ext({ nextHeader: IP_PROTO.DSTOPTS, body: '' }, b, 0)), many);
  t.same(run(eth(ETHERTYPE.IPV6, ipv6(IP_PROTO.DSTOPTS, many))), { status: 'unsupported', layers: 'eth:ipv6', stopLayer: 'ipv6' }, 'extension header cap');
  const cut = cat(hdr(8, (b) => emitIpv6Ext({ nextHeader: IP_PROTO.UDP, body: '' }, b, 0)), u);
  cut.writeUInt8(200, 1); // claims 1608 bytes
  t.same(run(eth(ETHERTYPE.IPV6, ipv6(IP_PROTO.HOPOPTS, cut))), { status: 'malformed', layers: 'eth:ipv6', stopLayer: 'ipv6' });
});

t.test('uses the IPv6 jumbo payload length, and the frame length when payload length is 0 without it', async (t) => {
  const jumbo = 70000;
  const hbh = hdr(8, (b) => emitIpv6JumboHbh(IP_PROTO.UDP, jumbo, b, 0));
  const body = cat(hbh, udp(1, 2, Buffer.alloc(32), { length: 0 }));
  const f = eth(ETHERTYPE.IPV6, ipv6(IP_PROTO.HOPOPTS, body, { payloadLength: 0 }));
  t.same(run(f, LINKTYPE.ETHERNET, 14 + 40 + jumbo), { status: 'ok', layers: 'eth:ipv6:udp', stopLayer: '' });
  t.same([p.ipPayloadLen, p.payloadLen], [jumbo - 8, jumbo - 16]);
  t.same(run(f, LINKTYPE.ETHERNET, 14 + 40 + 1000), { status: 'malformed', layers: 'eth:ipv6', stopLayer: 'ipv6' }, 'jumbo length beyond the frame');
  const small = eth(ETHERTYPE.IPV6, ipv6(IP_PROTO.HOPOPTS, cat(hdr(8, (b) => emitIpv6JumboHbh(IP_PROTO.UDP, 4, b, 0)), udp(1, 2, Buffer.alloc(8))), { payloadLength: 0 }));
  t.same(run(small), { status: 'malformed', layers: 'eth:ipv6', stopLayer: 'ipv6' }, 'jumbo length shorter than its own header');
  const tso = eth(ETHERTYPE.IPV6, ipv6(IP_PROTO.TCP, tcp(1, 2, TCP_FLAG.ACK, Buffer.alloc(10)), { payloadLength: 0 }));
  run(tso, LINKTYPE.ETHERNET, 190000);
  t.same([p.status, p.ipPayloadLen, p.payloadLen], [DECODE_STATUS.OK, 190000 - 54, 190000 - 74], 'BIG TCP IPv6 without the HBH header');
  const frag0 = cat(hdr(8, (b) => emitIpv6Fragment({ nextHeader: IP_PROTO.TCP, fragOffset: 0, more: true, id: 7 }, b, 0)), tcp(1, 2, TCP_FLAG.ACK, Buffer.alloc(10)));
  t.same(run(eth(ETHERTYPE.IPV6, ipv6(IP_PROTO.FRAGMENT, frag0, { payloadLength: 0 }))), { status: 'malformed', layers: 'eth:ipv6', stopLayer: 'ipv6' }, 'a fragment with payload length 0');
  const jumboFrag = cat(hdr(8, (b) => emitIpv6JumboHbh(IP_PROTO.FRAGMENT, 8 + frag0.length, b, 0)), frag0);
  t.same(run(eth(ETHERTYPE.IPV6, ipv6(IP_PROTO.HOPOPTS, jumboFrag, { payloadLength: 0 }))), { status: 'malformed', layers: 'eth:ipv6', stopLayer: 'ipv6' }, 'a jumbogram with a Fragment header');
  t.same(run(eth(ETHERTYPE.IPV6, ipv6(IP_PROTO.FRAGMENT, frag0))).status, 'ok', 'the same fragment with its payload length');
});

t.test('reads ICMP type and code only, never the quoted IP header of an error', async (t) => {
  const quoted = ipv4(IP_PROTO.UDP, udp(53, 33434, Buffer.alloc(0)), { src: '8.8.8.8', dst: '10.0.0.1' });
  run(eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.ICMP, icmp(3, 3, quoted, 0), { src: '10.0.0.254', dst: '10.0.0.1' })));
  t.same([layersOf(p), src(), p.icmpType, p.icmpCode, p.sport, p.payloadLen], ['eth:ipv4:icmp', '10.0.0.254', 3, 3, 0, quoted.length]);
  run(eth(ETHERTYPE.IPV6, ipv6(IP_PROTO.ICMPV6, icmp(1, 4, ipv6(IP_PROTO.UDP, udp(1, 2, Buffer.alloc(0)))))));
  t.same([layersOf(p), p.l4Proto, p.icmpType, p.icmpCode], ['eth:ipv6:icmpv6', 58, 1, 4]);
});

// ---- general --------------------------------------------------------------------------------

t.test('distinguishes a frame cut by snaplen (truncated) from one too short on the wire (malformed)', async (t) => {
  t.same(run(Buffer.alloc(0)), { status: 'malformed', layers: '', stopLayer: 'eth' });
  t.same(run(Buffer.alloc(10), LINKTYPE.ETHERNET, 60), { status: 'truncated', layers: '', stopLayer: 'eth' });
  const f = ethIpv4Tcp();
  t.same(run(f.subarray(0, 30), LINKTYPE.ETHERNET, f.length), { status: 'truncated', layers: 'eth', stopLayer: 'ipv4' });
  t.same(run(f.subarray(0, 30), LINKTYPE.ETHERNET, 30), { status: 'malformed', layers: 'eth', stopLayer: 'ipv4' });
  t.same(run(f.subarray(0, 40), LINKTYPE.ETHERNET, f.length), { status: 'truncated', layers: 'eth:ipv4', stopLayer: 'tcp' });
  t.same(run(f, LINKTYPE.ETHERNET, 10).status, 'ok', 'wireLen below capLen is taken as capLen');
});

t.test('resets every result field between frames', async (t) => {
  run(outer(vxlan(42, innerTcp)));
  run(eth(ETHERTYPE.ARP, arp()));
  t.same(
    [p.tunnelCount, p.vlanCount, p.ipVersion, p.ipOffset, p.ipProto, p.isFragment, p.ipPayloadLen, p.l4Proto, p.sport, p.dport, p.tcpFlags, p.seq, p.ack, p.payloadLen, p.stopLayer],
    [0, 0, 0, 0, 0, false, 0, 0, 0, 0, 0, 0, 0, 0, -1],
  );
  const layers = p.layers;
  const tunnels = p.tunnels;
  run(outer(vxlan(42, innerTcp)));
  t.equal(p.layers, layers, 'the same preallocated arrays are reused');
  t.equal(p.tunnels, tunnels);
});

t.test('rejects bad options at construction', async (t) => {
  t.throws(() => new Parser({ maxLayers: 0 }), RangeError);
  t.throws(() => new Parser({ maxLayers: 256 }), RangeError);
  t.throws(() => new Parser({ vxlanPorts: [70000] }), RangeError);
  t.throws(() => new Parser({ vxlanPorts: [1.5] }), RangeError);
  t.throws(() => new Parser({ vxlanPorts: [4789], genevePorts: [4789] }), RangeError);
  t.doesNotThrow(() => new Parser({ vxlanPorts: [], genevePorts: [], maxLayers: 1 }));
  const one = new Parser({ maxLayers: 1 });
  t.same(run(ethIpv4Tcp(), LINKTYPE.ETHERNET, undefined, one), { status: 'unsupported', layers: 'eth', stopLayer: 'ipv4' });
});

t.test('LAYER_NAMES and DECODE_STATUS_NAMES are indexed by value', async (t) => {
  t.same(
    [LAYER.ETH, LAYER.VLAN, LAYER.SLL, LAYER.SLL2, LAYER.NULL, LAYER.PPP, LAYER.ARP, LAYER.IPV4, LAYER.IPV6, LAYER.TCP, LAYER.UDP, LAYER.ICMP, LAYER.ICMPV6, LAYER.VXLAN, LAYER.GRE, LAYER.ERSPAN, LAYER.GENEVE, LAYER.TEREDO].map((v) => LAYER_NAMES[v]),
    ['eth', 'vlan', 'sll', 'sll2', 'null', 'ppp', 'arp', 'ipv4', 'ipv6', 'tcp', 'udp', 'icmp', 'icmpv6', 'vxlan', 'gre', 'erspan', 'geneve', 'teredo'],
  );
  t.equal(LAYER_NAMES.length, Object.keys(LAYER).length);
  t.same(
    [DECODE_STATUS.OK, DECODE_STATUS.TRUNCATED, DECODE_STATUS.MALFORMED, DECODE_STATUS.CONTAINED, DECODE_STATUS.UNSUPPORTED].map((v) => DECODE_STATUS_NAMES[v]),
    ['ok', 'truncated', 'malformed', 'contained', 'unsupported'],
  );
});
