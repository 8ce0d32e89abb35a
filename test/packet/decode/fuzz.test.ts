/**
 * Time-boxed random-mutation property test: seed frames (the golden frames plus frames for
 * every tunnel and link type) are mutated (bit flips, interesting byte values, cuts,
 * extensions, random wireLen and link type) and decoded. The decoder must never throw, must
 * return a valid status, and every offset it reports must lie within the captured bytes.
 * Deterministic: the PRNG seed is printed and can be pinned with PODSPAN_FUZZ_SEED; the time
 * box (3 s) can be raised with PODSPAN_FUZZ_MS for a longer local run.
 */
import t from 'tap';
import { Parser } from '../../../packet/decode/parser.js';
import { emitCiscoMetadata } from '../../../packet/wire/cisco-metadata.js';
import { ETHERTYPE } from '../../../packet/wire/ethernet.js';
import { IP_PROTO } from '../../../packet/wire/ip-proto.js';
import { emitIpv6Ext, emitIpv6Fragment, emitIpv6JumboHbh } from '../../../packet/wire/ipv6.js';
import { LINKTYPE } from '../../../packet/wire/link-type.js';
import { emitPpp, PPP_PROTO } from '../../../packet/wire/ppp.js';
import { emitPppoe } from '../../../packet/wire/pppoe.js';
import { TCP_FLAG } from '../../../packet/wire/tcp.js';
import { emitTeredo } from '../../../packet/wire/teredo.js';
import { GOLDEN } from '../wire/golden-frames.js';
import { arp, cat, erspan2, erspan3, eth, ethIpv4Tcp, ethIpv4Udp, geneve, gre, icmp, ipv4, ipv6, payload, tcp, udp, vlanTag, vxlan } from './frames.js';

const TIME_BUDGET_MS = Number(process.env['PODSPAN_FUZZ_MS'] ?? 3000);
const LINK_TYPES = [LINKTYPE.ETHERNET, LINKTYPE.RAW, LINKTYPE.IPV4, LINKTYPE.IPV6, LINKTYPE.LINUX_SLL, LINKTYPE.LINUX_SLL2, LINKTYPE.NULL, LINKTYPE.LOOP, LINKTYPE.PPP, 12, 14, 50, 999];
const INTERESTING = [0x00, 0x01, 0x02, 0x04, 0x05, 0x06, 0x08, 0x0f, 0x10, 0x11, 0x20, 0x2f, 0x3a, 0x3b, 0x40, 0x45, 0x4f, 0x60, 0x7f, 0x80, 0x81, 0x86, 0x88, 0xa8, 0xbe, 0xc2, 0xdd, 0xeb, 0xfe, 0xff];

function hdr(n: number, fill: (b: Buffer) => number): Buffer {
  const b = Buffer.alloc(n);
  return b.subarray(0, fill(b));
}

function seeds(): { data: Buffer; linkType: number }[] {
  const inner = eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.TCP, tcp(1, 2, TCP_FLAG.ACK, payload('inner'))));
  const ipIn = ipv4(IP_PROTO.UDP, udp(1, 2, payload('x')));
  const s: { data: Buffer; linkType: number }[] = GOLDEN.map((g) => ({ data: Buffer.from(g.hex, 'hex'), linkType: g.linkType }));
  const e = (data: Buffer): void => {
    s.push({ data, linkType: LINKTYPE.ETHERNET });
  };
  e(ethIpv4Udp(1, 4789, vxlan(7, ethIpv4Udp(2, 4789, vxlan(8, inner)))));
  e(ethIpv4Udp(1, 6081, geneve({ vni: 1, protocol: ETHERTYPE.TEB, options: '0000000100000000' }, inner)));
  e(eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.GRE, gre({ version: 0, protocol: ETHERTYPE.IPV4, routing: '0800000401020304' + '00000000', key: 1 }, ipIn))));
  e(eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.GRE, gre({ version: 0, protocol: ETHERTYPE.ERSPAN_II, seq: 1 }, erspan2({ sessionId: 3 }, inner)))));
  e(eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.GRE, gre({ version: 0, protocol: ETHERTYPE.ERSPAN_III }, erspan3({ sessionId: 3, platform: { id: 1, infoHi: 0, infoLo: 0 } }, inner)))));
  e(eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.GRE, gre({ version: 0, protocol: ETHERTYPE.CISCO_METADATA }, cat(Buffer.from('0800010100010005', 'hex'), ipIn)))));
  e(eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.GRE, gre({ version: 0, protocol: ETHERTYPE.WCCP }, cat(Buffer.from('00000000', 'hex'), ipIn)))));
  const ppp = cat(hdr(4, (b) => emitPpp({ addressControl: true, protocol: PPP_PROTO.IPV4, compressProtocol: false }, b, 0)), ipIn);
  e(eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.GRE, gre({ version: 1, protocol: ETHERTYPE.PPP, key: (ppp.length << 16) | 1, seq: 1, ack: 1 }, ppp))));
  e(eth(ETHERTYPE.PPPOE_SESSION, cat(hdr(6, (b) => emitPppoe({ version: 1, type: 1, code: 0, sessionId: 1, length: ipIn.length + 2 }, b, 0)), Buffer.from('0021', 'hex'), ipIn)));
  e(eth(ETHERTYPE.CISCO_METADATA, cat(hdr(8, (b) => emitCiscoMetadata({ version: 1, length: 1, option: 1, sgt: 2, etherType: ETHERTYPE.IPV4 }, b, 0)), ipIn)));
  e(eth(ETHERTYPE.QINQ, vlanTag(1, ETHERTYPE.VLAN, vlanTag(2, ETHERTYPE.ARP, arp()))));
  e(ethIpv4Udp(3544, 1, cat(hdr(64, (b) => emitTeredo({ auth: { clientId: '01', authValue: '02', nonce: '0000000000000000', confirmation: 0 }, origin: { port: 1, addr: '1.2.3.4' } }, b, 0)), ipv6(IP_PROTO.NONE, Buffer.alloc(0)))));
  const ext = cat(
    hdr(8, (b) => emitIpv6JumboHbh(IP_PROTO.DSTOPTS, 100, b, 0)),
    hdr(8, (b) => emitIpv6Ext({ nextHeader: IP_PROTO.FRAGMENT, body: '' }, b, 0)),
    hdr(8, (b) => emitIpv6Fragment({ nextHeader: IP_PROTO.AH, fragOffset: 0, more: true, id: 1 }, b, 0)),
    Buffer.from('06040000' + '00'.repeat(20), 'hex'),
    tcp(1, 2, TCP_FLAG.SYN, Buffer.alloc(0), { options: '020405b4' }),
  );
  e(eth(ETHERTYPE.IPV6, ipv6(IP_PROTO.HOPOPTS, ext, { payloadLength: 0 })));
  e(eth(ETHERTYPE.IPV4, ipv4(IP_PROTO.ICMP, icmp(3, 1, ipIn))));
  e(ethIpv4Tcp(TCP_FLAG.SYN, Buffer.alloc(0), { options: '0101080a00000001000000020303070000000000', totalLength: 0 }));
  return s;
}

/** xorshift32: small, fast, reproducible. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

t.test('decoding mutated frames never throws and keeps every offset within the capture', async (t) => {
  const seed = Number(process.env['PODSPAN_FUZZ_SEED'] ?? Date.now() % 0xffffffff);
  t.comment(`PODSPAN_FUZZ_SEED=${seed}`);
  const rand = rng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;
  const corpus = seeds();
  const parsers = [new Parser(), new Parser({ maxLayers: 4 }), new Parser({ maxLayers: 64, vxlanPorts: [1, 2], genevePorts: [3544] })];
  const deadline = Date.now() + TIME_BUDGET_MS;
  let n = 0;
  let failures = 0;
  const counts = [0, 0, 0, 0, 0];
  while (Date.now() < deadline && failures < 5) {
    for (let k = 0; k < 200; k++) {
      const base = pick(corpus);
      let data = Buffer.from(base.data);
      const edits = 1 + Math.floor(rand() * 6);
      for (let m = 0; m < edits; m++) {
        const r = rand();
        const i = Math.floor(rand() * data.length);
        if (data.length === 0) break;
        if (r < 0.35) data[i] = data[i]! ^ (1 << Math.floor(rand() * 8));
        else if (r < 0.7) data[i] = pick(INTERESTING);
        else if (r < 0.8) data = data.subarray(0, i);
        else if (r < 0.9) data = Buffer.concat([data, Buffer.alloc(Math.floor(rand() * 64), pick(INTERESTING))]);
        else if (i + 1 < data.length) data.writeUInt16BE(Math.floor(rand() * 0x10000), i);
      }
      const r = rand();
      const wireLen = r < 0.5 ? data.length : r < 0.8 ? data.length + Math.floor(rand() * 100000) : Math.floor(rand() * data.length);
      const linkType = rand() < 0.85 ? base.linkType : pick(LINK_TYPES);
      const p = pick(parsers);
      let status: number;
      try {
        status = p.decode(data, linkType, wireLen);
      } catch (err) {
        failures++;
        t.fail(`threw ${String(err)} on ${data.toString('hex')} linkType ${linkType} wireLen ${wireLen}`);
        continue;
      }
      n++;
      counts[status] = (counts[status] ?? 0) + 1;
      const cap = data.length;
      const bad: string[] = [];
      if (!(status >= 0 && status <= 4) || status !== p.status) bad.push(`status ${status}`);
      if (p.layerCount > p.layers.length || p.tunnelCount > p.tunnels.length || p.vlanCount > p.vlanIds.length) bad.push('counts');
      for (let l = 0; l < p.layerCount; l++) {
        if (p.layerOffsets[l]! > cap) bad.push(`layer ${l} offset ${p.layerOffsets[l]}`);
        if (l > 0 && p.layerOffsets[l]! < p.layerOffsets[l - 1]!) bad.push('layer offsets go backwards');
      }
      for (let l = 0; l < p.tunnelCount; l++) if (p.tunnels[l]!.innerOffset > cap) bad.push(`tunnel ${l} innerOffset`);
      if (p.ipVersion !== 0) {
        const alen = p.ipVersion === 4 ? 4 : 16;
        if (p.ipVersion !== 4 && p.ipVersion !== 6) bad.push('ipVersion');
        if (p.ipSrcOffset + alen > cap || p.ipDstOffset + alen > cap || p.ipOffset >= cap) bad.push('ip offsets');
        if (!(p.ipPayloadLen >= 0) || !Number.isInteger(p.ipPayloadLen)) bad.push(`ipPayloadLen ${p.ipPayloadLen}`);
      }
      if (p.l4Proto !== 0) {
        if (p.l4Offset + 8 > cap || p.payloadOffset > cap || p.l4Offset < p.ipOffset) bad.push('l4 offsets');
        if (!(p.payloadLen >= 0) || !Number.isInteger(p.payloadLen)) bad.push(`payloadLen ${p.payloadLen}`);
        if (p.seq < 0 || p.seq > 0xffffffff || p.ack < 0 || p.ack > 0xffffffff || p.tcpFlags > 0x1ff) bad.push('tcp fields');
      }
      if (bad.length > 0) {
        failures++;
        t.fail(`${bad.join(', ')} on ${data.toString('hex')} linkType ${linkType} wireLen ${wireLen}`);
      }
    }
  }
  t.equal(failures, 0, `${n} mutated frames decoded; statuses ok/truncated/malformed/contained/unsupported = ${counts.join('/')}`);
  t.ok(n > 1000, 'enough iterations in the time box');
});
