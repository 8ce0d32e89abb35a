import t from 'tap';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

import { LiveReplaySink } from '../../collector/replay/live.js';
import { IngestFrame } from '../../collector/ingest/frame.js';
import type { Source } from '../../collector/ingest/source.js';
import { CollectorMetrics } from '../../collector/metrics.js';
import { buildTcpFrame, buildUdpFrame } from '../../packet/synth/traffic.js';

// The live replay sink fed frames as an ingest would (Ethernet frames with receive times),
// replaying to a real TCP server on 127.0.0.1 that records what each connection received.

const SYN = 0x02;
const ACK = 0x10;
const PSH = 0x08;
const FIN = 0x01;
const RST = 0x04;

interface Recorder {
  port: number;
  /** Bytes received per accepted connection, in accept order. */
  conns: Buffer[];
  closed: number;
  sockets: Socket[];
}

async function recorder(t: { teardown(fn: () => unknown): void }, opts: { read?: boolean; answer?: string } = {}): Promise<Recorder> {
  const r: Recorder = { port: 0, conns: [], closed: 0, sockets: [] };
  const server = createServer((s) => {
    const i = r.conns.push(Buffer.alloc(0)) - 1;
    r.sockets.push(s);
    if (opts.read === false) s.pause();
    s.on('data', (d: Buffer) => {
      r.conns[i] = Buffer.concat([r.conns[i]!, d]);
      if (opts.answer !== undefined) s.write(opts.answer);
    });
    s.on('error', () => undefined);
    s.on('end', () => s.end());
    s.on('close', () => r.closed++);
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  t.teardown(() => {
    for (const s of r.sockets) s.destroy();
    return new Promise<void>((res) => server.close(() => res()));
  });
  r.port = (server.address() as AddressInfo).port;
  return r;
}

const client = (port: number) => ({ mac: '02:00:00:00:00:01', ip: '10.0.0.1', port });
const server = { mac: '02:00:00:00:00:02', ip: '10.0.0.2', port: 80 };

/** Frames of one connection: handshake, the client's chunks (each ACKed), FIN both ways. */
function connection(cport: number, chunks: string[], opts: { skipSyn?: boolean; dropChunk?: number; rst?: boolean } = {}): Buffer[] {
  const c = client(cport);
  const frames: Buffer[] = [];
  let cseq = 1000;
  const sseq = 5000;
  if (opts.skipSyn !== true) {
    frames.push(buildTcpFrame(c, server, { seq: cseq - 1, ack: 0, flags: SYN }, Buffer.alloc(0)));
    frames.push(buildTcpFrame(server, c, { seq: sseq - 1, ack: cseq, flags: SYN | ACK }, Buffer.alloc(0)));
    frames.push(buildTcpFrame(c, server, { seq: cseq, ack: sseq, flags: ACK }, Buffer.alloc(0)));
  }
  chunks.forEach((chunk, i) => {
    const p = Buffer.from(chunk);
    if (opts.dropChunk !== i) frames.push(buildTcpFrame(c, server, { seq: cseq, ack: sseq, flags: ACK | PSH }, p));
    cseq += p.length;
    frames.push(buildTcpFrame(server, c, { seq: sseq, ack: cseq, flags: ACK }, Buffer.alloc(0))); // ACKs the lost chunk too: a capture gap
  });
  if (opts.rst === true) {
    frames.push(buildTcpFrame(c, server, { seq: cseq, ack: sseq, flags: RST | ACK }, Buffer.alloc(0)));
  } else {
    frames.push(buildTcpFrame(c, server, { seq: cseq, ack: sseq, flags: FIN | ACK }, Buffer.alloc(0)));
    frames.push(buildTcpFrame(server, c, { seq: sseq, ack: cseq + 1, flags: FIN | ACK }, Buffer.alloc(0)));
    frames.push(buildTcpFrame(c, server, { seq: cseq + 1, ack: sseq + 1, flags: ACK }, Buffer.alloc(0)));
  }
  return frames;
}

function feed(sink: LiveReplaySink, frames: Buffer[], startSec = 1_700_000_000): void {
  const f = new IngestFrame() as IngestFrame & { source: Source };
  frames.forEach((data, i) => {
    f.data = data;
    f.tsSec = startSec + Math.floor(i / 1000);
    f.tsNsec = (i % 1000) * 1_000_000;
    sink.write(f);
  });
}

async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

t.test("replays each connection seen from its SYN with exactly the client's bytes; mid-stream and gapped ones are not replayed", async (t) => {
  const rec = await recorder(t, { answer: 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n' });
  const metrics = new CollectorMetrics();
  const sink = new LiveReplaySink(metrics, { host: '127.0.0.1', port: rec.port });
  const frames = [
    ...connection(40001, ['GET /a HTTP/1.1\r\nHost: x\r\n\r\n', 'GET /b HTTP/1.1\r\nHost: x\r\n\r\n']),
    buildUdpFrame(client(5353), server, Buffer.from('not tcp')),
    ...connection(40002, ['AAAA', 'BBBB', 'CCCC'], { skipSyn: true }),
    ...connection(40003, ['DDDD', 'EEEE', 'FFFF'], { dropChunk: 1 }),
    ...connection(40004, ['GGGG'], { rst: true }),
  ];
  feed(sink, frames);
  await until(() => sink.counters.connections.replayed + sink.counters.connections.gap >= 3);
  await sink.close();
  const got = rec.conns.map((b) => b.toString()).sort();
  t.ok(got.includes('GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n'), 'the keep-alive connection, both requests, in order');
  t.notOk(got.some((g) => g.includes('AAAA')), 'the mid-stream connection is not replayed');
  t.notOk(got.some((g) => g.includes('EEEE') || g.includes('FFFF')), 'nothing after the hole reaches the shadow');
  t.equal(sink.counters.connections.partial, 1);
  t.equal(sink.counters.connections.gap, 1);
  t.equal(sink.counters.connections.replayed, 2, 'the keep-alive one and the reset one');
  t.ok(sink.counters.bytesReceived > 0, 'shadow answers read and counted');
  t.equal(sink.stage.dropped.not_tcp, 1);
  t.equal(sink.stage.received, frames.length);
  t.equal(sink.stage.received, sink.stage.delivered + sink.stage.totalDropped(), 'received == delivered + dropped');
});

t.test('a shadow that never reads: the per-connection cap gives the connection up and memory stays bounded', async (t) => {
  const rec = await recorder(t, { read: false });
  const metrics = new CollectorMetrics();
  const cap = 256 * 1024;
  const sink = new LiveReplaySink(metrics, { host: '127.0.0.1', port: rec.port, perConnectionQueueBytes: cap });
  await until(() => true);
  const chunk = 'x'.repeat(1400);
  const frames = connection(41000, Array.from({ length: 40_000 }, () => chunk)); // 56 MB of client data
  // Feed in slices so the socket connects and the kernel buffers fill as they would live.
  let maxQueued = 0;
  for (let i = 0; i < frames.length; i += 2000) {
    feed(sink, frames.slice(i, i + 2000), 1_700_000_000 + i / 2000);
    maxQueued = Math.max(maxQueued, sink.queuedBytes());
    await new Promise((r) => setTimeout(r, 5));
  }
  await until(() => sink.counters.connections.queue_full === 1);
  t.ok(maxQueued <= cap, `held at most ${maxQueued} bytes (cap ${cap})`);
  t.ok(sink.counters.bytesNotSent > 0, `${sink.counters.bytesNotSent} client bytes not sent, counted`);
  t.equal(sink.counters.bytesSent + sink.counters.bytesNotSent, 40_000 * 1400, 'every client byte either sent or counted as not sent');
  t.equal(sink.counters.connections.partial, 0, 'one connection throughout');
  await sink.close();
});

t.test('a dead shadow (nothing listens): counted as connect_failed, nothing held', async (t) => {
  const rec = await recorder(t);
  const port = rec.port;
  await new Promise((r) => setTimeout(r, 10));
  const metrics = new CollectorMetrics();
  // A port that was just free: connection refused.
  const { createServer: cs } = await import('node:net');
  const probe = cs();
  await new Promise<void>((res) => probe.listen(0, '127.0.0.1', res));
  const deadPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((res) => probe.close(() => res()));
  t.not(deadPort, port);
  const sink = new LiveReplaySink(metrics, { host: '127.0.0.1', port: deadPort });
  feed(sink, [...connection(42000, ['HELLO']), ...connection(42001, ['WORLD'])]);
  await until(() => sink.counters.connections.connect_failed === 2);
  t.equal(sink.queuedBytes(), 0);
  await sink.close();
});

t.test('podspan collector --vxlan --replay-to: mirrored connections reach the shadow, the summary says what became of them', async (t) => {
  const rec = await recorder(t, { answer: 'ok' });
  const { listeningPorts, sendDatagrams, startCollector } = await import('./helpers.js');
  const { buildVxlanHeader } = await import('../../packet/encap/vxlan.js');
  const c = await startCollector(t, ['--vxlan', '127.0.0.1:0', '--replay-to', `127.0.0.1:${rec.port}`]);
  t.match(c.stderr(), new RegExp(`writing client streams to 127\\.0\\.0\\.1:${rec.port}`));
  const hdr = buildVxlanHeader(9);
  const frames = [...connection(43000, ['PING 1\r\n', 'PING 2\r\n']), ...connection(43001, ['XXXX'], { skipSyn: true })];
  await sendDatagrams('127.0.0.1', listeningPorts(c.stderr())[0]!, frames.map((f) => [hdr, f]));
  await until(() => rec.closed >= 1);
  const r = await c.stop();
  t.equal(r.code, 0);
  t.same(rec.conns.map((b) => b.toString()), ['PING 1\r\nPING 2\r\n'], 'the shadow got the client bytes of the one connection seen from its SYN');
  t.match(r.stderr, /replay to 127\.0\.0\.1:\d+: 2 connections seen: replayed 1, partial 1, /);
  t.match(r.stderr, /replay: received \d+, delivered \d+, dropped 0/);
});

t.test('podspan collector --replay-to with a bad address: exit 2', async (t) => {
  const { podspan } = await import('../helpers/run.js');
  const r = await podspan(['collector', '--vxlan', '127.0.0.1:0', '--replay-to', 'shadow']);
  t.equal(r.code, 2);
  t.match(r.stderr, /--replay-to wants HOST:PORT/);
});

/** Frames of one HTTP/1.1 keep-alive connection: each request answered by `responses[i]`. */
function httpConnection(cport: number, requests: string[], responses: string[]): Buffer[] {
  const c = client(cport);
  const frames: Buffer[] = [];
  let cseq = 2000;
  let sseq = 9000;
  frames.push(buildTcpFrame(c, server, { seq: cseq - 1, ack: 0, flags: SYN }, Buffer.alloc(0)));
  frames.push(buildTcpFrame(server, c, { seq: sseq - 1, ack: cseq, flags: SYN | ACK }, Buffer.alloc(0)));
  frames.push(buildTcpFrame(c, server, { seq: cseq, ack: sseq, flags: ACK }, Buffer.alloc(0)));
  requests.forEach((req, i) => {
    const q = Buffer.from(req);
    frames.push(buildTcpFrame(c, server, { seq: cseq, ack: sseq, flags: ACK | PSH }, q));
    cseq += q.length;
    const r = Buffer.from(responses[i]!);
    frames.push(buildTcpFrame(server, c, { seq: sseq, ack: cseq, flags: ACK | PSH }, r));
    sseq += r.length;
    frames.push(buildTcpFrame(c, server, { seq: cseq, ack: sseq, flags: ACK }, Buffer.alloc(0)));
  });
  frames.push(buildTcpFrame(c, server, { seq: cseq, ack: sseq, flags: FIN | ACK }, Buffer.alloc(0)));
  frames.push(buildTcpFrame(server, c, { seq: sseq, ack: cseq + 1, flags: FIN | ACK }, Buffer.alloc(0)));
  frames.push(buildTcpFrame(c, server, { seq: cseq + 1, ack: sseq + 1, flags: ACK }, Buffer.alloc(0)));
  return frames;
}

t.test('collector --replay-to --diff --report: live HTTP responses of the shadow compared with production, one difference found', async (t) => {
  const { createServer: httpServer } = await import('node:http');
  const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { listeningPorts, sendDatagrams, startCollector } = await import('./helpers.js');
  const { buildVxlanHeader } = await import('../../packet/encap/vxlan.js');
  const dir = mkdtempSync(join(tmpdir(), 'psl-live-diff-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // The shadow: /price answers 11 where production answered 10; everything else the same.
  const shadow = httpServer((req, res) => {
    const body = req.url === '/price' ? '{"price":11}' : '{"ok":true}';
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
    res.end(body);
  });
  await new Promise<void>((r) => shadow.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => shadow.close(() => r())));
  const port = (shadow.address() as AddressInfo).port;
  const prod = (body: string): string => `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\ndate: Tue, 01 Jan 2030 00:00:00 GMT\r\n\r\n${body}`;
  const get = (path: string): string => `GET ${path} HTTP/1.1\r\nhost: shop\r\nauthorization: Bearer s3cret-token\r\n\r\n`;
  const frames = [
    ...httpConnection(44000, [get('/health'), get('/price'), get('/health')], [prod('{"ok":true}'), prod('{"price":10}'), prod('{"ok":true}')]),
    ...httpConnection(44001, [get('/health')], [prod('{"ok":true}')]),
  ];
  const diff = join(dir, 'diff.jsonl');
  const report = join(dir, 'report.html');
  const c = await startCollector(t, ['--vxlan', '127.0.0.1:0', '--replay-to', `127.0.0.1:${port}`, '--diff', diff, '--report', report]);
  await sendDatagrams('127.0.0.1', listeningPorts(c.stderr())[0]!, frames.map((f) => [buildVxlanHeader(3), f]));
  await new Promise((r) => setTimeout(r, 1500));
  const r = await c.stop();
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /replay HTTP diff: 4 responses compared, 3 matching, 1 mismatching, 0 not compared/);
  const lines = readFileSync(diff, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { path: string; match: boolean; differences: Array<{ kind: string; where: string }> });
  t.equal(lines.length, 4);
  t.same(lines.filter((l) => !l.match).map((l) => [l.path, l.differences.map((d) => `${d.kind} ${d.where}`)]), [['/price', ['body $.price']]]);
  const html = readFileSync(report, 'utf8');
  t.match(html, /\$\.price/);
  t.notMatch(readFileSync(diff, 'utf8') + html, /s3cret-token/, 'credentials never written');
});
