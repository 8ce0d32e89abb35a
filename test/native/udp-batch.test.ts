import t from 'tap';
import { execFileSync } from 'node:child_process';
import { constants } from 'node:os';
import {
  CAPTURE_META,
  CAPTURE_META_COLS,
  UDP_ADDR_BYTES,
  UDP_RECV_META,
  UDP_RECV_META_COLS,
  UdpBatchSocket,
  ipv4ToUint32,
  type UdpRecvBatch,
} from '../../native/index.js';

// Real UDP on the loopback interface: datagrams sent in batches with sendmmsg (a shared
// header + frame slices of one batch Buffer), received by the recvmmsg thread.

interface Got {
  payload: Buffer;
  family: number;
  srcAddr: number;
  srcPort: number;
  tsSec: number;
  tsNsec: number;
  addr6: Buffer;
}

/** A capture-shaped batch: frame i is `len(i)` bytes of a pattern seeded by i. */
function makeBatch(n: number, len: (i: number) => number): { data: Buffer; meta: Float64Array; frames: Buffer[] } {
  let total = 0;
  for (let i = 0; i < n; i++) total += len(i);
  const data = Buffer.alloc(total + 10, 0xa5);
  const meta = new Float64Array(n * CAPTURE_META_COLS);
  const frames: Buffer[] = [];
  let off = 10; // not at offset 0 of the Buffer
  for (let i = 0; i < n; i++) {
    const l = len(i);
    for (let k = 0; k < l; k++) data[off + k] = (i * 7 + k) & 0xff;
    const r = i * CAPTURE_META_COLS;
    meta[r + CAPTURE_META.OFFSET] = off;
    meta[r + CAPTURE_META.CAP_LEN] = l;
    meta[r + CAPTURE_META.WIRE_LEN] = l;
    frames.push(data.subarray(off, off + l));
    off += l;
  }
  return { data, meta, frames };
}

function collect(b: UdpRecvBatch, into: Got[]): void {
  for (let i = 0; i < b.count; i++) {
    const r = i * UDP_RECV_META_COLS;
    const off = b.meta[r + UDP_RECV_META.OFFSET]!;
    const len = b.meta[r + UDP_RECV_META.LEN]!;
    into.push({
      payload: Buffer.from(b.data.subarray(off, off + len)),
      family: b.meta[r + UDP_RECV_META.FAMILY]!,
      srcAddr: b.meta[r + UDP_RECV_META.SRC_ADDR]!,
      srcPort: b.meta[r + UDP_RECV_META.SRC_PORT]!,
      tsSec: b.meta[r + UDP_RECV_META.TS_SEC]!,
      tsNsec: b.meta[r + UDP_RECV_META.TS_NSEC]!,
      addr6: Buffer.from(b.addr.subarray(i * UDP_ADDR_BYTES, (i + 1) * UDP_ADDR_BYTES)),
    });
  }
}

async function waitFor(cond: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

t.test('sends N datagrams [header, frame] in batches and receives N identical ones in order, with kernel timestamps', async (t) => {
  const rx = UdpBatchSocket.open({ bindAddress: '127.0.0.1', rcvBufBytes: 4 * 1024 * 1024 });
  t.teardown(() => rx.close());
  t.ok(rx.localPort > 0, `bound to port ${rx.localPort}`);
  t.equal(rx.family, 4);
  const got: Got[] = [];
  rx.onBatch((b) => collect(b, got)).start();
  const tx = UdpBatchSocket.open({ remoteAddress: '127.0.0.1', remotePort: rx.localPort });
  t.teardown(() => tx.close());

  const N = 3000;
  const header = Buffer.from([0x08, 0, 0, 0, 0, 0, 42, 0]);
  const { data, meta, frames } = makeBatch(N, (i) => 14 + (i % 200));
  const before = Date.now() / 1000;
  let sent = 0;
  let syscalls = 0;
  // In pieces (as capture batches arrive), so the receive buffer never overflows.
  for (let first = 0; first < N; first += 500) {
    const r = tx.sendBatch(header, data, meta, { first, count: Math.min(500, N - first) });
    t.equal(r.error, undefined);
    t.equal(r.busy, false);
    t.equal(r.next, Math.min(first + 500, N));
    sent += r.sent;
    syscalls += r.syscalls;
    await waitFor(() => got.length >= sent);
  }
  const after = Date.now() / 1000;
  t.equal(sent, N, 'the kernel took every datagram');
  t.ok(syscalls <= N / 500, `one sendmmsg per batch of 500 (${syscalls} calls)`);
  await waitFor(() => got.length >= N);
  t.equal(got.length, N, 'every datagram received');
  const wrong = got.findIndex((g, i) => !g.payload.equals(Buffer.concat([header, frames[i]!])));
  t.equal(wrong, -1, 'same bytes, same order');
  t.ok(got.every((g) => g.family === 4 && g.srcAddr === ipv4ToUint32('127.0.0.1') && g.srcPort === tx.localPort), 'source address and port as numbers');
  t.ok(got.every((g) => g.tsSec + g.tsNsec / 1e9 >= before - 1 && g.tsSec + g.tsNsec / 1e9 <= after + 1), 'kernel timestamps within the sending interval');
  t.ok(got.every((g) => Number.isInteger(g.tsNsec) && g.tsNsec >= 0 && g.tsNsec < 1e9), 'nanoseconds within the second');
  let monotonic = true;
  for (let i = 1; i < got.length; i++) {
    const a = got[i - 1]!;
    const b = got[i]!;
    if (b.tsSec < a.tsSec || (b.tsSec === a.tsSec && b.tsNsec < a.tsNsec)) monotonic = false;
  }
  t.ok(monotonic, 'timestamps never go backwards');
  const s = rx.stats();
  t.equal(s.received, N);
  t.equal(s.delivered, N);
  t.equal(s.kernelDrops, 0);
  t.ok(s.batches >= 1 && s.batches <= N);
  t.equal(tx.stats().sent, N);
});

t.test('IPv6: sender address in the addr buffer, family 6', async (t) => {
  const rx = UdpBatchSocket.open({ bindAddress: '::1' });
  t.teardown(() => rx.close());
  t.equal(rx.family, 6);
  const got: Got[] = [];
  rx.onBatch((b) => collect(b, got)).start();
  const tx = UdpBatchSocket.open({ remoteAddress: '::1', remotePort: rx.localPort });
  t.teardown(() => tx.close());
  const { data, meta, frames } = makeBatch(10, (i) => 60 + i);
  const r = tx.sendBatch(Buffer.alloc(0), data, meta, { count: 10 });
  t.equal(r.sent, 10);
  await waitFor(() => got.length >= 10);
  t.equal(got.length, 10);
  const loop6 = Buffer.alloc(16);
  loop6[15] = 1;
  t.ok(got.every((g, i) => g.family === 6 && g.srcAddr === 0 && g.addr6.equals(loop6) && g.srcPort === tx.localPort && g.payload.equals(frames[i]!)), '::1, port, bytes');
});

t.test('maxLen cuts frames and counts them; maxDatagram cuts received datagrams and counts them', async (t) => {
  const rx = UdpBatchSocket.open({ bindAddress: '127.0.0.1', maxDatagram: 100 });
  t.teardown(() => rx.close());
  const got: Got[] = [];
  rx.onBatch((b) => collect(b, got)).start();
  const tx = UdpBatchSocket.open({ remoteAddress: '127.0.0.1', remotePort: rx.localPort });
  t.teardown(() => tx.close());
  const { data, meta } = makeBatch(4, (i) => [50, 150, 300, 90][i]!);
  const r = tx.sendBatch(Buffer.from('HDR!'), data, meta, { count: 4, maxLen: 200 });
  t.equal(r.sent, 4);
  t.equal(r.truncated, 1, 'the 300-byte frame went out as 200');
  t.equal(r.bytes, 50 + 150 + 200 + 90);
  await waitFor(() => got.length >= 4);
  t.same(got.map((g) => g.payload.length), [54, 100, 100, 94], 'datagrams over maxDatagram are cut to it');
  t.equal(rx.stats().truncated, 2);
});

t.test('a receiver that holds both slots makes the kernel drop, and the drop counter says how many', async (t) => {
  // Smallest receive buffer the kernel grants; one-row slots; a handler that keeps its slot.
  const rx = UdpBatchSocket.open({ bindAddress: '127.0.0.1', rcvBufBytes: 1, batchRows: 1 });
  t.teardown(() => rx.close());
  let holding = true;
  const waiters: Array<() => void> = [];
  let delivered = 0;
  rx.onBatch((b) => {
    delivered += b.count;
    if (!holding) return;
    return new Promise<void>((r) => waiters.push(r));
  }).start();
  const tx = UdpBatchSocket.open({ remoteAddress: '127.0.0.1', remotePort: rx.localPort });
  t.teardown(() => tx.close());
  const N = 2000;
  const { data, meta } = makeBatch(N, () => 1000);
  const r = tx.sendBatch(Buffer.alloc(8), data, meta, { count: N });
  t.equal(r.sent, N, 'loopback takes every datagram');
  await waitFor(() => rx.stats().kernelDrops > 0);
  const mid = rx.stats();
  t.ok(mid.kernelDrops > 0, `the kernel dropped ${mid.kernelDrops} datagrams and counted them`);
  t.ok(mid.kernelDrops < N, 'some were received');
  holding = false;
  for (const w of waiters.splice(0)) w();
  await waitFor(() => rx.stats().delivered + rx.stats().kernelDrops >= N);
  const s = rx.stats();
  t.equal(s.delivered + s.kernelDrops, N, `sent ${N} == delivered ${s.delivered} + kernel drops ${s.kernelDrops}`);
  t.equal(delivered, s.delivered);
  t.equal(s.received, s.delivered);
});

t.test('bad input is refused with a code, never a crash', async (t) => {
  t.throws(() => UdpBatchSocket.open({ bindAddress: 'not-an-ip' }), { code: 'PODSPAN_ERR_NATIVE_ARG' });
  t.throws(() => UdpBatchSocket.open({ bindAddress: '127.0.0.1', remoteAddress: '::1', remotePort: 9 }), { code: 'PODSPAN_ERR_NATIVE_ARG' });
  t.throws(() => UdpBatchSocket.open({ remoteAddress: '127.0.0.1', remotePort: 0 }), { code: 'PODSPAN_ERR_NATIVE_ARG' });
  t.throws(() => UdpBatchSocket.open({ bindPort: 70000 }), { code: 'PODSPAN_ERR_NATIVE_ARG' });
  t.throws(() => UdpBatchSocket.open({ netns: 'ub-no-such-netns' }), { code: 'PODSPAN_ERR_NETNS' });
  const a = UdpBatchSocket.open({ bindAddress: '127.0.0.1' });
  t.teardown(() => a.close());
  t.throws(() => UdpBatchSocket.open({ bindAddress: '127.0.0.1', bindPort: a.localPort }), { code: 'PODSPAN_ERR_UDP_BIND', details: { errno: constants.errno.EADDRINUSE } });
  t.throws(() => UdpBatchSocket.open({ bindAddress: '192.0.2.1' }), { code: 'PODSPAN_ERR_UDP_BIND', details: { errno: constants.errno.EADDRNOTAVAIL } });
  const { data, meta } = makeBatch(3, () => 20);
  t.throws(() => a.sendBatch(Buffer.alloc(0), data, meta, { count: 3 }), { code: 'PODSPAN_ERR_NATIVE_STATE' }, 'no destination');

  const tx = UdpBatchSocket.open({ remoteAddress: '127.0.0.1', remotePort: a.localPort });
  const bad = Float64Array.from(meta);
  bad[1 * CAPTURE_META_COLS + CAPTURE_META.CAP_LEN] = data.length; // runs past the end
  t.throws(() => tx.sendBatch(Buffer.alloc(0), data, bad, { count: 3 }), { code: 'PODSPAN_ERR_NATIVE_ARG' });
  bad[1 * CAPTURE_META_COLS + CAPTURE_META.CAP_LEN] = NaN;
  t.throws(() => tx.sendBatch(Buffer.alloc(0), data, bad, { count: 3 }), { code: 'PODSPAN_ERR_NATIVE_ARG' });
  bad[1 * CAPTURE_META_COLS + CAPTURE_META.CAP_LEN] = -1;
  t.throws(() => tx.sendBatch(Buffer.alloc(0), data, bad, { count: 3 }), { code: 'PODSPAN_ERR_NATIVE_ARG' });
  bad[1 * CAPTURE_META_COLS + CAPTURE_META.CAP_LEN] = 1.5;
  t.throws(() => tx.sendBatch(Buffer.alloc(0), data, bad, { count: 3 }), { code: 'PODSPAN_ERR_NATIVE_ARG' });
  t.equal(tx.stats().sent, 0, 'a bad row stops the batch before anything is sent');
  t.throws(() => tx.sendBatch(Buffer.alloc(0), data, meta, { count: 4 }), { code: 'PODSPAN_ERR_NATIVE_ARG' }, 'rows past meta');
  t.throws(() => tx.sendBatch(Buffer.alloc(0), data, meta, { first: -1, count: 1 }), { code: 'PODSPAN_ERR_NATIVE_ARG' });
  t.throws(() => tx.sendBatch(Buffer.alloc(0), data, meta, { count: 1, cols: 0 }), { code: 'PODSPAN_ERR_NATIVE_ARG' });
  t.throws(() => tx.sendBatch(Buffer.alloc(0), data, meta, { count: 1, offCol: 5 }), { code: 'PODSPAN_ERR_NATIVE_ARG' });
  t.throws(() => tx.sendBatch(Buffer.alloc(0), data, meta, { count: 1, maxWaitMs: -1 }), { code: 'PODSPAN_ERR_NATIVE_ARG' });
  const big = makeBatch(1, () => 70_000);
  const r = tx.sendBatch(Buffer.alloc(8), big.data, big.meta, { count: 1 });
  t.equal(r.tooBig, 1, 'a datagram over 64 KiB is skipped and counted');
  t.equal(r.sent, 0);
  t.equal(r.next, 1);
  t.equal(r.error, undefined);
  t.equal(tx.sendBatch(Buffer.alloc(0), data, meta, { count: 0 }).sent, 0, 'an empty batch is fine');
  t.throws(() => tx.start(), { code: 'PODSPAN_ERR_NATIVE_STATE' }, 'start without a handler');
  await tx.close();
  await tx.close();
  t.throws(() => tx.sendBatch(Buffer.alloc(0), data, meta, { count: 3 }), { code: 'PODSPAN_ERR_NATIVE_STATE' }, 'closed');
  t.throws(() => tx.onBatch(() => undefined).start(), { code: 'PODSPAN_ERR_NATIVE_STATE' }, 'start after close');
});

t.test('ICMP port unreachable from a closed destination is counted, not fatal', async (t) => {
  const gone = UdpBatchSocket.open({ bindAddress: '127.0.0.1' });
  const port = gone.localPort;
  await gone.close();
  const tx = UdpBatchSocket.open({ remoteAddress: '127.0.0.1', remotePort: port });
  t.teardown(() => tx.close());
  const { data, meta } = makeBatch(50, () => 30);
  let refused = 0;
  let sent = 0;
  for (let i = 0; i < 5; i++) {
    const r = tx.sendBatch(Buffer.alloc(0), data, meta, { count: 50 });
    t.equal(r.error, undefined);
    refused += r.refused;
    sent += r.sent;
  }
  t.equal(sent, 250, 'every datagram still handed to the kernel');
  t.ok(refused > 0, `ECONNREFUSED seen ${refused} times and retried`);
});

t.test('netns: both sockets opened inside a namespace the test made talk over its loopback', async (t) => {
  const ns = `ub-t-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  t.teardown(() => execFileSync('ip', ['netns', 'del', ns]));
  execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  const rx = UdpBatchSocket.open({ bindAddress: '127.0.0.1', netns: ns });
  t.teardown(() => rx.close());
  const got: Got[] = [];
  rx.onBatch((b) => collect(b, got)).start();
  const tx = UdpBatchSocket.open({ remoteAddress: '127.0.0.1', remotePort: rx.localPort, netns: ns });
  t.teardown(() => tx.close());
  const { data, meta, frames } = makeBatch(5, (i) => 30 + i);
  t.equal(tx.sendBatch(Buffer.alloc(0), data, meta, { count: 5 }).sent, 5);
  await waitFor(() => got.length >= 5);
  t.ok(got.length === 5 && got.every((g, i) => g.payload.equals(frames[i]!)), 'received inside the namespace');
});
