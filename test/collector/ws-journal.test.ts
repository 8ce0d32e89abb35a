import t from 'tap';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { IngestFrame } from '../../collector/ingest/frame.js';
import { SourceTable, type Source } from '../../collector/ingest/source.js';
import { CollectorMetrics } from '../../collector/metrics.js';
import { PcapngStore, STORE_DROP_REASONS, STORE_JOURNAL_NAME } from '../../collector/sink/pcapng-store.js';
import { finishedFiles, readStore, testFrame } from './helpers.js';

// The store's commit journal, which the WebSocket ingest's acknowledgements rest on: after a
// crash (here: a store abandoned without close(), its later writes on disk), the reopened
// store holds exactly the committed frames and hands back the committed state.

const dir = mkdtempSync(join(tmpdir(), 'podspan-ws-journal-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function openStore(d: string, extra: { rotateBytes?: number; batchBytes?: number } = {}): { store: PcapngStore; source: Source; metrics: CollectorMetrics } {
  const metrics = new CollectorMetrics();
  const store = PcapngStore.open({ dir: d, stage: metrics.stage('store', STORE_DROP_REASONS), metrics, journal: true, flushIntervalMs: 3_600_000, ...extra });
  const source = new SourceTable().vxlanSource('10.77.60.1', 42)!;
  return { store, source, metrics };
}

function write(store: PcapngStore, source: Source, from: number, to: number): void {
  const f = new IngestFrame();
  for (let n = from; n < to; n++) {
    f.data = testFrame(n, 200);
    f.tsSec = 1764000000;
    f.tsNsec = n;
    f.source = source;
    store.write(f as IngestFrame & { source: Source });
  }
}

const ids = (d: string): number[] => readStore(d).map((f) => f.data.readUInt32BE(14));

t.test('a crash after a commit: the reopened store holds exactly the committed frames and state', async (t) => {
  const d = join(dir, 'a');
  const { store, source } = openStore(d, { batchBytes: 4096 });
  let state = 'before';
  store.journalState = () => state;
  let commits = 0;
  store.onCommit = () => commits++;
  write(store, source, 0, 50);
  state = 'fifty';
  t.ok(store.commit(), 'commit succeeds');
  t.equal(commits, 1, 'onCommit called');
  write(store, source, 50, 80); // written to disk (small batch buffer), never committed
  const part = readdirSync(d).find((n) => n.endsWith('.part'))!;
  t.ok(part, 'a .part file is open');
  // Crash: the store is abandoned without close().
  const again = openStore(d);
  t.equal(again.store.recoveredState, 'fifty', 'the committed state comes back');
  t.ok((again.store.journalRecovery?.truncated.length ?? 0) === 1, 'the open file was cut back to its committed length');
  await again.store.close();
  t.same(ids(d), Array.from({ length: 50 }, (_, i) => i), 'frames 0..49, nothing after the commit');
  t.ok(existsSync(join(d, STORE_JOURNAL_NAME)), 'the journal stays');
  const last = readFileSync(join(d, STORE_JOURNAL_NAME), 'utf8').trim().split('\n').pop()!;
  t.equal((JSON.parse(last) as { state: string }).state, 'fifty', 'the journal still says the last committed state');
});

t.test('with rotation mid-stream, the recovered state always names exactly the frames the store kept', async (t) => {
  // The ws ingest counts a frame as handed over before the store sees it, so a commit the
  // store makes inside write() (rotation) records a state that includes that frame.
  for (const crashAt of [7, 23, 38, 51, 64]) {
    const d = join(dir, `rot-${crashAt}`);
    const { store, source } = openStore(d, { rotateBytes: 2500, batchBytes: 700 });
    let handed = 0;
    store.journalState = () => String(handed);
    for (let n = 0; n < crashAt; n++) {
      handed = n + 1;
      write(store, source, n, n + 1);
      if (n % 17 === 16) t.ok(store.commit(), `commit after frame ${n}`);
    }
    const rotated = finishedFiles(d).length;
    // Crash: abandoned without close().
    const again = openStore(d);
    const k = Number(again.store.recoveredState ?? '0');
    await again.store.close();
    const got = ids(d);
    t.same(got, Array.from({ length: k }, (_, i) => i), `crash after ${crashAt} frames (${rotated} rotations): the store holds exactly frames 0..${k - 1}, as the recovered state says`);
    t.ok(k <= crashAt, `recovered ${k} of ${crashAt} (0 when nothing was committed yet)`);
    t.notOk(readdirSync(d).some((x) => x.endsWith('.part')), 'no .part left');
  }
});
