import t from 'tap';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import WebSocket from 'ws';

import { Collector } from '../../collector/collector.js';
import { decodeEnvelope, encodeEnvelope, type TunnelMessage } from '../../proto/envelope.js';
import { readStore, testFrame } from './helpers.js';

// The trickiest case of the ack design, made deterministic: the store rotates (and so
// commits) in the MIDDLE of a batch, then the collector dies before the batch is acked.
// "Dies" = its directory is copied as it is on disk at that moment (commits are fsynced;
// whatever came after is cut by the journal) and a second collector opens the copy. The
// agent resends the batch; the second collector must skip exactly the frames the store
// already holds. Network: 127.0.0.1 only.

const dir = mkdtempSync(join(tmpdir(), 'podspan-ws-resume-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const TOKEN = 'resume-token';
const SESSION = 'abcdefabcdef0123';
const IFACE = { id: 1, name: 'ws-veth0', podIp: '10.77.60.5', podName: '', podNamespace: '', linkType: 1, snapLen: 262144 };

async function client(port: number): Promise<{ ws: WebSocket; got: TunnelMessage[] }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  const got: TunnelMessage[] = [];
  ws.on('message', (d: Buffer) => got.push(decodeEnvelope(d)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send(encodeEnvelope({ type: 'hello', version: 1, agent: 'agent-r', node: 'n', session: SESSION, resumeSeq: 0, software: 't', interfaces: [IFACE] }));
  await until(() => got.some((m) => m.type === 'welcome'));
  return { ws, got };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const frames = Array.from({ length: 10 }, (_, n) => ({ iface: 1, tsSec: 1764000000, tsNsec: n, capLen: 1000, wireLen: 1000, data: testFrame(n, 1000) }));

t.test('a rotation commits mid-batch, the collector dies, the resent batch is stored once', async (t) => {
  const a = join(dir, 'a');
  // Timer commits off: only the store's rotations commit.
  const first = await Collector.start({ ws: { host: '127.0.0.1', port: 0, token: TOKEN, commitIntervalMs: 3_600_000 }, store: { dir: a, rotateBytes: 3500 } });
  t.teardown(() => first.stop());
  const c1 = await client(first.wsListener!.port);
  c1.ws.send(encodeEnvelope({ type: 'batch', seq: 1, interfaces: [], frames, counters: [] }));
  await until(() => first.metrics.stages.find((s) => s.name === 'ws')!.delivered === 10);
  t.equal(c1.got.filter((m) => m.type === 'ack').length, 0, 'no ack: the batch was never fully committed');
  t.ok(first.store!.commits >= 2, `the store committed at its rotations (${first.store!.commits})`);

  // The crash: what is on disk now is all a restarted collector sees.
  const b = join(dir, 'b');
  cpSync(a, b, { recursive: true });
  c1.ws.terminate();

  const second = await Collector.start({ ws: { host: '127.0.0.1', port: 0, token: TOKEN }, store: { dir: b, rotateBytes: 3500 } });
  t.ok(second.store!.recoveredState !== undefined, 'the journal gave back a state');
  const st = JSON.parse(second.store!.recoveredState!) as { sessions: Record<string, [number, number, number]> };
  const [seq, partialSeq, partialFrames] = Object.values(st.sessions)[0]!;
  t.equal(seq, 0, 'no batch complete at the last commit');
  t.equal(partialSeq, 1, 'batch 1 was being stored');
  t.ok(partialFrames > 0 && partialFrames < 10, `${partialFrames} of its frames were committed`);
  const c2 = await client(second.wsListener!.port);
  t.same(c2.got[0], { type: 'welcome', version: 1, committedSeq: 0 }, 'welcome: resend from batch 1');
  c2.ws.send(encodeEnvelope({ type: 'batch', seq: 1, interfaces: [], frames, counters: [] }));
  await until(() => c2.got.some((m) => m.type === 'ack' && m.seq === 1));
  c2.ws.close();
  const summary = await second.stop();
  const ws = summary.stages.find((s) => s.stage === 'ws')!;
  t.equal(ws.dropped['duplicate'], partialFrames, 'exactly the committed frames are skipped as duplicate');
  t.equal(ws.delivered, 10 - partialFrames, 'the rest delivered');
  const stored = readStore(b).map((f) => f.data.readUInt32BE(14));
  t.same(stored, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'frames 0..9, each once, in order');
});
