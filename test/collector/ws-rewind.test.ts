import t from 'tap';
import WebSocket from 'ws';

import { SourceTable } from '../../collector/ingest/source.js';
import { WS_CONNECTION_DROP_REASONS, WS_DROP_REASONS, WS_MESSAGE_DROP_REASONS, WsListener } from '../../collector/ingest/ws.js';
import { CollectorMetrics } from '../../collector/metrics.js';
import { decodeEnvelope, encodeEnvelope, type TunnelMessage } from '../../proto/envelope.js';
import { testFrame } from './helpers.js';

// The store can roll back from inside a frame's write (a rotation commits, and a write error
// came before it): the ws ingest must then leave the session at its last commit, not move it
// past the batch it was handing over. The store is played by the onFrame and commit callbacks
// (a real one cannot be made to fail at one chosen frame); the WebSocket is real. 127.0.0.1 only.

const IFACE = { id: 1, name: 'veth-rw', podIp: '10.77.61.2', podName: '', podNamespace: '', linkType: 1, snapLen: 262144 };

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

t.test('a rollback in the middle of a batch leaves the session at its last commit; the agent is told to resend', async (t) => {
  const metrics = new CollectorMetrics();
  let frames = 0;
  let rollBackAt = -1;
  const handed: number[] = [];
  let listener: WsListener;
  listener = await WsListener.open({
    host: '127.0.0.1',
    port: 0,
    token: undefined,
    sources: new SourceTable(),
    stage: metrics.stage('ws', WS_DROP_REASONS),
    messageStage: metrics.stage('ws_messages', WS_MESSAGE_DROP_REASONS),
    connectionStage: metrics.stage('ws_connections', WS_CONNECTION_DROP_REASONS),
    metrics,
    onFrame: (f) => {
      handed.push(f.tsNsec);
      if (++frames === rollBackAt) listener.rewind(); // what the store's onRollback does
    },
    commit: () => {
      listener.journalState();
      listener.committed();
      return true;
    },
    commitIntervalMs: 10,
  });
  t.teardown(() => listener.close());
  const ws = new WebSocket(`ws://127.0.0.1:${listener.port}`);
  const got: TunnelMessage[] = [];
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  ws.on('message', (d: Buffer) => got.push(decodeEnvelope(d)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send(encodeEnvelope({ type: 'hello', version: 1, agent: 'a', node: 'n', session: '0123456789abcdef', resumeSeq: 0, software: 't', interfaces: [IFACE] }));
  await until(() => got.some((m) => m.type === 'welcome'), 'welcome');
  const batch = (seq: number) => ({ type: 'batch' as const, seq, interfaces: [], frames: [0, 1, 2, 3].map((k) => ({ iface: 1, tsSec: 1764000000, tsNsec: seq * 10 + k, capLen: 100, wireLen: 100, data: testFrame(k) })), counters: [] });
  ws.send(encodeEnvelope(batch(1)));
  await until(() => got.some((m) => m.type === 'ack' && m.seq === 1), 'ack 1');
  rollBackAt = 6; // the second frame of batch 2
  ws.send(encodeEnvelope(batch(2)));
  t.equal(await closed, 1011, 'the agent is disconnected to resend');
  t.ok(got.some((m) => m.type === 'error' && m.code === 'PODSPAN_ERR_WS_STORE'), 'with PODSPAN_ERR_WS_STORE');
  t.same(handed, [10, 11, 12, 13, 20, 21], 'no frame of batch 2 after the rollback is handed over');
  await new Promise((r) => setTimeout(r, 50)); // commits run meanwhile
  const state = JSON.parse(listener.journalState()) as { sessions: Record<string, [number, number, number]> };
  t.same(Object.values(state.sessions), [[1, 0, 0]], 'the session stays at batch 1, the last commit');
  t.notOk(got.some((m) => m.type === 'ack' && m.seq === 2), 'batch 2 is never acknowledged');
});
