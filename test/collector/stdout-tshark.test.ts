import t from 'tap';
import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import { IngestFrame } from '../../collector/ingest/frame.js';
import { SourceTable, type Source } from '../../collector/ingest/source.js';
import { CollectorMetrics } from '../../collector/metrics.js';
import { STDOUT_DROP_REASONS, StdoutSink } from '../../collector/sink/stdout.js';
import { buildVxlanHeader } from '../../packet/encap/vxlan.js';
import { CLI } from '../helpers/repo.js';
import { listeningPorts, parseSummary, sendDatagrams, sleep, startCollector, testFrame } from './helpers.js';
import { pidAlive } from '../helpers/run.js';

// --stdout: a live pcap stream for tshark / Wireshark, bounded, quiet on EPIPE.
// Network: UDP on 127.0.0.1 only.

/**
 * `podspan collector ARGS | READER` through a real pipe (bash; node:child_process 'pipe'
 * is a socketpair, which tshark reads differently). Resolves once the collector listens.
 */
async function pipeline(t: Test, args: string[], reader: string) {
  const dir = mkdtempSync(join(tmpdir(), 'psl-tc-pipe-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pidFile = join(dir, 'pid');
  const errFile = join(dir, 'err');
  const quoted = [process.execPath, CLI, 'collector', ...args].map((a) => `'${a}'`).join(' ');
  const sh = spawn('bash', ['-c', `{ echo $BASHPID > '${pidFile}'; exec ${quoted} 2>'${errFile}'; } | ${reader}`], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  sh.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((res) => sh.once('close', (code) => res(code)));
  const err = (): string => (existsSync(errFile) ? readFileSync(errFile, 'utf8') : '');
  const pid = (): number => Number(readFileSync(pidFile, 'utf8'));
  t.teardown(() => {
    try {
      process.kill(pid(), 'SIGKILL');
    } catch {
      // gone
    }
    if (sh.exitCode === null) sh.kill('SIGKILL');
  });
  const deadline = Date.now() + 15_000;
  while (!err().includes('listening on') && Date.now() < deadline) await sleep(20);
  return { out: () => out, err, pid, exited, alive: () => pidAlive(pid()) };
}

t.test('--stdout piped into `tshark -r -`: tshark shows the frames live, before the collector stops', async (t) => {
  const p = await pipeline(t, ['--vxlan', '127.0.0.1:0', '--stdout'], 'tshark -l -r - -T fields -e frame.len -e eth.src -e eth.dst 2>/dev/null');
  const port = listeningPorts(p.err())[0]!;
  const N = 25;
  await sendDatagrams('127.0.0.1', port, Array.from({ length: N }, (_, i) => [buildVxlanHeader(42), testFrame(i, 60 + i)]));
  const deadline = Date.now() + 15_000;
  const lines = (): string[] => p.out().split('\n').filter((l) => l !== '');
  while (lines().length < N && Date.now() < deadline) await sleep(25);
  t.equal(lines().length, N, 'tshark printed every frame while the collector still runs');
  t.ok(p.alive(), 'collector still running');
  t.same(
    lines().map((l) => l.split('\t')),
    Array.from({ length: N }, (_, i) => [String(60 + i), '02:00:00:00:00:01', '02:00:00:00:00:02']),
  );
  process.kill(p.pid(), 'SIGINT');
  t.equal(await p.exited, 0, 'tshark sees a clean end of stream');
  t.same(parseSummary(p.err())['stdout'], { received: N, delivered: N, dropped: 0, reasons: {} });
});

t.test('the reader going away (EPIPE) ends the collector quietly when stdout was its only sink', async (t) => {
  const p = await pipeline(t, ['--vxlan', '127.0.0.1:0', '--stdout'], 'head -c 100 >/dev/null');
  const port = listeningPorts(p.err())[0]!;
  const deadline = Date.now() + 15_000;
  let sent = 0;
  while (p.alive() && Date.now() < deadline && sent < 2000) {
    await sendDatagrams('127.0.0.1', port, Array.from({ length: 20 }, (_, i) => [buildVxlanHeader(1), testFrame(sent + i, 500)]));
    sent += 20;
    await sleep(10);
  }
  await p.exited;
  while (p.alive() && Date.now() < deadline) await sleep(20);
  t.notOk(p.alive(), 'the collector exited');
  t.match(p.err(), /stdout: the reader went away \(EPIPE\)/);
  t.notMatch(p.err(), /Error|internal error|at .*\.js:\d+/, 'no error message or stack');
  const s = parseSummary(p.err())['stdout']!;
  t.ok(s.received > 0);
  t.equal(s.received, s.delivered + s.dropped, 'received == delivered + Σ dropped');
});

t.test('a reader that stops reading: the queue stays bounded and the excess is counted stdout_queue_full', async (t) => {
  const metrics = new CollectorMetrics();
  const stage = metrics.stage('stdout', STDOUT_DROP_REASONS);
  // Never completes a write: everything handed to it stays in writableLength.
  const stuck = new Writable({ highWaterMark: 16 * 1024, write: () => undefined });
  const sink = new StdoutSink({ stage, stream: stuck, maxQueueBytes: 64 * 1024 });
  const source = new SourceTable().vxlanSource('10.0.0.5', 1)!;
  const f = new IngestFrame();
  f.source = source;
  let maxQueued = 0;
  for (let i = 0; i < 1000; i++) {
    f.data = testFrame(i, 1000);
    sink.write(f as IngestFrame & { source: Source });
    if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    maxQueued = Math.max(maxQueued, stuck.writableLength);
  }
  await new Promise((r) => setImmediate(r));
  t.ok(stuck.writableLength <= 64 * 1024, `queued ${stuck.writableLength} bytes <= 64 KiB`);
  t.ok(maxQueued <= 64 * 1024);
  t.ok(stage.dropped.stdout_queue_full > 900, `${stage.dropped.stdout_queue_full} dropped as stdout_queue_full`);
  t.ok(stage.delivered > 50, `${stage.delivered} delivered`);
  t.ok(stage.balanced(), 'received == delivered + Σ dropped');
  // close() waits (bounded) for a drain that never comes, then returns.
  const t0 = Date.now();
  await sink.close();
  t.ok(Date.now() - t0 < 3000);
  sink.write(f as IngestFrame & { source: Source });
  t.equal(stage.dropped.closed, 1, 'after close: counted as closed');
  t.ok(stage.balanced());
});

t.test('SIGTERM with a --stdout reader that stopped reading: the collector still exits, and says what the reader did not take', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'podspan-stdout-stall-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // The test never reads the collector's stdout: the pipe fills and stays full.
  const collector = await startCollector(t, ['--vxlan', '127.0.0.1:0', '--out', join(dir, 'store'), '--stdout']);
  const port = listeningPorts(collector.stderr())[0]!;
  await sendDatagrams('127.0.0.1', port, Array.from({ length: 3000 }, (_, i) => [buildVxlanHeader(42), testFrame(i, 1000)]));
  await sleep(500);
  collector.proc.kill('SIGTERM');
  const done = await Promise.race([collector.exited, sleep(20_000).then(() => 'still running' as const)]);
  t.not(done, 'still running', 'exits while the reader is still there');
  if (done === 'still running') return;
  t.equal(done.code, 0);
  t.match(done.stderr, /stdout: the reader stopped reading; \d+ bytes still queued for it were not written/);
  const s = parseSummary(done.stderr);
  t.equal(s['store']?.delivered, 3000, 'the store has every frame');
});
