import t from 'tap';
import dgram from 'node:dgram';

import { ReceiveClock } from '../../collector/clock.js';
import { DATAGRAM_META, DATAGRAM_META_COLS, UdpBatchReceiver, ipv6Text, type DatagramBatch } from '../../collector/ingest/udp-batch-receiver.js';
import { UDP_RECV_META, UDP_RECV_META_COLS } from '../../native/index.js';

// Both receive paths (native recvmmsg thread, node:dgram fallback) against node:dgram
// senders on the loopback: same rows, same sender strings, same bind errors.

interface Got {
  payload: Buffer;
  from: string;
  port: number;
  family: number;
  ts: number;
}

async function waitFor(cond: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

async function sendAll(type: 'udp4' | 'udp6', host: string, port: number, msgs: Buffer[]): Promise<number> {
  const s = dgram.createSocket(type);
  await new Promise<void>((r) => s.bind(0, type === 'udp4' ? '127.0.0.1' : '::1', () => r()));
  const local = s.address().port;
  for (const m of msgs) await new Promise<void>((r, j) => s.send(m, port, host, (e) => (e ? j(e) : r())));
  await new Promise<void>((r) => s.close(() => r()));
  return local;
}

const clock = new ReceiveClock();

t.test('the row layout is the native one', async (t) => {
  t.same(DATAGRAM_META, UDP_RECV_META);
  t.equal(DATAGRAM_META_COLS, UDP_RECV_META_COLS);
});

for (const native of [true, false]) {
  const mode = native ? 'native' : 'dgram';

  t.test(`${mode}: datagrams arrive in batches with sender, port and a receive time`, async (t) => {
    const got: Got[] = [];
    const onBatch = (b: DatagramBatch, rx: UdpBatchReceiver): void => {
      for (let i = 0; i < b.count; i++) {
        const r = i * DATAGRAM_META_COLS;
        const off = b.meta[r + DATAGRAM_META.OFFSET]!;
        got.push({
          payload: Buffer.from(b.data.subarray(off, off + b.meta[r + DATAGRAM_META.LEN]!)),
          from: rx.senderAddress(b, i),
          port: b.meta[r + DATAGRAM_META.SRC_PORT]!,
          family: b.meta[r + DATAGRAM_META.FAMILY]!,
          ts: b.meta[r + DATAGRAM_META.TS_SEC]! + b.meta[r + DATAGRAM_META.TS_NSEC]! / 1e9,
        });
      }
    };
    const rx = await UdpBatchReceiver.open({ host: '127.0.0.1', port: 0, onBatch, clock, native });
    t.teardown(() => rx.close());
    t.equal(rx.mode, mode);
    t.ok(rx.port > 0);
    const msgs = Array.from({ length: 200 }, (_, i) => Buffer.alloc(20 + i, i));
    const t0 = Date.now() / 1000;
    const srcPort = await sendAll('udp4', '127.0.0.1', rx.port, msgs);
    await waitFor(() => got.length >= msgs.length);
    const t1 = Date.now() / 1000;
    t.equal(got.length, msgs.length);
    t.ok(got.every((g, i) => g.payload.equals(msgs[i]!)), 'bytes and order');
    t.ok(got.every((g) => g.from === '127.0.0.1' && g.port === srcPort && g.family === 4), 'sender as node:dgram gives it');
    t.ok(got.every((g) => g.ts >= t0 - 0.5 && g.ts <= t1 + 0.5), 'receive time plausible');
    const s = rx.stats();
    t.equal(s.delivered, msgs.length);
    t.equal(s.kernelDrops, 0, native ? 'the kernel drop counter (SO_MEMINFO)' : 'the kernel drop counter (/proc/net/udp)');
    t.equal(rx.kernelDrops(), 0);
    await rx.close();
    await rx.close();
  });

  t.test(`${mode}: a dual-stack '::' socket names IPv4 senders v4-mapped and IPv6 senders as text`, async (t) => {
    const froms: string[] = [];
    const rx = await UdpBatchReceiver.open({
      host: '::',
      port: 0,
      clock,
      native,
      onBatch: (b, r) => {
        for (let i = 0; i < b.count; i++) froms.push(r.senderAddress(b, i));
      },
    });
    t.teardown(() => rx.close());
    await sendAll('udp4', '127.0.0.1', rx.port, [Buffer.from('a')]);
    await waitFor(() => froms.length >= 1);
    await sendAll('udp6', '::1', rx.port, [Buffer.from('b')]);
    await waitFor(() => froms.length >= 2);
    t.same(froms, ['::ffff:127.0.0.1', '::1']);
  });

  t.test(`${mode}: a port in use rejects like node:dgram (syscall bind, code EADDRINUSE)`, async (t) => {
    const a = await UdpBatchReceiver.open({ host: '127.0.0.1', port: 0, clock, native, onBatch: () => undefined });
    t.teardown(() => a.close());
    await t.rejects(UdpBatchReceiver.open({ host: '127.0.0.1', port: a.port, clock, native, onBatch: () => undefined }), { syscall: 'bind', code: 'EADDRINUSE' });
  });
}

for (const native of [true, false]) t.test(`${native ? 'native' : 'dgram'}: a handler slower than the senders makes the kernel drop, counted in kernelDrops`, async (t) => {
  let delivered = 0;
  const rx = await UdpBatchReceiver.open({
    host: '127.0.0.1',
    port: 0,
    clock,
    native,
    recvBufferBytes: 1,
    batchRows: 4,
    onBatch: (b) => {
      delivered += b.count;
      const until = Date.now() + 20; // a deliberately slow consumer
      while (Date.now() < until);
    },
  });
  t.teardown(() => rx.close());
  const N = 1000;
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => s.close(() => r())));
  const m = Buffer.alloc(1000);
  let sent = 0;
  for (let i = 0; i < N; i++) s.send(m, rx.port, '127.0.0.1', () => sent++);
  await waitFor(() => sent >= N);
  await waitFor(() => rx.stats().delivered + (rx.stats().kernelDrops ?? 0) >= N, 20_000);
  const st = rx.stats();
  t.ok((st.kernelDrops ?? 0) > 0, `the kernel dropped ${st.kernelDrops}`);
  t.equal(st.delivered + (st.kernelDrops ?? 0), N, 'sent == delivered + kernel drops');
  t.equal(delivered, st.delivered);
});

t.test('ipv6Text writes addresses as libuv does', async (t) => {
  const cases: Array<[string, string]> = [
    ['00000000000000000000000000000001', '::1'],
    ['00000000000000000000000000000000', '::'],
    ['fd000000000000000000000000000001', 'fd00::1'],
    ['20010db8000000010000000000000001', '2001:db8:0:1::1'],
    ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
    ['00000000000000000000ffff0a000005', '::ffff:10.0.0.5'],
    ['fe800000000000000202b3fffe1e8329', 'fe80::202:b3ff:fe1e:8329'],
    ['20010db8000100020003000400050006', '2001:db8:1:2:3:4:5:6'],
    ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'],
  ];
  for (const [hex, text] of cases) t.equal(ipv6Text(Buffer.from(hex, 'hex'), 0), text, text);
});
