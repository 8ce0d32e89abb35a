import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

import { PcapWriter } from '../../packet/capfile/pcap-writer.js';
import { CapfileReader } from '../../packet/capfile/reader.js';
import { LAYER } from '../../packet/decode/layers.js';
import { Parser } from '../../packet/decode/parser.js';
import { emitEthernet, ETHERTYPE } from '../../packet/wire/ethernet.js';
import { emitGre } from '../../packet/wire/gre.js';
import { emitIpv4 } from '../../packet/wire/ipv4.js';
import { LINKTYPE } from '../../packet/wire/link-type.js';
import { CORPUS_DIR, requireCorpus } from '../helpers/corpus.js';
import { makeNetnsPair, parseSummary, readStore, replay, rewriteOuter, sleep, startCollector, tsharkTunnelFrames, type TsharkTunnelFrame } from './helpers.js';

// Real namespaces: third-party tunnel captures (tcpdump's and Suricata's test corpus) have
// their outer IP and MAC rewritten by tcprewrite to address a collector in namespace B, are
// sent by tcpreplay from namespace A over a veth, and the collector's pcapng must hold
// exactly the inner frames tshark decodes from the original captures.

const TCPDUMP = join(CORPUS_DIR, 'the-tcpdump-group+tcpdump', 'tests');
const SURICATA = join(CORPUS_DIR, 'OISF+suricata-verify', 'tests');

interface Expect {
  file: string;
  frames: TsharkTunnelFrame[];
}

/** The Parser's inner-frame offset for each frame (cross-check of tshark's), -1 when no tunnel of `type`. */
function parserInnerOffsets(file: string, type: number): number[] {
  const reader = new CapfileReader();
  reader.push(readFileSync(file));
  reader.end();
  const p = new Parser();
  const out: number[] = [];
  for (let r = reader.next(); r !== null; r = reader.next()) {
    p.decode(r.data, LINKTYPE.ETHERNET, r.wireLen);
    const tun = p.tunnels.slice(0, p.tunnelCount).find((x) => x.type === type);
    out.push(tun === undefined ? -1 : tun.innerOffset);
  }
  return out;
}

function tmp(t: { teardown(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'psl-tc-corpus-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('real netns veth: corpus VXLAN captures (ports 4789 and 8472, reserved bits set) are stored as tshark\'s inner frames', async (t) => {
  if (!requireCorpus(t)) return;
  const files = [
    join(TCPDUMP, 'vxlan.pcap'),
    join(TCPDUMP, 'vxlan_port_8472.pcap'),
    join(SURICATA, 'vxlan-decoder-01', 'input.pcap'),
    join(SURICATA, 'vxlan-decoder-02', 'vxlan.pcap'),
    join(SURICATA, 'vxlan-non-zero-reserved-fields', 'input.pcap'),
  ];
  const pair = await makeNetnsPair(t, 'psl-tc-vx', 91);
  const work = tmp(t);
  const out = join(work, 'store');
  const c = await startCollector(t, ['--vxlan', `${pair.ipB}:4789`, '--vxlan', `${pair.ipB}:8472`, '--out', out], { netns: pair.nsB });
  const expected: Expect[] = [];
  let datagrams = 0;
  for (const file of files) {
    const frames = await tsharkTunnelFrames(file, ['udp.port==8472,vxlan']);
    const vx = frames.filter((f) => f.tunnel === 'vxlan' && (f.udpDstPort === 4789 || f.udpDstPort === 8472));
    t.ok(vx.length > 0, `${basename(file)}: ${vx.length} VXLAN frames`);
    const offsets = parserInnerOffsets(file, LAYER.VXLAN);
    t.same(
      vx.map((f) => offsets[f.n - 1]),
      vx.map((f) => f.innerOffset),
      `${basename(file)}: podspan's Parser finds the inner frame where tshark does`,
    );
    expected.push({ file, frames: vx });
    datagrams += frames.filter((f) => f.udpDstPort === 4789 || f.udpDstPort === 8472).length;
    const rw = join(work, basename(file) + '.rw.pcap');
    await rewriteOuter(file, rw, { src: pair.ipA, dst: pair.ipB, dmac: pair.macB });
    await replay(pair.nsA, pair.ifA, rw);
    await sleep(150);
  }
  await sleep(300);
  const r = await c.stop('SIGINT');
  t.equal(r.code, 0, 'collector exits 0 on SIGINT');
  const want = expected.flatMap((e) => e.frames.map((f) => f.inner!));
  const got = readStore(out);
  t.equal(got.length, want.length, `${want.length} inner frames stored`);
  t.ok(
    got.every((g, i) => g.data.equals(want[i]!)),
    'every stored frame equals the inner frame tshark decodes from the original capture, in order',
  );
  t.ok(got.every((g) => g.capLen === g.wireLen && g.iface.linkType === 1));
  t.same([...new Set(got.map((g) => g.iface.name))].sort(), [`vxlan-vni100-${pair.ipA}`, `vxlan-vni11-${pair.ipA}`, `vxlan-vni37-${pair.ipA}`].sort(), 'one interface per VNI');
  const s = parseSummary(r.stderr);
  t.same(s['vxlan'], { received: datagrams, delivered: want.length, dropped: datagrams - want.length, reasons: s['vxlan']!.reasons });
  t.equal(s['store']!.delivered, want.length);
});

/** A capture of GRE 0x6558 (transparent Ethernet bridging) frames, as Linux gretap sends them; none is in the corpus. */
function gretapCapture(path: string, innerFrames: Buffer[]): void {
  const w = new PcapWriter({ linkType: LINKTYPE.ETHERNET, snapLen: 65535 });
  const parts: Buffer[] = [w.header()];
  innerFrames.forEach((inner, i) => {
    const withKey = i % 3 !== 2;
    const withSum = i % 3 === 1;
    const greLen = 4 + (withSum ? 4 : 0) + (withKey ? 4 : 0) + 4;
    const b = Buffer.alloc(14 + 20 + greLen + inner.length);
    let p = emitEthernet({ dst: '02:00:00:00:00:bb', src: '02:00:00:00:00:aa', etherType: ETHERTYPE.IPV4 }, b, 0);
    p = emitIpv4({ tos: 0, totalLength: 20 + greLen + inner.length, id: i, flags: 2, fragOffset: 0, ttl: 64, proto: 47, src: '192.0.2.1', dst: '192.0.2.2' }, b, p);
    inner.copy(b, p + greLen);
    emitGre({ version: 0, protocol: ETHERTYPE.TEB, ...(withSum ? { checksum: 'compute' as const } : {}), ...(withKey ? { key: 7 } : {}), seq: i }, b, p, { payloadLen: inner.length });
    parts.push(...w.record({ tsSec: 1_764_000_000 + i, tsNsec: 0, capLen: b.length, wireLen: b.length, data: b }));
  });
  writeFileSync(path, Buffer.concat(parts));
}

t.test('real netns veth: corpus ERSPAN I/II/III captures and a gretap capture arrive on the raw GRE socket as tshark\'s inner frames', async (t) => {
  if (!requireCorpus(t)) return;
  const work = tmp(t);
  const gretap = join(work, 'gretap-0x6558.pcap');
  gretapCapture(
    gretap,
    Array.from({ length: 9 }, (_, i) => {
      const f = Buffer.alloc(64 + i * 11, 0x40 + i);
      Buffer.from('0200000000020200000000010800', 'hex').copy(f, 0);
      return f;
    }),
  );
  const files = [
    join(TCPDUMP, 'erspan-type-i-1.pcap'),
    join(TCPDUMP, 'erspan-type-i-2.pcap'),
    join(TCPDUMP, 'erspan-type-i-3.pcap'),
    join(TCPDUMP, 'erspan-type-i-4.pcap'),
    join(TCPDUMP, 'erspan-type-ii-1.pcap'),
    join(TCPDUMP, 'erspan-type-ii-2.pcap'),
    join(TCPDUMP, 'erspan-type-ii-3.pcap'),
    join(TCPDUMP, 'erspan-type-iii-ft-0.pcap'),
    join(SURICATA, 'decode-erspan-typeI-02', 'input.pcap'),
    join(SURICATA, 'bug-5633-gre-02', 'gre-sample.pcap'),
    gretap,
  ];
  const pair = await makeNetnsPair(t, 'psl-tc-gre', 92);
  const out = join(work, 'store');
  const c = await startCollector(t, ['--gre', '--out', out, '--split-by', 'pod'], { netns: pair.nsB });
  const expected: TsharkTunnelFrame[] = [];
  let grePackets = 0;
  let otherProto = 0;
  for (const file of files) {
    const frames = await tsharkTunnelFrames(file);
    const tun = frames.filter((f) => f.tunnel === 'erspan' || f.tunnel === 'gre');
    const gre = frames.filter((f) => f.greProto !== '');
    grePackets += gre.length;
    otherProto += gre.filter((f) => !['0x88be', '0x22eb', '0x6558'].includes(f.greProto)).length;
    const offsets = parserInnerOffsets(file, file === gretap ? LAYER.GRE : LAYER.ERSPAN);
    t.same(
      tun.map((f) => offsets[f.n - 1]),
      tun.map((f) => f.innerOffset),
      `${basename(file)}: ${tun.length} tunnelled frames; podspan's Parser finds each inner frame where tshark does`,
    );
    expected.push(...tun);
    const rw = join(work, basename(file) + '.rw.pcap');
    await rewriteOuter(file, rw, { src: pair.ipA, dst: pair.ipB, dmac: pair.macB });
    await replay(pair.nsA, pair.ifA, rw);
  }
  await sleep(400);
  const r = await c.stop('SIGINT');
  t.equal(r.code, 0, 'collector exits 0 on SIGINT');
  const got = readStore(out);
  t.equal(got.length, expected.length, `${expected.length} inner frames stored`);
  // --split-by pod: one file per session, so compare as multisets, then per file in order.
  const key = (b: Buffer): string => b.toString('hex');
  t.same(got.map((g) => key(g.data)).sort(), expected.map((e) => key(e.inner!)).sort(), 'stored frames = tshark inner frames, byte for byte');
  const names = [...new Set(got.map((g) => g.iface.name ?? ''))].sort();
  t.ok(names.includes(`gre-key7-${pair.ipA}`) && names.includes(`gre-nokey-${pair.ipA}`), 'gretap with and without key');
  t.ok(names.includes(`erspan1-${pair.ipA}`), 'ERSPAN type I');
  t.ok(names.some((n) => n.startsWith('erspan2-session')) && names.some((n) => n.startsWith('erspan3-session')), `ERSPAN II and III sessions: ${names.join(' ')}`);
  const iii = got.filter((g) => g.iface.name?.startsWith('erspan3-') === true);
  t.equal(iii.length, 9);
  t.ok(iii.every((g) => g.comments.length === 1 && /^erspan3 timestamp=\d+ gra=3 \(platform units\)$/.test(g.comments[0]!)), 'ERSPAN III timestamp kept per frame');
  const s = parseSummary(r.stderr);
  t.equal(s['gre']!.received, grePackets, `every GRE packet reached the raw socket (${grePackets})`);
  t.equal(s['gre']!.delivered, expected.length);
  t.same(s['gre']!.reasons, otherProto > 0 ? { unsupported_protocol: otherProto } : {}, `IP-over-GRE counted as unsupported_protocol (${otherProto})`);
  t.equal(s['store']!.delivered, expected.length);
});
