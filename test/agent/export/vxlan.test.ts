import t from 'tap';
import { createSocket } from 'node:dgram';

import { VXLAN_MAX_INNER, VxlanExporter, parseVxlanUrl } from '../../../agent/export/vxlan.js';
import { buildVxlanHeader } from '../../../packet/encap/vxlan.js';
import { Segmenter } from '../../../packet/segment/segmenter.js';
import { pattern, superFrame } from '../../packet/segment/superframes.js';

// The exporter against a UDP socket on 127.0.0.1.

async function receiver(t: { teardown(fn: () => unknown): void }): Promise<{ port: number; got: Buffer[] }> {
  const s = createSocket('udp4');
  const got: Buffer[] = [];
  s.on('message', (m) => got.push(m));
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => s.close());
  return { port: s.address().port, got };
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 100));

t.test('parseVxlanUrl', async (t) => {
  const shape = { oversize: 'segment', mtu: 1500, truncate: undefined };
  t.same(parseVxlanUrl('vxlan://10.0.0.9?vni=7'), { url: 'vxlan://10.0.0.9?vni=7', host: '10.0.0.9', port: 4789, vni: 7, shape });
  t.same(parseVxlanUrl('vxlan://[fd00::1]:8472?vni=0'), { url: 'vxlan://[fd00::1]:8472?vni=0', host: 'fd00::1', port: 8472, vni: 0, shape });
  t.same(parseVxlanUrl('vxlan://h?vni=1&oversize=truncate&mtu=9000&truncate=128').shape, { oversize: 'truncate', mtu: 9000, truncate: 128 });
  t.throws(() => parseVxlanUrl('vxlan://h?vni=1&oversize=drop'), /oversize wants segment or truncate/);
  t.throws(() => parseVxlanUrl('vxlan://h?vni=1&mtu=40'), /mtu wants an integer 68\.\.65535/);
  t.throws(() => parseVxlanUrl('vxlan://h?vni=1&truncate=10'), /truncate wants an integer 14\.\./);
  t.throws(() => parseVxlanUrl('vxlan://10.0.0.9'), /say which VNI/);
  t.throws(() => parseVxlanUrl('vxlan://10.0.0.9?vni=16777216'), /vni wants/);
  t.throws(() => parseVxlanUrl('vxlan://10.0.0.9?vni=1&x=2'), /unknown parameter "x"/);
});

t.test('one datagram per frame: VXLAN header (I flag, VNI) + the frame, in order', async (t) => {
  const r = await receiver(t);
  const x = await VxlanExporter.open(parseVxlanUrl(`vxlan://127.0.0.1:${r.port}?vni=42&mtu=9000`));
  const frames = [Buffer.alloc(60, 1), Buffer.alloc(1500, 2), Buffer.alloc(9000, 3)];
  const data = Buffer.concat(frames);
  const meta = new Float64Array([0, 60, 60, 0, 0, 60, 1500, 1500, 0, 0, 1560, 9000, 9000, 0, 0]);
  x.exportBatch({ data, meta }, 3);
  data.fill(0); // the exporter copied what it sends
  await x.close();
  await settle();
  t.same(r.got.map((b) => b.toString('hex')), frames.map((f) => Buffer.concat([buildVxlanHeader(42), f]).toString('hex')));
  t.same(x.counters, { exported: 3, export_truncated: 0, export_segmented: 0, export_segments: 0, export_queue_full: 0, export_send_error: 0 });
});

t.test('bounded: frames beyond the queue cap are dropped and counted; oversize frames truncated and counted', async (t) => {
  const r = await receiver(t);
  const x = await VxlanExporter.open(parseVxlanUrl(`vxlan://127.0.0.1:${r.port}?vni=1`), { queueBytes: 3000, native: false }); // the node:dgram queue
  const big = Buffer.alloc(1000, 9);
  for (let i = 0; i < 10; i++) x.exportFrame(big, 0, 1000); // synchronous: nothing completed yet
  t.equal(x.counters.export_queue_full, 7, 'three fit in 3000 bytes, seven dropped');
  await x.close();
  const y = await VxlanExporter.open(parseVxlanUrl(`vxlan://127.0.0.1:${r.port}?vni=1&mtu=65535`));
  const huge = Buffer.alloc(65535, 5);
  y.exportFrame(huge, 0, huge.length);
  await y.close();
  await settle();
  t.equal(x.counters.exported, 3);
  t.same(y.counters, { exported: 1, export_truncated: 1, export_segmented: 0, export_segments: 0, export_queue_full: 0, export_send_error: 0 });
  t.equal(r.got.at(-1)!.length, 8 + VXLAN_MAX_INNER, 'truncated to what one datagram carries (65507 bytes of UDP payload)');
});

t.test('a GSO super-frame goes out as MSS-sized segments (oversize=segment, mtu 1500), counted once as exported', async (t) => {
  const r = await receiver(t);
  const x = await VxlanExporter.open(parseVxlanUrl(`vxlan://127.0.0.1:${r.port}?vni=5`));
  const big = superFrame({ payload: pattern(10_000), flags: 0x19 });
  const small = superFrame({ payload: pattern(10) });
  const data = Buffer.concat([small, big]);
  x.exportFrame(data, 0, small.length);
  x.exportFrame(data, small.length, big.length);
  data.fill(0);
  await x.close();
  await settle();
  const s = new Segmenter();
  s.planFrame(big, big.length, big.length, 1500);
  const segs = Array.from({ length: s.count }, (_, i) => {
    const b = Buffer.alloc(s.frameLen(i));
    s.write(big, i, b, 0);
    return b;
  });
  t.equal(segs.length, 7);
  t.same(r.got.map((b) => b.subarray(8).toString('hex')), [small, ...segs].map((f) => f.toString('hex')), 'the small frame, then the segments in order');
  t.ok(r.got.every((b) => b.length <= 8 + 1514));
  t.same(x.counters, { exported: 2, export_truncated: 0, export_segmented: 1, export_segments: 7, export_queue_full: 0, export_send_error: 0 });
});

t.test('truncate=N cuts every frame and segment; oversize=truncate cuts the super-frame to 14 + mtu', async (t) => {
  const r = await receiver(t);
  const big = superFrame({ payload: pattern(10_000) });
  const x = await VxlanExporter.open(parseVxlanUrl(`vxlan://127.0.0.1:${r.port}?vni=5&truncate=100`));
  x.exportFrame(big, 0, big.length);
  await x.close();
  const y = await VxlanExporter.open(parseVxlanUrl(`vxlan://127.0.0.1:${r.port}?vni=5&oversize=truncate&mtu=9000`));
  y.exportFrame(big, 0, big.length);
  await y.close();
  await settle();
  t.same(r.got.map((b) => b.length - 8), [100, 100, 100, 100, 100, 100, 100, 9014]);
  t.same(x.counters, { exported: 1, export_truncated: 1, export_segmented: 1, export_segments: 7, export_queue_full: 0, export_send_error: 0 });
  t.same(y.counters, { exported: 1, export_truncated: 1, export_segmented: 0, export_segments: 0, export_queue_full: 0, export_send_error: 0 });
  t.same(r.got.at(-1)!.subarray(8), big.subarray(0, 9014));
});
