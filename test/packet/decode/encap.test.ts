/**
 * packet/encap builders, checked by decoding what they build with the Parser and the views.
 */
import t from 'tap';
import { LAYER, LAYER_NAMES } from '../../../packet/decode/layers.js';
import { Parser } from '../../../packet/decode/parser.js';
import { ErspanTemplate } from '../../../packet/encap/erspan.js';
import { buildGreHeader, GreTemplate } from '../../../packet/encap/gre.js';
import { buildVxlanHeader, emitVxlanEncap, VXLAN_ENCAP_OVERHEAD_IPV4, VXLAN_ENCAP_OVERHEAD_IPV6 } from '../../../packet/encap/vxlan.js';
import { ErspanView } from '../../../packet/wire/erspan.js';
import { ETHERTYPE } from '../../../packet/wire/ethernet.js';
import { GreView } from '../../../packet/wire/gre.js';
import { IP_PROTO } from '../../../packet/wire/ip-proto.js';
import { Ipv4View } from '../../../packet/wire/ipv4.js';
import { LINKTYPE } from '../../../packet/wire/link-type.js';
import { cat, eth, ethIpv4Tcp, ethIpv4Udp, ipv4 } from './frames.js';

const p = new Parser();
const inner = ethIpv4Tcp();

function chain(): string {
  return Array.from(p.layers.subarray(0, p.layerCount), (l) => LAYER_NAMES[l]).join(':');
}

t.test('buildVxlanHeader sets the I flag and the VNI', async (t) => {
  t.equal(buildVxlanHeader(42).toString('hex'), '0800000000002a00');
  t.equal(buildVxlanHeader(0xffffff).toString('hex'), '08000000ffffff00');
  t.throws(() => buildVxlanHeader(0x1000000), RangeError);
  t.throws(() => buildVxlanHeader(-1), RangeError);
  p.decode(ethIpv4Udp(40000, 4789, cat(buildVxlanHeader(42), inner)), LINKTYPE.ETHERNET, 0);
  t.same([chain(), p.tunnels[0]!.id, p.tunnels[0]!.hasId], ['eth:ipv4:udp:vxlan:eth:ipv4:tcp', 42, true]);
});

t.test('emitVxlanEncap writes a whole outer frame (IPv4 and IPv6) that decodes back to the inner frame', async (t) => {
  for (const [src, dst, overhead] of [
    ['192.0.2.1', '192.0.2.2', VXLAN_ENCAP_OVERHEAD_IPV4],
    ['2001:db8::1', '2001:db8::2', VXLAN_ENCAP_OVERHEAD_IPV6],
  ] as const) {
    const buf = Buffer.alloc(10 + overhead + inner.length, 0xa5);
    const at = emitVxlanEncap({ srcMac: '02:00:00:00:00:01', dstMac: '02:00:00:00:00:02', src, dst, sport: 50000, vni: 7, innerLen: inner.length }, buf, 10);
    t.equal(at, 10 + overhead);
    inner.copy(buf, at);
    const frame = buf.subarray(10);
    t.equal(p.decode(frame, LINKTYPE.ETHERNET, frame.length), 0, 'ok');
    t.equal(chain(), src.includes(':') ? 'eth:ipv6:udp:vxlan:eth:ipv4:tcp' : 'eth:ipv4:udp:vxlan:eth:ipv4:tcp');
    t.same(frame.subarray(p.tunnels[0]!.innerOffset), inner, 'the inner frame follows the header');
    t.same([p.tunnels[0]!.id, p.layerOffsets[2], frame.readUInt16BE(p.layerOffsets[2]! + 2)], [7, overhead - 16, 4789]);
    if (!src.includes(':')) t.ok(new Ipv4View().bind(frame, 14).checksumValid(), 'outer IPv4 checksum');
  }
});

t.test('GreTemplate patches the sequence number in place', async (t) => {
  const tpl = new GreTemplate({ key: 0x42, seq: true });
  t.equal(tpl.header.length, 12);
  t.equal(tpl.protocol, ETHERTYPE.TEB);
  tpl.setSeq(0x1_0000_0005);
  const view = new GreView().bind(tpl.header, 0);
  t.equal(tpl.header.readUInt32BE(view.seqOffset()), 5, 'mod 2^32');
  p.decode(eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.GRE, cat(tpl.header, inner))), LINKTYPE.ETHERNET, 0);
  t.same([chain(), p.tunnels[0]!.id, p.tunnels[0]!.hasId], ['eth:ipv4:gre:eth:ipv4:tcp', 0x42, true]);
  t.equal(buildGreHeader().toString('hex'), '00006558', 'plain GRE, transparent Ethernet bridging');
  t.equal(buildGreHeader({ protocol: ETHERTYPE.IPV4 }).toString('hex'), '00000800');
});

t.test('ErspanTemplate builds type II and III headers and patches per-packet fields', async (t) => {
  const two = new ErspanTemplate({ version: 2, sessionId: 1023, vlan: 12, cos: 5 });
  two.setSeq(9);
  two.setIndex(0xabcde);
  two.setTruncated(true);
  p.decode(eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.GRE, cat(two.header, inner))), LINKTYPE.ETHERNET, 0);
  t.same([chain(), p.tunnels[1]!.type, p.tunnels[1]!.id, p.tunnels[1]!.version], ['eth:ipv4:gre:erspan:eth:ipv4:tcp', LAYER.ERSPAN, 1023, 2]);
  t.same(new ErspanView().bind(two.header, 8).toHeader2(), { version: 1, vlan: 12, cos: 5, en: 0, t: 1, sessionId: 1023, index: 0xabcde });
  t.equal(two.header.readUInt32BE(4), 9);
  two.setTruncated(false);
  t.equal(new ErspanView().bind(two.header, 8).t, 0);

  const three = new ErspanTemplate({ version: 3, sessionId: 5, hwId: 9, direction: 1, gra: 3 });
  three.setTimestamp(0xfeedbeef);
  three.setSeq(1);
  p.decode(eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.GRE, cat(three.header, inner))), LINKTYPE.ETHERNET, 0);
  t.same([chain(), p.tunnels[1]!.id, p.tunnels[1]!.version], ['eth:ipv4:gre:erspan:eth:ipv4:tcp', 5, 3]);
  t.same(new ErspanView().bind(three.header, 8).toHeader3(), { version: 2, vlan: 0, cos: 0, bso: 0, t: 0, sessionId: 5, timestamp: 0xfeedbeef, sgt: 0, p: 0, ft: 0, hwId: 9, d: 1, gra: 3 });
  t.throws(() => new ErspanTemplate({ version: 2, sessionId: 1024 }), RangeError);
});
