import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { GRE_DROP_REASONS, GreDecoder } from '../../collector/ingest/gre.js';
import type { IngestFrame } from '../../collector/ingest/frame.js';
import { SourceTable, type Source } from '../../collector/ingest/source.js';
import { CollectorMetrics } from '../../collector/metrics.js';
import { CapfileReader } from '../../packet/capfile/reader.js';
import { Parser } from '../../packet/decode/parser.js';
import { LAYER } from '../../packet/decode/layers.js';
import { ErspanTemplate } from '../../packet/encap/erspan.js';
import { GreTemplate } from '../../packet/encap/gre.js';
import { emitErspan3, ERSPAN_FT, ERSPAN_VERSION } from '../../packet/wire/erspan.js';
import { ETHERTYPE } from '../../packet/wire/ethernet.js';
import { emitGre } from '../../packet/wire/gre.js';
import { emitIpv4 } from '../../packet/wire/ipv4.js';
import { LINKTYPE } from '../../packet/wire/link-type.js';
import { CORPUS_DIR, requireCorpus } from '../helpers/corpus.js';

// GreDecoder fed directly (no socket, no root): synthetic packets built with podspan's own
// encapsulation builders (what agents send), hostile variants, and the corpus ERSPAN frames.

const SRC = 0x0a000005; // 10.0.0.5

interface Got {
  data: Buffer;
  source: Source;
  erspanTimestamp: number;
  erspanGra: number;
  tsSec: number;
  tsNsec: number;
}

function setup(maxSources?: number) {
  const metrics = new CollectorMetrics();
  const stage = metrics.stage('gre', GRE_DROP_REASONS);
  const got: Got[] = [];
  const dec = new GreDecoder({
    sources: new SourceTable(maxSources),
    stage,
    onFrame: (f: IngestFrame & { source: Source }) => {
      got.push({ data: Buffer.from(f.data), source: f.source, erspanTimestamp: f.erspanTimestamp, erspanGra: f.erspanGra, tsSec: f.tsSec, tsNsec: f.tsNsec });
    },
  });
  return { stage, got, dec };
}

/** An inner Ethernet frame: dst 02:00:00:00:00:02, src 02:00:00:00:00:01, IPv4 type, `n` filler bytes. */
function innerFrame(n: number, fill = 0x5a): Buffer {
  const b = Buffer.alloc(14 + n, fill);
  Buffer.from('020000000002020000000001', 'hex').copy(b, 0);
  b.writeUInt16BE(ETHERTYPE.IPV4, 12);
  return b;
}

/** IPv4 header (protocol 47, 10.0.0.5 -> 10.0.0.9) in front of `payload`. */
function ipPacket(payload: Buffer): Buffer {
  const b = Buffer.alloc(20 + payload.length);
  emitIpv4({ tos: 0, totalLength: b.length, id: 1, flags: 2, fragOffset: 0, ttl: 64, proto: 47, src: '10.0.0.5', dst: '10.0.0.9' }, b, 0);
  payload.copy(b, 20);
  return b;
}

function feed(dec: GreDecoder, pkt: Buffer, off = 0, len = pkt.length - off): void {
  dec.handleSafe(pkt, off, len, SRC, 1_700_000_000, 123_456_789);
}

t.test('strips GRE 0x6558 with key 7 and sequence number and yields the inner frame (agent gre://H?key=7)', async (t) => {
  const { stage, got, dec } = setup();
  const tpl = new GreTemplate({ key: 7, seq: true });
  tpl.setSeq(41);
  const frame = innerFrame(50);
  feed(dec, ipPacket(Buffer.concat([tpl.header, frame])));
  t.equal(got.length, 1);
  t.same(got[0]!.data, frame);
  t.equal(got[0]!.source.name, 'gre-key7-10.0.0.5');
  t.equal(got[0]!.source.description, 'gre (transparent ethernet bridging) key 7 from 10.0.0.5');
  t.equal(got[0]!.tsSec, 1_700_000_000, 'kernel receive time kept');
  t.equal(got[0]!.tsNsec, 123_456_789);
  t.equal(got[0]!.erspanTimestamp, -1);
  t.equal(stage.delivered, 1);
  t.ok(stage.balanced());
});

t.test('GRE 0x6558 without key is one source per sender; with a checksum it is verified', async (t) => {
  const { stage, got, dec } = setup();
  const frame = innerFrame(47, 0x11); // odd length: the checksum pads the last byte
  feed(dec, ipPacket(Buffer.concat([new GreTemplate().header, frame])));
  const hdr = Buffer.alloc(12);
  const withSum = Buffer.concat([hdr, frame]);
  emitGre({ version: 0, protocol: ETHERTYPE.TEB, checksum: 'compute', key: 9 }, withSum, 0, { payloadLen: frame.length });
  feed(dec, ipPacket(withSum));
  const bad = Buffer.from(withSum);
  bad.writeUInt16BE(bad.readUInt16BE(4) ^ 0x0101, 4);
  feed(dec, ipPacket(bad));
  t.same(got.map((g) => g.source.name), ['gre-nokey-10.0.0.5', 'gre-key9-10.0.0.5'], 'key read after the checksum word');
  t.ok(got.every((g) => g.data.equals(frame)));
  t.equal(stage.dropped.bad_checksum, 1, 'corrupted checksum counted');
  t.ok(stage.balanced());
});

t.test('ERSPAN type II (agent erspan://H?session=100&version=2) yields the frame with session 100', async (t) => {
  const { got, dec, stage } = setup();
  const tpl = new ErspanTemplate({ version: 2, sessionId: 100 });
  tpl.setSeq(5);
  tpl.setIndex(3);
  const frame = innerFrame(60);
  feed(dec, ipPacket(Buffer.concat([tpl.header, frame])));
  t.equal(got.length, 1);
  t.same(got[0]!.data, frame);
  t.equal(got[0]!.source.name, 'erspan2-session100-10.0.0.5');
  t.equal(got[0]!.source.description, 'erspan type II session 100 from 10.0.0.5');
  t.ok(stage.balanced());
});

t.test('ERSPAN type III keeps the header timestamp and its granularity as metadata', async (t) => {
  const { got, dec } = setup();
  const tpl = new ErspanTemplate({ version: 3, sessionId: 5, gra: 0 });
  tpl.setTimestamp(0xdeadbeef);
  const frame = innerFrame(30);
  feed(dec, ipPacket(Buffer.concat([tpl.header, frame])));
  // With the 8-byte platform subheader (O flag).
  const h = Buffer.alloc(8 + 20);
  emitGre({ version: 0, protocol: ETHERTYPE.ERSPAN_III, seq: 1 }, h, 0);
  emitErspan3({ version: ERSPAN_VERSION.III, vlan: 0, cos: 0, bso: 0, t: 0, sessionId: 6, timestamp: 77, sgt: 0, p: 0, ft: ERSPAN_FT.ETHERNET, hwId: 1, d: 0, gra: 1, platform: { id: 3, infoHi: 1, infoLo: 2 } }, h, 8);
  feed(dec, ipPacket(Buffer.concat([h, frame])));
  t.equal(got.length, 2);
  t.same(got[0]!.data, frame);
  t.equal(got[0]!.erspanTimestamp, 0xdeadbeef);
  t.equal(got[0]!.erspanGra, 0, 'Gra 0: 100 µs units (Linux)');
  t.equal(got[0]!.source.name, 'erspan3-session5-10.0.0.5');
  t.same(got[1]!.data, frame, 'platform subheader skipped');
  t.equal(got[1]!.erspanTimestamp, 77);
  t.equal(got[1]!.erspanGra, 1);
});

t.test('hostile GRE: wrong lengths, versions and types are counted per reason and survived', async (t) => {
  const { stage, got, dec } = setup();
  const frame = innerFrame(40);
  const teb = Buffer.concat([new GreTemplate({ key: 1 }).header, frame]);
  const cases: Array<[string, Buffer, number?]> = [];
  // IPv4 header damage.
  const v6 = ipPacket(teb);
  v6.writeUInt8(0x65, 0);
  cases.push(['bad_ip_header', v6]);
  const ihl3 = ipPacket(teb);
  ihl3.writeUInt8(0x43, 0);
  cases.push(['bad_ip_header', ihl3]);
  const longer = ipPacket(teb);
  longer.writeUInt16BE(longer.length + 10, 2);
  cases.push(['bad_ip_header', longer]);
  cases.push(['bad_ip_header', Buffer.alloc(12)]);
  // GRE header cut.
  cases.push(['short', ipPacket(Buffer.from([0x00]))]);
  cases.push(['short', ipPacket(Buffer.from([0x20, 0x00, 0x65, 0x58, 0x00]))]); // K set, key cut
  cases.push(['short', ipPacket(Buffer.concat([new ErspanTemplate({ version: 2, sessionId: 1 }).header.subarray(0, 12)]))]);
  cases.push(['short', ipPacket(Buffer.concat([new ErspanTemplate({ version: 3, sessionId: 1 }).header.subarray(0, 15)]))]);
  const o = Buffer.alloc(8 + 12);
  emitGre({ version: 0, protocol: ETHERTYPE.ERSPAN_III, seq: 1 }, o, 0);
  emitErspan3({ version: 2, vlan: 0, cos: 0, bso: 0, t: 0, sessionId: 6, timestamp: 0, sgt: 0, p: 0, ft: 0, hwId: 0, d: 0, gra: 0 }, o, 8);
  o.writeUInt16BE(o.readUInt16BE(18) | 1, 18); // O set, subheader missing
  cases.push(['short', ipPacket(o)]);
  // Versions, routing, protocol types.
  cases.push(['unsupported_header', ipPacket(Buffer.concat([Buffer.from([0x30, 0x01, 0x88, 0x0b, 0, 0, 0, 0, 0, 0, 0, 0]), frame]))]);
  cases.push(['unsupported_header', ipPacket(Buffer.concat([Buffer.from([0x40, 0x00, 0x65, 0x58, 0, 0, 0, 0, 0, 0, 0, 0]), frame]))]);
  cases.push(['unsupported_protocol', ipPacket(Buffer.concat([Buffer.from([0x00, 0x00, 0x08, 0x00]), frame.subarray(14)]))]);
  const e2 = new ErspanTemplate({ version: 2, sessionId: 1 });
  e2.header.writeUInt8(0x20, 8); // Ver 2 in a type II header
  cases.push(['bad_erspan_version', ipPacket(Buffer.concat([e2.header, frame]))]);
  const e3 = new ErspanTemplate({ version: 3, sessionId: 1 });
  e3.header.writeUInt8(0x10, 8); // Ver 1 in a type III header
  cases.push(['bad_erspan_version', ipPacket(Buffer.concat([e3.header, frame]))]);
  const ft2 = Buffer.alloc(8 + 12);
  emitGre({ version: 0, protocol: ETHERTYPE.ERSPAN_III, seq: 1 }, ft2, 0);
  emitErspan3({ version: 2, vlan: 0, cos: 0, bso: 0, t: 0, sessionId: 6, timestamp: 0, sgt: 0, p: 0, ft: ERSPAN_FT.IP, hwId: 0, d: 0, gra: 0 }, ft2, 8);
  cases.push(['not_ethernet', ipPacket(Buffer.concat([ft2, frame.subarray(14)]))]);
  const typeGap = Buffer.from(teb);
  typeGap.writeUInt16BE(1520, 8 + 12); // neither an 802.3 length nor an EtherType
  cases.push(['not_ethernet', ipPacket(typeGap)]);
  cases.push(['short_frame', ipPacket(Buffer.concat([new GreTemplate().header, frame.subarray(0, 13)]))]);
  // A good one among them, and one cut by `len` (the row's length) rather than by the IP header.
  cases.push(['', ipPacket(teb)]);
  const expected: Record<string, number> = {};
  for (const [reason, pkt, len] of cases) {
    feed(dec, pkt, 0, len);
    if (reason !== '') expected[reason] = (expected[reason] ?? 0) + 1;
  }
  for (const r of GRE_DROP_REASONS) t.equal(stage.dropped[r], expected[r] ?? 0, `${r} counted`);
  t.equal(got.length, 1, 'the good packet still stored');
  t.same(got[0]!.data, frame);
  t.equal(stage.received, cases.length);
  t.ok(stage.balanced(), 'received == delivered + Σ dropped');
});

t.test('the source table is capped: new sources past it count too_many_sources', async (t) => {
  const { stage, got, dec } = setup(2);
  const frame = innerFrame(20);
  for (const key of [1, 2, 3, 1]) feed(dec, ipPacket(Buffer.concat([new GreTemplate({ key }).header, frame])));
  t.same(got.map((g) => g.source.id), [1, 2, 1]);
  t.equal(stage.dropped.too_many_sources, 1);
  t.ok(stage.balanced());
});

t.test('a sink that throws is counted as decoder_bug once and the batch goes on', async (t) => {
  const metrics = new CollectorMetrics();
  const stage = metrics.stage('gre', GRE_DROP_REASONS);
  let n = 0;
  const dec = new GreDecoder({
    sources: new SourceTable(),
    stage,
    onFrame: () => {
      n++;
      if (n === 1) throw new Error('boom');
    },
  });
  const pkt = ipPacket(Buffer.concat([new GreTemplate().header, innerFrame(20)]));
  const data = Buffer.concat([pkt, pkt]);
  const meta = new Float64Array([0, pkt.length, SRC, 1, 0, pkt.length, pkt.length, SRC, 1, 0]);
  dec.handleBatch({ count: 2, data, meta });
  t.equal(n, 2, 'second packet of the batch handled');
  t.equal(stage.received, 2);
  // The first was delivered before the sink threw: it is not counted twice.
  t.equal(stage.delivered, 2);
  t.equal(stage.dropped.decoder_bug, 0);
  t.ok(stage.balanced());
  t.match(String(dec.lastBug), /boom/);
});

t.test('random mutations of valid packets never throw and keep the counters balanced (time-boxed)', async (t) => {
  const { stage, dec } = setup(64);
  const seeds = [
    ipPacket(Buffer.concat([new GreTemplate({ key: 3, seq: true }).header, innerFrame(30)])),
    ipPacket(Buffer.concat([new ErspanTemplate({ version: 2, sessionId: 9 }).header, innerFrame(30)])),
    ipPacket(Buffer.concat([new ErspanTemplate({ version: 3, sessionId: 9 }).header, innerFrame(30)])),
  ];
  let x = 12345;
  const rnd = (n: number): number => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x % n;
  };
  const end = Date.now() + 1500;
  let runs = 0;
  while (Date.now() < end) {
    const base = seeds[rnd(seeds.length)]!;
    const p = Buffer.from(base.subarray(0, 1 + rnd(base.length)));
    for (let k = rnd(6); k > 0; k--) p.writeUInt8(rnd(256), rnd(p.length));
    try {
      dec.handlePacket(p, 0, p.length, SRC, 1, 0);
    } catch (e) {
      t.fail(`threw on ${p.toString('hex')}: ${String(e)}`);
      break;
    }
    runs++;
  }
  t.ok(runs > 1000, `${runs} packets`);
  t.equal(stage.received, runs);
  t.ok(stage.balanced());
});

t.test('corpus ERSPAN I/II/III frames: GreDecoder and Parser agree on the inner frame', async (t) => {
  if (!requireCorpus(t)) return;
  const files = [
    'erspan-type-i-1.pcap',
    'erspan-type-i-3.pcap',
    'erspan-type-i-4.pcap',
    'erspan-type-ii-1.pcap',
    'erspan-type-ii-2.pcap',
    'erspan-type-ii-3.pcap',
    'erspan-type-iii-ft-0.pcap',
  ].map((f) => join(CORPUS_DIR, 'the-tcpdump-group+tcpdump', 'tests', f));
  const parser = new Parser();
  for (const file of files) {
    const { stage, got, dec } = setup();
    const reader = new CapfileReader();
    reader.push(readFileSync(file));
    reader.end();
    const expected: Array<{ inner: Buffer; id: number; version: number }> = [];
    let gre = 0;
    for (let r = reader.next(); r !== null; r = reader.next()) {
      if (r.data.readUInt16BE(12) !== ETHERTYPE.IPV4 || r.data.readUInt8(14 + 9) !== 47) continue;
      gre++;
      parser.decode(r.data, LINKTYPE.ETHERNET, r.wireLen);
      // The Parser records GRE and then ERSPAN as two tunnel slots.
      const tun = parser.tunnels.slice(0, parser.tunnelCount).find((x) => x.type === LAYER.ERSPAN);
      const ipLen = r.data.readUInt16BE(16);
      if (tun !== undefined) expected.push({ inner: Buffer.from(r.data.subarray(tun.innerOffset, 14 + ipLen)), id: tun.id, version: tun.version });
      dec.handleSafe(r.data, 14, ipLen, SRC, r.tsSec, r.tsNsec);
    }
    const name = file.split('/').pop();
    t.equal(got.length, expected.length, `${name}: ${expected.length} ERSPAN frames of ${gre} GRE packets`);
    t.ok(got.length > 0 && got.every((g, i) => g.data.equals(expected[i]?.inner ?? Buffer.alloc(0))), `${name}: inner bytes equal the Parser's`);
    t.ok(got.every((g, i) => g.source.version === expected[i]?.version && g.source.id === expected[i]?.id), `${name}: ERSPAN type and session equal the Parser's`);
    t.ok(stage.balanced(), `${name}: balanced`);
    if (name === 'erspan-type-i-4.pcap') t.equal(stage.dropped.unsupported_protocol, 8, 'IP over GRE (0x0800) counted, not stored');
    if (name === 'erspan-type-iii-ft-0.pcap') {
      // tshark: "Timestamp: 2740542463", "Timestamp granularity: Custom granularity (3)".
      t.equal(got[0]!.erspanTimestamp, 2740542463);
      t.equal(got[0]!.erspanGra, 3);
    }
  }
});
