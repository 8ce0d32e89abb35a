import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { podspan } from '../helpers/run.js';
import { captureLoopback, deadPort, listen } from './replay-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'hr-stream-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A server that reads everything each connection sends and closes when the client does; records the bytes per connection. */
function sinkServer(): { server: ReturnType<typeof createServer>; received: Buffer[][] } {
  const received: Buffer[][] = [];
  const server = createServer((s) => {
    const parts: Buffer[] = [];
    received.push(parts);
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('end', () => s.end('bye'));
    s.on('error', () => {});
  });
  return { server, received };
}

/** Sends `writes` on one connection (pausing between writes), half-closes, waits for the close. */
function client(port: number, writes: Buffer[], pauseMs = 0): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', async () => {
      for (const w of writes) {
        if (!s.write(w)) await new Promise((r) => s.once('drain', r));
        if (pauseMs > 0) await sleep(pauseMs);
      }
      s.end();
    });
    s.on('data', () => {});
    s.on('close', () => resolve());
    s.on('error', reject);
  });
}

interface Summary {
  connections: number;
  replayed: number;
  skipped: Record<string, number>;
  dropped: Record<string, number>;
  droppedBytes: Record<string, number>;
  bytesSent: number;
  maxQueuedBytes: number;
  queueBytes: number;
}

t.test('stream replay delivers every connection\'s client bytes, in order, one target connection each', async (t) => {
  const prod = sinkServer();
  const port = await listen(t, prod.server);
  const pcap = join(dir, 'conns.pcap');
  const sent: Buffer[] = [];
  await captureLoopback(t, pcap, port, async () => {
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      const writes = Array.from({ length: 1 + (i % 4) }, (_, k) => randomBytes(1 + ((i * 7919 + k * 104729) % (i === 3 ? 2_000_000 : 30_000))));
      sent.push(Buffer.concat(writes));
      jobs.push(client(port, writes, i % 5 === 0 ? 20 : 0));
    }
    await Promise.all(jobs);
  });
  const target = sinkServer();
  const tport = await listen(t, target.server);
  for (const speed of ['max', '4']) {
    target.received.length = 0;
    const r = await podspan(['replay', pcap, '--to', `127.0.0.1:${tport}`, '--mode', 'stream', '--speed', speed, '--json'], { timeoutMs: 120_000 });
    t.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as Summary;
    t.equal(s.connections, 20);
    t.equal(s.replayed, 20, `speed ${speed}`);
    t.same(s.dropped, {});
    t.equal(s.bytesSent, sent.reduce((a, b) => a + b.length, 0));
    t.same(target.received.map((p) => sha(Buffer.concat(p))).sort(), sent.map(sha).sort(), `the target received exactly each connection's client bytes (speed ${speed})`);
  }
});

t.test('a cut-off capture: what was read is replayed, then exit 1 naming the damage', async (t) => {
  const prod = sinkServer();
  const port = await listen(t, prod.server);
  const pcap = join(dir, 'whole.pcap');
  await captureLoopback(t, pcap, port, () => client(port, [Buffer.from('first connection')]).then(() => client(port, [Buffer.from('second connection')])));
  const cut = join(dir, 'cut.pcap');
  const whole = readFileSync(pcap);
  writeFileSync(cut, whole.subarray(0, whole.length - 10));
  const target = sinkServer();
  const tport = await listen(t, target.server);
  const r = await podspan(['replay', cut, '--to', `127.0.0.1:${tport}`, '--speed', 'max', '--json'], { timeoutMs: 60_000 });
  t.equal(r.code, 1);
  t.match(r.stderr, /capture file cut off after \d+ complete records/);
  t.same(target.received.map((p) => Buffer.concat(p).toString()).sort(), ['first connection', 'second connection']);
});

t.test('a connection picked up mid-stream is reported and skipped unless --include-partial', async (t) => {
  const prod = sinkServer();
  const port = await listen(t, prod.server, { belowEphemeral: true });
  const pcap = join(dir, 'mid.pcap');
  const early = connect(port, '127.0.0.1');
  await new Promise((r) => early.once('connect', r));
  early.write('EARLY-BYTES-');
  await sleep(50);
  const closed = new Promise((r) => early.once('close', r));
  early.on('data', () => {});
  await captureLoopback(t, pcap, port, async () => {
    early.end('LATE-BYTES');
    await closed;
    await client(port, [Buffer.from('WHOLE-CONNECTION')]);
  });
  const target = sinkServer();
  const tport = await listen(t, target.server);
  let r = await podspan(['replay', pcap, '--to', `127.0.0.1:${tport}`, '--speed', 'max', '--json'], { timeoutMs: 60_000 });
  t.equal(r.code, 0, r.stderr);
  let s = JSON.parse(r.stdout) as Summary;
  t.same(s.skipped, { mid_stream: 1 });
  t.equal(s.replayed, 1);
  t.match(r.stderr, /skipped: mid_stream 1/);
  t.match(r.stderr, new RegExp(`skipped 127\\.0\\.0\\.1:\\d+ -> 127\\.0\\.0\\.1:${port} \\(mid_stream`), 'the skipped connection is named');
  t.same(target.received.map((p) => Buffer.concat(p).toString()), ['WHOLE-CONNECTION']);
  target.received.length = 0;
  r = await podspan(['replay', pcap, '--to', `127.0.0.1:${tport}`, '--speed', 'max', '--include-partial', '--json'], { timeoutMs: 60_000 });
  s = JSON.parse(r.stdout) as Summary;
  t.equal(s.replayed, 2);
  t.same(target.received.map((p) => Buffer.concat(p).toString()).sort(), ['LATE-BYTES', 'WHOLE-CONNECTION']);
});

t.test('slow and dead targets: bounded queue, drops counted, the replay ends', async (t) => {
  const prod = sinkServer();
  const port = await listen(t, prod.server);
  const pcap = join(dir, 'big.pcap');
  const big = randomBytes(32 * 1024 * 1024);
  await captureLoopback(t, pcap, port, async () => {
    await Promise.all([client(port, [big]), client(port, [Buffer.from('small one')]), client(port, [Buffer.from('small two')])]);
  });

  t.test('a target that accepts but never reads', async (t) => {
    const held: Socket[] = [];
    const lazy = createServer((s) => {
      s.pause();
      held.push(s);
      s.on('error', () => {});
    });
    const lport = await listen(t, lazy);
    const queue = 256 * 1024;
    const r = await podspan(['replay', pcap, '--to', `127.0.0.1:${lport}`, '--speed', 'max', '--queue', '256KiB', '--timeout', '1', '--json'], { timeoutMs: 120_000 });
    t.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as Summary;
    t.equal(s.queueBytes, queue);
    t.same(s.dropped, { stalled: 1 }, 'the big connection is dropped as stalled');
    t.equal(s.replayed, 2, 'the small ones fit in the kernel buffers');
    t.ok(s.droppedBytes.stalled! > 0 && s.droppedBytes.stalled! <= big.length, `${s.droppedBytes.stalled} bytes counted as dropped`);
    t.equal(s.bytesSent + s.droppedBytes.stalled!, big.length + 18, 'every byte sent or counted');
    t.ok(s.maxQueuedBytes <= queue + 65536, `send queue stayed bounded: ${s.maxQueuedBytes} bytes`);
    t.match(r.stderr, /dropped \(target\): stalled 1/);
    for (const h of held) h.destroy();
  });

  t.test('a dead target (connection refused): counted, exit 1', async (t) => {
    const port = await deadPort();
    const r = await podspan(['replay', pcap, '--to', `127.0.0.1:${port}`, '--speed', 'max', '--json'], { timeoutMs: 60_000 });
    t.equal(r.code, 1, 'exit 1: nothing reached the target');
    t.match(r.stderr, new RegExp(`podspan: replay: could not connect to 127\\.0\\.0\\.1:${port}: nothing was replayed`));
    const s = JSON.parse(r.stdout) as Summary;
    t.same(s.dropped, { connect_failed: 3 });
    t.equal(s.droppedBytes.connect_failed, big.length + 18);
    t.equal(s.replayed, 0);
    t.equal(s.bytesSent, 0);
  });

  t.test('non-HTTP connections in http mode are reported, nothing is sent', async (t) => {
    const r = await podspan(['replay', pcap, '--to', `127.0.0.1:${await deadPort()}`, '--mode', 'http', '--speed', 'max', '--json'], { timeoutMs: 60_000 });
    t.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as { skipped: Record<string, number>; framing: Record<string, number> };
    t.same(s.skipped, { no_http_requests: 3 }, 'not HTTP: nothing framed, nothing sent');
    t.same(s.framing, { malformed: 1, truncated: 2 }, 'random bytes: malformed; a line without end: truncated');
  });
});
