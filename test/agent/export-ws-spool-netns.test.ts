import t from 'tap';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { startTcpdump } from '../native/netns-fixture.js';
import { parseSummary, readStore, startCollector } from '../collector/helpers.js';
import { readCaptureFile, startAgent } from './agent-helpers.js';
import { makeWsLab, parseWsExportLine, sendPaced, writeToken, wsPort } from './export-ws-helpers.js';

// --spool-dir: an agent that stops while the collector does not answer leaves its
// unacknowledged batches on disk; the next agent with the same directory resends them and
// the collector stores every frame once (tcpdump on the same veth is the oracle).
// Network: namespaces psl-ws-* this test creates (10.77.60.0/24) and 127.0.0.1.

const dir = mkdtempSync(join(tmpdir(), 'podspan-export-ws-spool-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const tokenFile = writeToken(dir, 'token', 'spool-test-token');

t.test('unacknowledged batches survive the agent in --spool-dir and are delivered by the next one', async (t) => {
  const lab = await makeWsLab(t, 's', 40);
  const store = join(dir, 'store');
  const spool = join(dir, 'spool');
  const collector = await startCollector(t, ['--ws', '127.0.0.1:0', '--token-file', tokenFile, '--out', store]);
  t.teardown(() => {
    collector.proc.kill('SIGCONT');
  });
  const url = `ws://127.0.0.1:${wsPort(collector.stderr())}`;
  const filter = 'udp and dst port 41064';
  const pcap = join(dir, 'spool-tcpdump.pcap');
  const tcpdump = await startTcpdump(t, lab.nsB, lab.ifB, filter, pcap);
  const N = 400;
  const first = await startAgent(t, ['--iface', lab.ifB, '--netns', lab.nsB, '--filter', filter, '--to', url, '--token-file', tokenFile, '--spool-dir', spool]);
  t.equal(await sendPaced(lab.nsA, lab.ipB, 41064, 100, 20, 5), 100, 'first 100 while the collector answers');
  await new Promise((r) => setTimeout(r, 500));
  collector.proc.kill('SIGSTOP');
  t.equal(await sendPaced(lab.nsA, lab.ipB, 41064, N - 100, 20, 5), N - 100, `${N - 100} more while it does not`);
  await new Promise((r) => setTimeout(r, 300));
  t.equal(await first.stop(), 0, 'the first agent exits 0 on SIGINT (after its bounded wait for acks)');
  const l1 = parseWsExportLine(first.stderr());
  t.ok(l1 !== undefined && l1.unacked > 0, `some frames unacknowledged at exit:\n${first.stderr()}`);
  const left = readdirSync(spool).filter((n) => n.endsWith('.batch'));
  t.ok(left.length > 0, `${left.length} batch files left in --spool-dir`);
  collector.proc.kill('SIGCONT');

  const second = await startAgent(t, ['--iface', lab.ifB, '--netns', lab.nsB, '--filter', filter, '--to', url, '--token-file', tokenFile, '--spool-dir', spool, '--duration', '2']);
  t.equal(await second.exited, 0, 'the second agent exits 0');
  t.same(readdirSync(spool).filter((n) => n.endsWith('.batch')), [], 'it delivered every batch the first one left');
  await tcpdump.stop();
  const stopped = await collector.stop('SIGINT');
  t.equal(stopped.code, 0, 'collector exits 0');
  const s = parseSummary(stopped.stderr);
  t.equal(s['ws']!.received, s['ws']!.delivered + s['ws']!.dropped, 'ws stage adds up');

  const oracle = readCaptureFile(pcap).records;
  t.equal(oracle.length, N, `tcpdump captured ${N}`);
  const stored = readStore(store);
  t.equal(stored.length, N, 'the store holds every frame');
  t.same(
    stored.map((f) => f.data.toString('hex')),
    oracle.map((f) => f.data.toString('hex')),
    'the same frames as tcpdump, once each, in order',
  );
});
