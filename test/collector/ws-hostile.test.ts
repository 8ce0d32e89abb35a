import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import WebSocket from 'ws';

import { decodeEnvelope, encodeEnvelope, pb, type HelloMsg, type TunnelMessage } from '../../proto/envelope.js';
import { execFileP, finishedFiles, parseSummary, readStore, readStoredFile, startCollector, testFrame } from './helpers.js';
import { CapfileReader } from '../../packet/capfile/reader.js';

// Hostile peers against `podspan collector --ws`: every bad message is counted under its
// reason, answered with a close code, and the collector goes on serving a good agent.
// Network: 127.0.0.1 only.

const dir = mkdtempSync(join(tmpdir(), 'podspan-ws-hostile-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const TOKEN = 'hostile-test-token';
const tokenFile = join(dir, 'token');
writeFileSync(tokenFile, TOKEN + '\n');

const hello = (session: string): HelloMsg => ({ type: 'hello', version: 1, agent: 'test-agent', node: 'n1', session, resumeSeq: 0, software: 'test', interfaces: [] });
const IFACE = { id: 1, name: 'veth-test', podIp: '10.77.60.9', podName: 'web-0', podNamespace: 'shop', linkType: 1, snapLen: 262144 };

interface Peer {
  ws: WebSocket;
  messages: TunnelMessage[];
  closed: Promise<{ code: number; reason: string }>;
}

async function peer(port: number, token: string | undefined = TOKEN): Promise<Peer> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}`, { headers: token === undefined ? {} : { Authorization: `Bearer ${token}` }, perMessageDeflate: false });
  const messages: TunnelMessage[] = [];
  ws.on('message', (d: Buffer) => messages.push(decodeEnvelope(d)));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, messages, closed };
}

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

t.test('malformed, oversized, out-of-sequence and flooding peers are counted and closed; a good agent still gets through', async (t) => {
  const store = join(dir, 'store');
  const collector = await startCollector(t, ['--ws', '127.0.0.1:0', '--token-file', tokenFile, '--out', store]);
  const port = Number(/listening on ws 127\.0\.0\.1:(\d+)/.exec(collector.stderr())![1]);

  // Garbage that is not protobuf.
  let p = await peer(port);
  p.ws.send(Buffer.from('\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff', 'latin1'));
  t.equal((await p.closed).code, 1007, 'garbage: 1007 invalid payload');
  t.same(p.messages.map((m) => m.type), ['error'], 'told why with an Error envelope');

  // Text instead of binary.
  p = await peer(port);
  p.ws.send('hello?');
  t.equal((await p.closed).code, 1003, 'text message: 1003');

  // Batch before hello.
  p = await peer(port);
  p.ws.send(encodeEnvelope({ type: 'batch', seq: 1, interfaces: [], frames: [], counters: [] }));
  t.equal((await p.closed).code, 1008, 'batch before hello: 1008');

  // Too many frames in one batch: 70000 empty frames (140 KB), refused before decoding.
  p = await peer(port);
  p.ws.send(encodeEnvelope(hello('1111111111111111')));
  const empties = Buffer.alloc(70000 * 2);
  for (let i = 0; i < empties.length; i += 2) empties[i] = (3 << 3) | 2;
  const lenVarint: number[] = [];
  for (let n = empties.length + 2; ; ) {
    if (n < 128) {
      lenVarint.push(n);
      break;
    }
    lenVarint.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  p.ws.send(Buffer.concat([Buffer.from([(3 << 3) | 2, ...lenVarint, 0x08, 0x01]), empties]));
  t.equal((await p.closed).code, 1009, 'too many frames: 1009');

  // Larger than the 16 MiB message limit: ws itself refuses it.
  p = await peer(port);
  p.ws.send(Buffer.alloc(16 * 1024 * 1024 + 16, 0x0a));
  t.equal((await p.closed).code, 1009, 'oversized message: 1009');

  // A sequence gap.
  p = await peer(port);
  p.ws.send(encodeEnvelope(hello('2222222222222222')));
  p.ws.send(encodeEnvelope({ type: 'batch', seq: 5, interfaces: [IFACE], frames: [], counters: [] }));
  t.equal((await p.closed).code, 1008, 'sequence gap: 1008');

  // A second hello, a wrong version, an agent-only violation (sending an ack).
  p = await peer(port);
  p.ws.send(encodeEnvelope(hello('3333333333333333')));
  p.ws.send(encodeEnvelope(hello('3333333333333333')));
  t.equal((await p.closed).code, 1008, 'second hello: 1008');
  p = await peer(port);
  p.ws.send(encodeEnvelope({ ...hello('4444444444444444'), version: 99 }));
  t.equal((await p.closed).code, 1008, 'unknown protocol version: 1008');
  p = await peer(port);
  p.ws.send(encodeEnvelope({ type: 'ack', seq: 1 }));
  t.equal((await p.closed).code, 1008, 'an ack from an agent: 1008');

  // Bad field contents: cap_len disagreeing with the data.
  p = await peer(port);
  p.ws.send(encodeEnvelope(hello('5555555555555555')));
  p.ws.send(pb.Envelope.encode({ batch: { seq: 1, frames: [{ iface: 1, capLen: 99, wireLen: 99, data: new Uint8Array(3) }] } }).finish());
  t.equal((await p.closed).code, 1007, 'cap_len contradicting the data: 1007');

  // A flood: thousands of (valid, duplicate) messages at once.
  p = await peer(port);
  p.ws.send(encodeEnvelope(hello('6666666666666666')));
  const dup = encodeEnvelope({ type: 'batch', seq: 1, interfaces: [IFACE], frames: [], counters: [] });
  for (let i = 0; i < 5000 && p.ws.readyState === WebSocket.OPEN; i++) p.ws.send(dup);
  t.equal((await p.closed).code, 1008, 'flood: 1008');

  // A plain HTTP request and a raw TCP connection that sends garbage.
  const status = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
  t.equal(status, 426, 'plain HTTP: 426 Upgrade Required');
  await new Promise<void>((resolve) => {
    const s = connect(port, '127.0.0.1', () => s.end('\x16\x03\x01 not http at all\r\n\r\n'));
    s.on('close', () => resolve());
    s.on('error', () => resolve());
    s.resume();
  });

  // After all that, a good agent: hello, welcome, two batches, acks, frames stored.
  const good = await peer(port);
  good.ws.send(encodeEnvelope(hello('7777777777777777')));
  await until(() => good.messages.some((m) => m.type === 'welcome'), 'welcome');
  t.same(good.messages[0], { type: 'welcome', version: 1, committedSeq: 0 }, 'welcome: nothing committed for a new session');
  const frames = [1, 2, 3].map((n) => ({ iface: 1, tsSec: 1764000000, tsNsec: n, capLen: 100, wireLen: 100, data: testFrame(n) }));
  good.ws.send(encodeEnvelope({ type: 'batch', seq: 1, interfaces: [IFACE], frames: frames.slice(0, 2), counters: [] }));
  good.ws.send(encodeEnvelope({ type: 'batch', seq: 2, interfaces: [], frames: frames.slice(2), counters: [] }));
  good.ws.send(encodeEnvelope({ type: 'batch', seq: 1, interfaces: [], frames: frames.slice(0, 2), counters: [] })); // resent: duplicate
  await until(() => good.messages.some((m) => m.type === 'ack' && m.seq === 2), 'ack 2');
  good.ws.close(1000);
  await good.closed;

  // Unauthenticated attempt.
  await t.rejects(peer(port, 'wrong'), /401/, 'wrong token: 401');

  const stopped = await collector.stop('SIGINT');
  t.equal(stopped.code, 0, 'the collector survived and exits 0');
  const s = parseSummary(stopped.stderr);
  t.same(s['ws'], { received: 5, delivered: 3, dropped: 2, reasons: { duplicate: 2 } }, 'frames: 3 delivered, the resent 2 counted as duplicate');
  const m = s['ws_messages']!;
  t.equal(m.received, m.delivered + m.dropped, 'messages: received == delivered + dropped');
  for (const r of ['malformed', 'not_binary', 'protocol', 'too_many', 'too_large', 'bad_sequence', 'flood']) t.ok((m.reasons[r] ?? 0) >= 1, `messages dropped as ${r}: ${m.reasons[r] ?? 0}`);
  t.equal(m.reasons['protocol'], 4, 'protocol: batch before hello, second hello, bad version, ack from an agent');
  t.equal(m.reasons['malformed'], 2, 'malformed: garbage and cap_len');
  const c = s['ws_connections']!;
  t.equal(c.reasons['auth_failed'], 1, 'one auth failure');
  t.ok((c.reasons['bad_upgrade'] ?? 0) >= 1, 'the plain HTTP request counted as bad_upgrade');
  const stored = readStore(store);
  t.equal(stored.length, 3, 'the good agent\'s three frames are stored');
  t.same(stored.map((f) => f.tsNsec), [1, 2, 3], 'with the agent\'s timestamps');
  t.same(stored.map((f) => f.iface.description), new Array(3).fill('pod shop/web-0 10.77.60.9 on veth-test, agent test-agent (node n1) over ws'), 'the pod in the interface description');
});

t.test('counter names an agent chooses are bounded: no crash at rotation, no growth, statistics blocks intact', async (t) => {
  const store = join(dir, 'store-counters');
  const collector = await startCollector(t, ['--ws', '127.0.0.1:0', '--token-file', tokenFile, '--out', store, '--rotate-time', '1s']);
  const port = Number(/listening on ws 127\.0\.0\.1:(\d+)/.exec(collector.stderr())![1]);
  const p = await peer(port);
  p.ws.send(encodeEnvelope({ ...hello('8888888888888888'), agent: 'agent\nwith spaces' }));
  await until(() => p.messages.some((m) => m.type === 'welcome'), 'welcome');
  // Each counter line would be about 66 KB: once more than a pcapng option can hold (the
  // collector used to die at the next rotation), then batches of 64 new names each.
  const long = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`r${i}_${'x'.repeat(1019)}`, 1]));
  const BATCHES = 40;
  for (let seq = 1; seq <= BATCHES; seq++) {
    const counters = Array.from({ length: 64 }, (_, i) => ({ stage: `${seq}-${i}-${'S'.repeat(1000)}`, received: seq, delivered: seq - 1, dropped: seq === 1 ? long : { full: 1 } }));
    const frames = [{ iface: 1, tsSec: 1764000000, tsNsec: seq, capLen: 100, wireLen: 100, data: testFrame(seq) }];
    p.ws.send(encodeEnvelope({ type: 'batch', seq, interfaces: seq === 1 ? [IFACE] : [], frames, counters }));
  }
  await until(() => p.messages.some((m) => m.type === 'ack' && m.seq === BATCHES), `ack ${BATCHES}`, 20_000);
  await new Promise((r) => setTimeout(r, 1500)); // a time rotation with the counters in place
  t.equal(collector.proc.exitCode, null, 'still running after a rotation');
  p.ws.close(1000);
  await p.closed;
  const stopped = await collector.stop('SIGTERM');
  t.equal(stopped.code, 0, `exits 0: ${stopped.stderr.slice(-300)}`);
  const files = finishedFiles(store).map(readStoredFile);
  t.equal(files.reduce((a, f) => a + f.frames.length, 0), BATCHES, 'every frame stored');
  const last = files[files.length - 1]!;
  t.ok(last.stats.length >= 1, 'the last file has its statistics block');
  const agentLines = last.stats[0]!.comments.filter((c) => c.startsWith('agent '));
  t.ok(agentLines.length > 0 && agentLines.length <= 64, `agent counter lines kept: ${agentLines.length} (at most 64)`);
  t.ok(agentLines.every((l) => l.length <= 1024), 'each at most 1024 characters');
  t.ok(agentLines.every((l) => l.startsWith('agent agent_with_spaces ') && !/[\n]/.test(l)), 'names cleaned of spaces and control characters');
  t.ok(agentLines.some((l) => l.includes(` ${BATCHES}-63-SSS`)), 'the most recently reported stage is among them');
});

t.test('a frame the agent cut at its snap length keeps its wire length, in the store and on --stdout (tshark: frame.len > cap_len)', async (t) => {
  const store = join(dir, 'store-snaplen');
  const collector = await startCollector(t, ['--ws', '127.0.0.1:0', '--token-file', tokenFile, '--out', store, '--stdout']);
  const stdout: Buffer[] = [];
  collector.proc.stdout!.on('data', (d: Buffer) => stdout.push(d));
  const port = Number(/listening on ws 127\.0\.0\.1:(\d+)/.exec(collector.stderr())![1]);
  const p = await peer(port);
  p.ws.send(encodeEnvelope(hello('9999999999999999')));
  await until(() => p.messages.some((m) => m.type === 'welcome'), 'welcome');
  const whole = testFrame(1, 1514);
  const frames = [
    { iface: 1, tsSec: 1764000000, tsNsec: 1, capLen: 54, wireLen: 1514, data: whole.subarray(0, 54) },
    { iface: 1, tsSec: 1764000000, tsNsec: 2, capLen: 100, wireLen: 100, data: testFrame(2) },
    // Shorter than an Ethernet header: dropped and counted, as the VXLAN ingest does.
    { iface: 1, tsSec: 1764000000, tsNsec: 3, capLen: 1, wireLen: 1, data: Buffer.alloc(1) },
    { iface: 1, tsSec: 1764000000, tsNsec: 4, capLen: 0, wireLen: 0, data: Buffer.alloc(0) },
  ];
  p.ws.send(encodeEnvelope({ type: 'batch', seq: 1, interfaces: [IFACE], frames, counters: [] }));
  await until(() => p.messages.some((m) => m.type === 'ack' && m.seq === 1), 'ack 1');
  p.ws.close(1000);
  await p.closed;
  const stopped = await collector.stop('SIGINT');
  t.equal(stopped.code, 0);
  const stored = readStore(store);
  t.same(stored.map((f) => [f.capLen, f.wireLen]), [[54, 1514], [100, 100]], 'store: cap_len and the original length');
  t.same(parseSummary(stopped.stderr)['ws'], { received: 4, delivered: 2, dropped: 2, reasons: { short_frame: 2 } }, 'frames under 14 bytes: short_frame');
  const r = new CapfileReader();
  r.push(Buffer.concat(stdout));
  r.end();
  const piped: Array<[number, number]> = [];
  for (let rec = r.next(); rec !== null; rec = r.next()) piped.push([rec.capLen, rec.wireLen]);
  t.same(piped, [[54, 1514], [100, 100]], 'stdout: the same');
  const ts = await execFileP('tshark', ['-r', finishedFiles(store)[0]!, '-T', 'fields', '-e', 'frame.len', '-e', 'frame.cap_len']);
  t.same(ts.stdout.trim().split('\n'), ['1514\t54', '100\t100'], 'tshark reads the original length');
});

t.test('connections that never finish their upgrade request are closed at the hello timeout (slowloris); a good agent still gets in', async (t) => {
  const collector = await startCollector(t, ['--ws', '127.0.0.1:0', '--token-file', tokenFile, '--stdout'], { stdout: 'ignore' });
  const port = Number(/listening on ws 127\.0\.0\.1:(\d+)/.exec(collector.stderr())![1]);
  const started = Date.now();
  const closedAfter = await Promise.all(
    Array.from({ length: 40 }, () =>
      new Promise<number>((resolve) => {
        const s = connect(port, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nHost: x\r\n'));
        s.on('error', () => undefined);
        s.resume();
        s.on('close', () => resolve(Date.now() - started));
        // The bound of this test: well past the 10 s hello timeout, well before Node's own 60-90 s.
        setTimeout(() => s.destroy(), 40_000).unref();
      }),
    ).concat([
      (async () => {
        const good = await peer(port);
        good.ws.send(encodeEnvelope(hello('aaaaaaaaaaaaaaaa')));
        await until(() => good.messages.some((m) => m.type === 'welcome'), 'welcome');
        good.ws.close(1000);
        await good.closed;
        return 0;
      })(),
    ]),
  );
  const idle = closedAfter.slice(0, 40);
  t.ok(idle.every((ms) => ms < 30_000), `all 40 half-requests closed by the collector (slowest after ${Math.max(...idle)} ms; the hello timeout is 10 s)`);
  const stopped = await collector.stop('SIGINT');
  t.equal(stopped.code, 0);
});
