import t from 'tap';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { startTcpdump } from '../native/netns-fixture.js';
import { execFileP, parseSummary, readStore, startCollector } from '../collector/helpers.js';
import { readCaptureFile, startAgent } from './agent-helpers.js';
import { makeWsLab, parseWsExportLine, sendPaced, writeToken, wsPort } from './export-ws-helpers.js';

// The collector's disk fills up while an agent streams to it over the WebSocket tunnel, then
// frees up again. Every frame the collector acknowledged must be in its files, and the agent
// must get every other one stored by resending: in the end the store holds exactly what
// tcpdump captured on the veth, once each. Network: namespaces psl-ws-*f-a|b this test
// creates (10.77.60.51/.52) and 127.0.0.1; a 4 MiB tmpfs it mounts and unmounts.

const dir = mkdtempSync(join(tmpdir(), 'podspan-ws-disk-full-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const tokenFile = writeToken(dir, 'token', 'disk-full-token');

/** Writes zeros to `path` until the file system says ENOSPC; returns the bytes written. */
function fill(path: string): number {
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(16 * 1024);
  let n = 0;
  try {
    for (;;) n += writeSync(fd, block);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
  return n;
}

t.test('disk full mid-stream, then freed: nothing acknowledged is lost, the rest is resent, nothing is stored twice', async (t) => {
  const fs = join(dir, 'fs');
  mkdirSync(fs);
  try {
    await execFileP('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'psl-ws-full', fs]);
  } catch (e) {
    if (process.env['CI'] === 'true') throw e;
    t.comment(`SKIP: cannot mount a tmpfs here (${(e as Error).message.trim()})`);
    return;
  }
  t.teardown(() => execFileP('umount', [fs]).catch(() => undefined));
  const store = join(fs, 'store');
  const filler = join(fs, 'filler');
  const lab = await makeWsLab(t, 'f', 50);
  const collector = await startCollector(t, ['--ws', '127.0.0.1:0', '--token-file', tokenFile, '--out', store, '--rotate-size', '64K']);
  const port = wsPort(collector.stderr());
  const filter = 'udp and dst port 41064';
  const pcap = join(dir, 'tcpdump.pcap');
  const tcpdump = await startTcpdump(t, lab.nsB, lab.ifB, filter, pcap);
  const N = 3000;
  const url = `ws://127.0.0.1:${port}`;
  const agent = await startAgent(t, ['--iface', lab.ifB, '--netns', lab.nsB, '--filter', filter, '-c', String(N), '--to', url, '--token-file', tokenFile]);
  const sending = sendPaced(lab.nsA, lab.ipB, 41064, N, 10, 10); // about 3 s

  const storeBytes = (): number => readdirSync(store).reduce((a, n) => a + statSync(join(store, n)).size, 0);
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && storeBytes() < 300_000) await new Promise((r) => setTimeout(r, 20));
  const filled = fill(filler);
  t.ok(filled > 0, `filled the disk with ${filled} bytes`);
  const errDeadline = Date.now() + 10_000;
  while (Date.now() < errDeadline && !/podspan collector: store: .*ENOSPC/.test(collector.stderr())) await new Promise((r) => setTimeout(r, 20));
  t.match(collector.stderr(), /podspan collector: store: .*ENOSPC.*counted as store write_error/, 'the collector says its disk is full');
  await new Promise((r) => setTimeout(r, 1000)); // the agent keeps sending into a full disk
  rmSync(filler);

  t.equal(await sending, N, `${N} datagrams sent`);
  const code = await Promise.race([agent.exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 60_000))]);
  t.equal(code, 0, 'the agent exits 0 after -c');
  const line = parseWsExportLine(agent.stderr());
  t.same(line, { exported: N, url, notExported: 0, spoolFull: 0, unacked: 0, error: 0, truncated: 0 }, `every frame acknowledged in the end:\n${agent.stderr()}`);
  await tcpdump.stop();
  const stopped = await collector.stop('SIGINT');
  t.equal(stopped.code, 0, `the collector exits 0:\n${stopped.stderr}`);
  const summary = parseSummary(stopped.stderr);
  t.ok((summary['store']?.reasons['write_error'] ?? 0) > 0, `frames were refused by the full disk: ${JSON.stringify(summary['store'])}`);
  t.match(stopped.stderr, /cut back to the last commit \d+ times/, 'and the store went back to its last commit');

  const oracle = readCaptureFile(pcap).records;
  t.equal(oracle.length, N, `tcpdump captured ${N}`);
  const stored = readStore(store);
  const ids = stored.map((f) => f.data.readUInt32BE(42));
  t.equal(new Set(ids).size, ids.length, 'no datagram stored twice');
  t.equal(stored.length, N, 'every datagram stored');
  let same = 0;
  for (let i = 0; i < Math.min(stored.length, oracle.length); i++) if (stored[i]!.data.equals(oracle[i]!.data)) same++;
  t.equal(same, N, 'frame i of the store == frame i of tcpdump');
});
