import t from 'tap';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ReceiveClock } from '../../collector/clock.js';
import { Collector } from '../../collector/collector.js';
import type { IngestFrame } from '../../collector/ingest/frame.js';
import { SourceTable, type Source } from '../../collector/ingest/source.js';
import { VXLAN_DROP_REASONS, VxlanDecoder } from '../../collector/ingest/vxlan.js';
import { CollectorMetrics } from '../../collector/metrics.js';
import { buildVxlanHeader } from '../../packet/encap/vxlan.js';
import { readStore, sleep } from './helpers.js';

// VXLAN ingest: the datagram handler fed directly, then a real listener on 127.0.0.1.

// tcpdump -XX of the-tcpdump-group+tcpdump/tests/vxlan.pcap frame 1 (the UDP payload starts
// at 0x2a: VXLAN 0800 0000 0000 6400, then the inner frame):
// 20:21:44.837063 IP 192.168.203.1.45149 > 192.168.202.1.4789: VXLAN, flags [I] (0x08), vni 100
// IP 192.168.203.3 > 192.168.203.5: ICMP echo request, id 1292, seq 1, length 64
// 	0x0000:  0016 3e08 71cf 36dc 851e b340 0800 4500  ..>.q.6....@..E.
// 	0x0010:  0086 d2c0 4000 4011 5152 c0a8 cb01 c0a8  ....@.@.QR......
// 	0x0020:  ca01 b05d 12b5 0072 0000 0800 0000 0000  ...]...r........
// 	0x0030:  6400 0030 8801 0002 0016 3e37 f604 0800  d..0......>7....
// 	0x0040:  4500 0054 0000 4000 4001 234f c0a8 cb03  E..T..@.@.#O....
// 	0x0050:  c0a8 cb05 0800 f6f2 050c 0001 fce2 9751  ...............Q
// 	0x0060:  0000 0000 a6f8 0200 0000 0000 1011 1213  ................
// 	0x0070:  1415 1617 1819 1a1b 1c1d 1e1f 2021 2223  .............!"#
// 	0x0080:  2425 2627 2829 2a2b 2c2d 2e2f 3031 3233  $%&'()*+,-./0123
// 	0x0090:  3435 3637                                4567
const GOLDEN_UDP_PAYLOAD = Buffer.from(
  '0800000000006400' +
    '0030880100020016' + '3e37f60408004500' + '0054000040004001' + '234fc0a8cb03c0a8' + 'cb050800f6f2050c' + '0001fce297510000' +
    '0000a6f802000000' + '0000101112131415' + '161718191a1b1c1d' + '1e1f202122232425' + '262728292a2b2c2d' + '2e2f303132333435' + '3637',
  'hex',
);
const GOLDEN_INNER = { dst: '00:30:88:01:00:02', src: '00:16:3e:37:f6:04', len: 98 };

// tcpdump -XX of OISF+suricata-verify/tests/vxlan-non-zero-reserved-fields/input.pcap frame 1:
// VXLAN header at 0x2a: ff01 d1f2 0000 0b00 = every flag bit set, reserved1 0x01d1f2, VNI 11.
// tcpdump 4.99 misreads it as BCM-LI-SHIM; tshark and Suricata decode VXLAN VNI 11.
const RESERVED_SET_HEADER = Buffer.from('ff01d1f200000b00', 'hex');

function setup(maxSources?: number) {
  const metrics = new CollectorMetrics();
  const stage = metrics.stage('vxlan', VXLAN_DROP_REASONS);
  const got: Array<{ data: Buffer; source: Source; tsSec: number; tsNsec: number }> = [];
  const l = new VxlanDecoder({
    sources: new SourceTable(maxSources),
    stage,
    clock: new ReceiveClock(),
    onFrame: (f: IngestFrame & { source: Source }) => got.push({ data: Buffer.from(f.data), source: f.source, tsSec: f.tsSec, tsNsec: f.tsNsec }),
  });
  return { stage, got, l };
}

t.test('strips VXLAN and yields the inner frame with VNI 100 (tcpdump corpus golden frame)', async (t) => {
  const { stage, got, l } = setup();
  const before = Date.now();
  l.handle(GOLDEN_UDP_PAYLOAD, '192.168.203.1');
  t.equal(got.length, 1);
  const f = got[0]!;
  t.equal(f.data.length, GOLDEN_INNER.len);
  t.equal(f.data.subarray(0, 6).toString('hex').match(/../g)!.join(':'), GOLDEN_INNER.dst);
  t.equal(f.data.subarray(6, 12).toString('hex').match(/../g)!.join(':'), GOLDEN_INNER.src);
  t.same(f.data, GOLDEN_UDP_PAYLOAD.subarray(8));
  t.equal(f.source.name, 'vxlan-vni100-192.168.203.1');
  t.equal(f.source.description, 'vxlan vni 100 from 192.168.203.1');
  t.equal(f.source.podKey, 'vxlan-vni100');
  t.equal(f.source.sourceKey, '192.168.203.1');
  const ms = f.tsSec * 1000 + f.tsNsec / 1e6;
  t.ok(ms >= before - 5 && ms <= Date.now() + 5, 'receive time is now');
  t.ok(stage.balanced());
});

t.test('reserved bits set (Linux, AWS, appliances) are tolerated: VNI 11 from a header of all-ones flags', async (t) => {
  const { got, l } = setup();
  const inner = Buffer.alloc(60, 1);
  inner.writeUInt16BE(0x0800, 12);
  l.handle(Buffer.concat([RESERVED_SET_HEADER, inner]), '192.168.1.134');
  t.equal(got.length, 1);
  t.equal(got[0]!.source.id, 11);
  t.same(got[0]!.data, inner);
});

t.test('AWS VPC Traffic Mirroring layout: VNI = the session virtual network id, same header', async (t) => {
  const { got, l } = setup();
  const inner = Buffer.alloc(74, 2);
  inner.writeUInt16BE(0x86dd, 12);
  l.handle(Buffer.concat([buildVxlanHeader(0xabcdef), inner]), '172.31.5.9');
  t.equal(got[0]!.source.name, 'vxlan-vni11259375-172.31.5.9');
  t.same(got[0]!.data, inner);
});

t.test('garbage on the port is counted per reason and the good datagrams still get through', async (t) => {
  const { stage, got, l } = setup(3);
  const inner = Buffer.alloc(60, 3);
  inner.writeUInt16BE(0x0800, 12);
  const good = Buffer.concat([buildVxlanHeader(42), inner]);
  const llc = Buffer.from(good);
  llc.writeUInt16BE(46, 8 + 12); // an 802.3 length (STP, CDP…) is Ethernet too
  const cases: Array<[string, Buffer, string?]> = [
    ['short', Buffer.alloc(0)],
    ['short', Buffer.from([0x08, 0, 0, 0, 0, 0, 0x2a])],
    ['bad_header', Buffer.concat([Buffer.from('0000000000002a00', 'hex'), inner])],
    ['bad_header', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
    ['short_frame', Buffer.concat([buildVxlanHeader(42), inner.subarray(0, 13)])],
    ['short_frame', buildVxlanHeader(42)],
    ['not_ethernet', Buffer.concat([buildVxlanHeader(42), Buffer.from('0102030405060708090a0b0c05f0', 'hex')])],
    ['', good],
    ['', llc],
    ['', Buffer.concat([buildVxlanHeader(42), Buffer.alloc(65000 - 8, 0x08)]), '10.0.0.2'], // oversized but valid
    ['', Buffer.concat([buildVxlanHeader(43), inner]), '10.0.0.2'],
    ['too_many_sources', Buffer.concat([buildVxlanHeader(44), inner]), '10.0.0.3'],
  ];
  const expected: Record<string, number> = {};
  for (const [reason, msg, from] of cases) {
    l.handle(msg, from ?? '10.0.0.1');
    if (reason !== '') expected[reason] = (expected[reason] ?? 0) + 1;
  }
  for (const r of VXLAN_DROP_REASONS) t.equal(stage.dropped[r], expected[r] ?? 0, `${r} counted`);
  t.equal(got.length, 4, 'good, 802.3-length, oversized and second-source frames stored');
  t.equal(got[2]!.data.length, 65000 - 8);
  t.ok(stage.balanced(), 'received == delivered + Σ dropped');
});

t.test('ReceiveClock: nanosecond, monotonic, close to the wall clock', async (t) => {
  const c = new ReceiveClock();
  const a = { tsSec: 0, tsNsec: 0 };
  const b = { tsSec: 0, tsNsec: 0 };
  c.now(a);
  c.now(b);
  const ns = (x: typeof a): bigint => BigInt(x.tsSec) * 1_000_000_000n + BigInt(x.tsNsec);
  t.ok(ns(b) >= ns(a), 'monotonic');
  t.ok(a.tsNsec >= 0 && a.tsNsec < 1e9);
  t.ok(Math.abs(Number(ns(a) / 1_000_000n) - Date.now()) < 50, 'within 50 ms of Date.now()');
  const seen = new Set<number>();
  for (let i = 0; i < 100; i++) {
    c.now(a);
    seen.add(a.tsNsec % 1_000_000);
  }
  t.ok(seen.size > 1, 'sub-millisecond digits vary (not Date.now() resolution)');
});

t.test('a real listener on 127.0.0.1: two VNIs become two interfaces in the stored file, garbage is counted', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'psl-tc-vx-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const c = await Collector.start({ vxlan: [{ host: '127.0.0.1', port: 0 }], store: { dir, splitBy: 'none' } });
  t.teardown(() => c.stop());
  const port = c.vxlanListeners[0]!.port;
  const frames = Array.from({ length: 20 }, (_, i) => {
    const f = Buffer.alloc(60 + i, i);
    f.writeUInt16BE(0x0800, 12);
    return f;
  });
  const send = (s: dgram.Socket, msg: Buffer[]): Promise<void> => new Promise((res, rej) => s.send(msg, port, '127.0.0.1', (e) => (e ? rej(e) : res())));
  const s1 = dgram.createSocket('udp4');
  const s2 = dgram.createSocket('udp4');
  t.teardown(() => {
    s1.close();
    s2.close();
  });
  for (let i = 0; i < frames.length; i++) await (i % 2 === 0 ? send(s1, [buildVxlanHeader(7), frames[i]!]) : send(s2, [buildVxlanHeader(8), frames[i]!]));
  await send(s1, [Buffer.from('garbage')]);
  const deadline = Date.now() + 5000;
  while (c.metrics.stages[0]!.received < 21 && Date.now() < deadline) await sleep(10);
  const summary = await c.stop();
  const stored = readStore(dir);
  t.equal(stored.length, 20);
  t.ok(stored.every((f, i) => f.data.equals(frames[i]!)), 'bytes and order kept');
  t.same(
    stored.map((f) => f.iface.name),
    frames.map((_, i) => (i % 2 === 0 ? 'vxlan-vni7-127.0.0.1' : 'vxlan-vni8-127.0.0.1')),
    'one interface per (sender, VNI)',
  );
  t.same([...new Set(stored.map((f) => f.iface.description))], ['vxlan vni 7 from 127.0.0.1', 'vxlan vni 8 from 127.0.0.1']);
  t.same(
    summary.stages.map((s) => [s.stage, s.received, s.delivered]),
    [
      ['vxlan', 21, 20],
      ['store', 20, 20],
    ],
  );
  t.equal(summary.stages[0]!.dropped['short'], 1, 'the 7-byte datagram is short');
  t.same(summary.invariantViolations, []);
});
