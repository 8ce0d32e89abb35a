import t, { type Test } from 'tap';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { startTcpdump } from '../native/netns-fixture.js';
import { finishedFiles, parseSummary, readStore, readStoredFile, startCollector, type StoredFrame } from '../collector/helpers.js';
import { run } from '../helpers/run.js';
import { CLI } from '../helpers/repo.js';
import { readCaptureFile, startAgent, type FileRecord } from './agent-helpers.js';
import { makePki, makeWsLab, parseWsExportLine, sendPaced, writeToken, wsPort } from './export-ws-helpers.js';

// `podspan agent --to ws://` / `wss://` against `podspan collector --ws`, with tcpdump on the
// same veth in the same run as the oracle. Network: namespaces psl-ws-* this test creates
// (10.77.60.0/24) and 127.0.0.1.

const dir = mkdtempSync(join(tmpdir(), 'podspan-export-ws-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const TOKEN = 'c2VjcmV0LXRva2VuLWZvci1wb2RzcGFu';
const tokenFile = writeToken(dir, 'token', TOKEN);
const wrongTokenFile = writeToken(dir, 'wrong-token', 'not-the-token');

/** The env of the parent without PODSPAN_TOKEN. */
function envWithoutToken(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['PODSPAN_TOKEN'];
  return env;
}

function compareFrames(t: Test, stored: StoredFrame[], oracle: FileRecord[], what: string): void {
  t.equal(stored.length, oracle.length, `${what}: as many frames as tcpdump captured (${oracle.length})`);
  let same = 0;
  let firstDiff = -1;
  for (let i = 0; i < Math.min(stored.length, oracle.length); i++) {
    const s = stored[i]!;
    const o = oracle[i]!;
    if (s.data.equals(o.data) && s.capLen === o.capLen && s.wireLen === o.wireLen) same++;
    else if (firstDiff < 0) firstDiff = i;
  }
  t.equal(same, oracle.length, `${what}: frame i of the store == frame i of tcpdump (bytes, lengths, order)${firstDiff >= 0 ? `; first difference at ${firstDiff}` : ''}`);
}

/** Largest |stored - tcpdump| timestamp difference in ns (frames paired by index). */
function maxTsDiffNs(stored: StoredFrame[], oracle: FileRecord[]): number {
  let max = 0;
  for (let i = 0; i < Math.min(stored.length, oracle.length); i++) {
    const d = Math.abs((stored[i]!.tsSec - oracle[i]!.tsSec) * 1e9 + (stored[i]!.tsNsec - oracle[i]!.tsNsec));
    if (d > max) max = d;
  }
  return max;
}

t.test('agent -> ws -> collector: the store holds tcpdump\'s frames, bytes, order and capture timestamps', async (t) => {
  const lab = await makeWsLab(t, 'x', 0);
  const store = join(dir, 'store-basic');
  const collector = await startCollector(t, ['--ws', '127.0.0.1:0', '--token-file', tokenFile, '--out', store, '--split-by', 'pod']);
  const port = wsPort(collector.stderr());
  const filter = 'udp and dst port 41060';
  const pcap = join(dir, 'basic-tcpdump.pcap');
  const tcpdump = await startTcpdump(t, lab.nsB, lab.ifB, filter, pcap);
  const N = 600;
  const url = `ws://127.0.0.1:${port}`;
  const agent = await startAgent(t, ['--iface', lab.ifB, '--netns', lab.nsB, '--filter', filter, '-c', String(N), '--to', url, '--token-file', tokenFile]);
  t.equal(await sendPaced(lab.nsA, lab.ipB, 41060, N, 20, 5), N, `${N} datagrams sent across the veth`);
  const code = await Promise.race([agent.exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 20_000))]);
  t.equal(code, 0, 'the agent exits 0 after -c');
  const line = parseWsExportLine(agent.stderr());
  t.ok(line, `ws export summary line:\n${agent.stderr()}`);
  t.same(line, { exported: N, url, notExported: 0, spoolFull: 0, unacked: 0, error: 0, truncated: 0 }, 'every frame exported and acknowledged');
  await tcpdump.stop();
  const stopped = await collector.stop('SIGINT');
  t.equal(stopped.code, 0, 'the collector exits 0');
  const summary = parseSummary(stopped.stderr);
  t.same(summary['ws'], { received: N, delivered: N, dropped: 0, reasons: {} }, 'ws stage: every frame to the sinks');
  t.same(summary['ws_connections'], { received: 1, delivered: 1, dropped: 0, reasons: {} }, 'one connection');

  const oracle = readCaptureFile(pcap).records;
  t.equal(oracle.length, N, `tcpdump captured ${N}`);
  const stored = readStore(store);
  compareFrames(t, stored, oracle, 'ws');
  const d = maxTsDiffNs(stored, oracle);
  t.ok(d <= 1_000_000, `stored timestamps are the capture timestamps: max difference to tcpdump ${d} ns (<= 1 ms)`);
  const files = finishedFiles(store);
  t.equal(files.length, 1, 'one file (one pod)');
  // No pod IP or name with --iface: the pod key is the agent and its interface.
  t.match(files[0]!, new RegExp(`-ws-.*-${lab.ifB}\\.pcapng$`), 'split by pod names the file after the mirrored interface');
  const f = readStoredFile(files[0]!);
  t.equal(f.interfaces.length, 1, 'one interface block');
  t.match(f.interfaces[0]!.name ?? '', new RegExp(`/${lab.ifB}$`), 'if_name is agent/interface');
  t.match(f.interfaces[0]!.description ?? '', new RegExp(`${lab.ifB}, agent .* over ws`), 'if_description names the interface and the agent');
  const comments = f.stats.flatMap((s) => s.comments);
  t.ok(comments.some((c) => /^agent .* export received=\d+ delivered=\d+ dropped=0$/.test(c)), `the agent's own counters are in the ISB comments:\n${comments.join('\n')}`);
  t.ok(comments.some((c) => /^ws received=600 delivered=600 dropped=0$/.test(c)) || comments.some((c) => /^ws received=\d+/.test(c)), 'the ws stage counters are in the ISB comments');
});

t.test('collector SIGKILLed mid-stream and restarted: no frame lost or duplicated', async (t) => {
  const lab = await makeWsLab(t, 'k', 10);
  const store = join(dir, 'store-kill');
  // Small files: rotations (which commit) happen all through the stream.
  const first = await startCollector(t, ['--ws', '127.0.0.1:0', '--token-file', tokenFile, '--out', store, '--rotate-size', '64K']);
  const port = wsPort(first.stderr());
  const filter = 'udp and dst port 41061';
  const pcap = join(dir, 'kill-tcpdump.pcap');
  const tcpdump = await startTcpdump(t, lab.nsB, lab.ifB, filter, pcap);
  const N = 3000;
  const url = `ws://127.0.0.1:${port}`;
  const agent = await startAgent(t, ['--iface', lab.ifB, '--netns', lab.nsB, '--filter', filter, '-c', String(N), '--to', url, '--token-file', tokenFile]);
  const sending = sendPaced(lab.nsA, lab.ipB, 41061, N, 10, 10); // about 3 s
  // Kill once the store holds some of the stream (committed or not).
  const deadline = Date.now() + 15_000;
  const partBytes = (): number => {
    try {
      return readdirSync(store)
        .filter((n) => n.startsWith('podspan-'))
        .reduce((a, n) => a + statSync(join(store, n)).size, 0);
    } catch {
      return 0;
    }
  };
  while (Date.now() < deadline && partBytes() < 300_000) await new Promise((r) => setTimeout(r, 20));
  first.proc.kill('SIGKILL');
  const killed = await first.exited;
  t.equal(killed.signal, 'SIGKILL', 'the first collector was killed');
  await new Promise((r) => setTimeout(r, 300));
  const second = await startCollector(t, ['--ws', `127.0.0.1:${port}`, '--token-file', tokenFile, '--out', store, '--rotate-size', '64K']);
  t.equal(await sending, N, `${N} datagrams sent`);
  const code = await Promise.race([agent.exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 30_000))]);
  t.equal(code, 0, 'the agent exits 0 after -c');
  const line = parseWsExportLine(agent.stderr());
  t.same(line, { exported: N, url, notExported: 0, spoolFull: 0, unacked: 0, error: 0, truncated: 0 }, `every frame acknowledged in the end:\n${agent.stderr()}`);
  await tcpdump.stop();
  const stopped = await second.stop('SIGINT');
  t.equal(stopped.code, 0, 'the restarted collector exits 0');
  t.match(second.stderr(), /journal: kept the last commit/, 'the restarted collector applied its journal');
  const summary = parseSummary(stopped.stderr);
  t.ok((summary['ws']?.reasons['duplicate'] ?? 0) >= 0, `resent frames already stored are counted as duplicate: ${JSON.stringify(summary['ws'])}`);

  const oracle = readCaptureFile(pcap).records;
  t.equal(oracle.length, N, `tcpdump captured ${N}`);
  const stored = readStore(store);
  compareFrames(t, stored, oracle, 'after SIGKILL and restart');
  const ids = stored.map((f) => f.data.readUInt32BE(42));
  t.equal(new Set(ids).size, ids.length, 'no datagram index stored twice');
});

t.test('an agent without the token, or with a wrong one, is refused (exit 2, 401 counted)', async (t) => {
  const collector = await startCollector(t, ['--ws', '127.0.0.1:0', '--token-file', tokenFile, '--out', join(dir, 'store-auth')]);
  const url = `ws://127.0.0.1:${wsPort(collector.stderr())}`;
  const none = await run(process.execPath, [CLI, 'agent', '--iface', 'lo', '--to', url, '-c', '1'], { env: envWithoutToken(), timeoutMs: 20_000 });
  t.equal(none.code, 2, 'no token: exit 2');
  t.match(none.stderr, /refused the bearer token \(HTTP 401\): no token was given/, 'says the token was refused');
  const wrong = await run(process.execPath, [CLI, 'agent', '--iface', 'lo', '--to', url, '--token-file', wrongTokenFile, '-c', '1'], { env: envWithoutToken(), timeoutMs: 20_000 });
  t.equal(wrong.code, 2, 'wrong token: exit 2');
  t.match(wrong.stderr, /refused the bearer token \(HTTP 401\)/);
  const viaEnv = await run(process.execPath, [CLI, 'agent', '--iface', 'lo', '--filter', 'udp port 9', '--to', url, '--duration', '0.3'], { env: { ...envWithoutToken(), PODSPAN_TOKEN: TOKEN }, timeoutMs: 20_000 });
  t.equal(viaEnv.code, 0, `the token from PODSPAN_TOKEN is accepted:\n${viaEnv.stderr}`);
  const stopped = await collector.stop('SIGINT');
  const s = parseSummary(stopped.stderr);
  t.same(s['ws_connections'], { received: 3, delivered: 1, dropped: 2, reasons: { auth_failed: 2 } }, 'two refusals counted as auth_failed');
  const noToken = await run(process.execPath, [CLI, 'collector', '--ws', '127.0.0.1:0', '--out', join(dir, 'x')], { timeoutMs: 20_000 });
  t.equal(noToken.code, 2, 'a --ws collector without --token-file or --insecure-no-token does not start');
  t.match(noToken.stderr, /--ws needs --token-file FILE/);
});

t.test('wss with a CA the test made works; a wrong CA is refused', async (t) => {
  const pki = await makePki(dir);
  const store = join(dir, 'store-tls');
  const collector = await startCollector(t, ['--ws', '127.0.0.1:0', '--tls-cert', pki.cert, '--tls-key', pki.key, '--token-file', tokenFile, '--out', store]);
  t.match(collector.stderr(), /listening on wss 127\.0\.0\.1:\d+/);
  const port = wsPort(collector.stderr());
  const lab = await makeWsLab(t, 't', 20);
  const filter = 'udp and dst port 41062';
  const N = 100;
  for (const host of ['127.0.0.1', 'localhost']) {
    const agent = await startAgent(t, ['--iface', lab.ifB, '--netns', lab.nsB, '--filter', filter, '-c', String(N), '--to', `wss://${host}:${port}`, '--token-file', tokenFile, '--ca', pki.ca]);
    t.equal(await sendPaced(lab.nsA, lab.ipB, 41062, N, 20, 5), N);
    t.equal(await agent.exited, 0, `wss://${host}: the agent exits 0`);
    t.same(parseWsExportLine(agent.stderr())?.exported, N, `wss://${host}: all ${N} frames acknowledged`);
  }
  const wrong = await run(process.execPath, [CLI, 'agent', '--iface', 'lo', '--to', `wss://127.0.0.1:${port}`, '--token-file', tokenFile, '--ca', pki.otherCa, '-c', '1'], { timeoutMs: 20_000 });
  t.equal(wrong.code, 2, 'wrong CA: exit 2');
  t.match(wrong.stderr, /TLS with wss:\/\/127\.0\.0\.1:\d+ failed/, `says TLS failed:\n${wrong.stderr}`);
  const noCa = await run(process.execPath, [CLI, 'agent', '--iface', 'lo', '--to', `wss://127.0.0.1:${port}`, '--token-file', tokenFile, '-c', '1'], { timeoutMs: 20_000 });
  t.equal(noCa.code, 2, 'no CA (system CAs do not know the test CA): exit 2');
  t.match(noCa.stderr, /--ca FILE/, 'and says to give --ca');
  const stopped = await collector.stop('SIGINT');
  t.equal(stopped.code, 0);
  t.equal(readStore(store).length, 2 * N, 'the store holds both runs');
  t.ok(readFileSync(pki.ca).includes('BEGIN CERTIFICATE'));
});

t.test('forced loss (tiny spool, stopped collector): every frame is exported or counted', async (t) => {
  const lab = await makeWsLab(t, 'l', 30);
  const store = join(dir, 'store-loss');
  const collector = await startCollector(t, ['--ws', '127.0.0.1:0', '--token-file', tokenFile, '--out', store]);
  const port = wsPort(collector.stderr());
  const filter = 'udp and dst port 41063';
  const N = 1500;
  const agent = await startAgent(t, ['--iface', lab.ifB, '--netns', lab.nsB, '--filter', filter, '-c', String(N), '--to', `ws://127.0.0.1:${port}`, '--token-file', tokenFile, '--spool-size', '300K']);
  t.equal(await sendPaced(lab.nsA, lab.ipB, 41063, 300, 20, 5), 300, 'first 300 while the collector runs');
  await new Promise((r) => setTimeout(r, 500));
  collector.proc.kill('SIGSTOP'); // alive but silent: no acks, the spool fills
  t.teardown(() => {
    collector.proc.kill('SIGCONT');
  });
  t.equal(await sendPaced(lab.nsA, lab.ipB, 41063, N - 300, 20, 5), N - 300, 'the rest while it is stopped');
  const code = await Promise.race([agent.exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 30_000))]);
  t.equal(code, 0, 'the agent exits 0 after -c (after its bounded wait for acks)');
  collector.proc.kill('SIGCONT');
  const line = parseWsExportLine(agent.stderr());
  t.ok(line, agent.stderr());
  if (line === undefined) return;
  t.ok(line.spoolFull > 0, `frames dropped as export_spool_full: ${line.spoolFull}`);
  t.equal(line.exported + line.spoolFull + line.unacked + line.error, N, `agent: captured ${N} == exported ${line.exported} + spool_full ${line.spoolFull} + unacked ${line.unacked} + error ${line.error}`);
  t.equal(line.notExported, line.spoolFull + line.unacked + line.error, 'not exported = sum of the reasons');
  t.ok(line.exported >= 300, 'what was acknowledged before the stop counts as exported');
  const stopped = await collector.stop('SIGINT');
  t.equal(stopped.code, 0, 'collector exits 0: every stage adds up');
  t.notMatch(stopped.stderr, /BUG: counters do not add up/);
  const s = parseSummary(stopped.stderr);
  for (const [name, st] of Object.entries(s)) t.equal(st.received, st.delivered + st.dropped, `collector stage ${name}: received == delivered + dropped`);
  const stored = readStore(store).length;
  t.equal(stored, s['store']?.delivered, 'the store holds what it says it delivered');
  t.ok(stored >= line.exported, `the store holds at least the acknowledged frames (${stored} >= ${line.exported})`);
});
