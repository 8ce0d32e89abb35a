import t from 'tap';
import dgram from 'node:dgram';

import { UdpBatchSender } from '../../../agent/export/udp-batch-sender.js';
import { FrameShaper, DEFAULT_EXPORT_MTU } from '../../../agent/export/frame-shaper.js';
import { CAPTURE_META, CAPTURE_META_COLS } from '../../../native/index.js';
import { buildVxlanHeader } from '../../../packet/encap/vxlan.js';
import { pattern, superFrame } from '../../packet/segment/superframes.js';

// The batched VXLAN send path against node:dgram as the receiving oracle, on 127.0.0.1.

const VXLAN_MAX_INNER = 65507 - 8;

function captureBatch(frames: Buffer[]): { data: Buffer; meta: Float64Array } {
  const total = frames.reduce((n, f) => n + f.length, 0);
  const data = Buffer.alloc(total + 10, 0xa5);
  const meta = new Float64Array(frames.length * CAPTURE_META_COLS);
  let off = 10;
  frames.forEach((f, i) => {
    f.copy(data, off);
    meta[i * CAPTURE_META_COLS + CAPTURE_META.OFFSET] = off;
    meta[i * CAPTURE_META_COLS + CAPTURE_META.CAP_LEN] = f.length;
    meta[i * CAPTURE_META_COLS + CAPTURE_META.WIRE_LEN] = f.length;
    off += f.length;
  });
  return { data, meta };
}

async function oracle(t: { teardown(fn: () => unknown): void }): Promise<{ port: number; got: Buffer[] }> {
  const sock = dgram.createSocket('udp4');
  const got: Buffer[] = [];
  sock.on('message', (m) => got.push(m));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  sock.setRecvBufferSize(4 * 1024 * 1024);
  t.teardown(() => new Promise<void>((r) => sock.close(() => r())));
  return { port: sock.address().port, got };
}

async function waitFor(cond: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

t.test('a capture batch goes out as [VXLAN header, frame] datagrams in order, one native call', async (t) => {
  const { port, got } = await oracle(t);
  const header = buildVxlanHeader(42);
  const tx = await UdpBatchSender.open({ host: '127.0.0.1', port, header, maxFrame: VXLAN_MAX_INNER });
  t.teardown(() => tx.close());
  const frames = Array.from({ length: 500 }, (_, i) => pattern(60 + (i % 900), i));
  const { data, meta } = captureBatch(frames);
  tx.exportBatch({ data, meta }, frames.length);
  t.equal(tx.flushes, 1, 'one native call for the batch');
  t.equal(tx.syscalls, 1, 'one sendmmsg');
  t.same(tx.counters, { exported: 500, export_truncated: 0, export_segmented: 0, export_segments: 0, export_queue_full: 0, export_send_error: 0 });
  await waitFor(() => got.length >= 500);
  t.equal(got.length, 500);
  t.equal(got.findIndex((g, i) => !g.equals(Buffer.concat([header, frames[i]!]))), -1, 'same bytes, same order');
  await tx.close();
  await tx.close();
  tx.exportBatch({ data, meta }, 1);
  t.equal(tx.counters.exported, 500, 'nothing is sent after close');
});

t.test('with the frame shaper: truncate=N cuts and counts; super-frames are segmented in order between direct frames', async (t) => {
  const { port, got } = await oracle(t);
  const header = buildVxlanHeader(7);
  const counters = { exported: 0, export_truncated: 0, export_segmented: 0, export_segments: 0, export_queue_full: 0, export_send_error: 0 };
  const opts = { oversize: 'segment' as const, mtu: DEFAULT_EXPORT_MTU, truncate: undefined };
  const shaper = new FrameShaper(opts, VXLAN_MAX_INNER);
  const tx = await UdpBatchSender.open({ host: '127.0.0.1', port, header, maxFrame: VXLAN_MAX_INNER, shaper, counters });
  t.teardown(() => tx.close());
  const small = pattern(100, 1);
  const big = superFrame({ payload: pattern(10_000, 2) });
  const frames = [small, big, small, big, big, small];
  const { data, meta } = captureBatch(frames);

  // The expected datagrams: what a second shaper writes, frame by frame.
  const ref = new FrameShaper(opts, VXLAN_MAX_INNER);
  const expected: Buffer[] = [];
  let segments = 0;
  for (const f of frames) {
    const n = ref.begin(f, 0, f.length, f.length);
    if (ref.direct) expected.push(Buffer.concat([header, f.subarray(0, ref.directLen)]));
    else {
      for (let k = 0; k < n; k++) {
        const len = ref.write(k);
        expected.push(Buffer.concat([header, ref.scratch.subarray(0, len)]));
        segments++;
      }
    }
  }
  t.ok(segments >= 3 * 7, `each super-frame becomes ${segments / 3} segments`);
  tx.exportBatch({ data, meta }, frames.length);
  t.same(counters, { exported: 6, export_truncated: 0, export_segmented: 3, export_segments: segments, export_queue_full: 0, export_send_error: 0 });
  await waitFor(() => got.length >= expected.length);
  t.equal(got.length, expected.length);
  t.equal(got.findIndex((g, i) => !g.equals(expected[i]!)), -1, 'every datagram as the shaper wrote it, in capture order');

  const cut = new FrameShaper({ oversize: 'segment', mtu: DEFAULT_EXPORT_MTU, truncate: 64 }, VXLAN_MAX_INNER);
  const c2 = { exported: 0, export_truncated: 0, export_segmented: 0, export_segments: 0, export_queue_full: 0, export_send_error: 0 };
  const tx2 = await UdpBatchSender.open({ host: '127.0.0.1', port, header, maxFrame: VXLAN_MAX_INNER, shaper: cut, counters: c2 });
  t.teardown(() => tx2.close());
  const before = got.length;
  const b2 = captureBatch([small, pattern(50, 3)]);
  tx2.exportBatch(b2, 2);
  t.equal(c2.exported, 2);
  t.equal(c2.export_truncated, 1, 'the 100-byte frame went out as 64');
  await waitFor(() => got.length >= before + 2);
  t.same(got.slice(before).map((g) => g.length), [8 + 64, 8 + 50]);
});

t.test('without a shaper, frames over maxFrame are cut and counted', async (t) => {
  const { port, got } = await oracle(t);
  const tx = await UdpBatchSender.open({ host: '127.0.0.1', port, header: Buffer.alloc(8), maxFrame: 1000 });
  t.teardown(() => tx.close());
  const { data, meta } = captureBatch([pattern(2000), pattern(500)]);
  tx.exportBatch({ data, meta }, 2);
  t.equal(tx.counters.exported, 2);
  t.equal(tx.counters.export_truncated, 1);
  await waitFor(() => got.length >= 2);
  t.same(got.map((g) => g.length), [1008, 508]);
});

t.test('a destination that is not listening: frames still count as exported, never thrown', async (t) => {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  const tx = await UdpBatchSender.open({ host: 'localhost', port, header: Buffer.alloc(8), maxFrame: VXLAN_MAX_INNER });
  t.teardown(() => tx.close());
  const { data, meta } = captureBatch(Array.from({ length: 20 }, (_, i) => pattern(80, i)));
  for (let i = 0; i < 5; i++) tx.exportBatch({ data, meta }, 20);
  const c = tx.counters;
  t.equal(c.exported + c.export_queue_full + c.export_send_error, 100, 'every frame counted once');
  t.equal(c.exported, 100, 'ICMP port unreachable is retried, not a drop (UDP has no delivery guarantee anyway)');
});
