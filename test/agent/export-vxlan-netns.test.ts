import t from 'tap';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { makeVethPair, sendUdp } from '../native/netns-fixture.js';
import { finishedFiles, listeningPorts, readStore, startCollector } from '../collector/helpers.js';
import { readCaptureFile, startAgent } from './agent-helpers.js';

// `podspan agent --to vxlan://127.0.0.1:PORT?vni=42` against `podspan collector --vxlan`:
// the frames the collector stores are the frames the agent wrote with -w in the same run.
// Network: a veth pair between two namespaces this test creates (psl-tx-*), and 127.0.0.1.

const dir = mkdtempSync(join(tmpdir(), 'podspan-export-vxlan-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function dstPort(frame: Buffer): number {
  return frame.readUInt16BE(14 + (frame.readUInt8(14) & 0x0f) * 4 + 2);
}

const EXPORT_LINE = /^(\d+) packets? exported to (\S+), (\d+) not exported \(export_queue_full (\d+), export_send_error (\d+)\), export_truncated (\d+)$/m;

t.test('veth in another namespace: the collector stores the same frames, bytes and order as -w', async (t) => {
  const pair = await makeVethPair(t, 'psl-tx-', 83);
  const store = join(dir, 'veth-store');
  const collector = await startCollector(t, ['--vxlan', '127.0.0.1:0', '--out', store]);
  const port = listeningPorts(collector.stderr())[0]!;
  t.ok(port > 0, `collector on 127.0.0.1:${port}`);
  const file = join(dir, 'veth.pcapng');
  const N = 200;
  const url = `vxlan://127.0.0.1:${port}?vni=42`;
  const agent = await startAgent(t, ['--iface', pair.ifB, '--netns', pair.nsB, '--filter', 'udp and dst port 41083', '-c', String(N), '-w', file, '--to', url]);
  const sent = await sendUdp(pair.nsA, pair.ipB, 41083, N, 10_000);
  t.equal(sent, N, `${N} datagrams sent across the veth`);
  const code = await Promise.race([agent.exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 15_000))]);
  t.equal(code, 0, 'the agent exits 0 after -c');
  const m = EXPORT_LINE.exec(agent.stderr());
  t.ok(m, `export summary line:\n${agent.stderr()}`);
  if (m !== null) {
    t.equal(Number(m[1]), N, 'every frame exported');
    t.equal(m[2], url);
    t.equal(Number(m[3]), 0, 'none dropped');
    t.equal(Number(m[6]), 0, 'none truncated');
  }
  await new Promise((r) => setTimeout(r, 300)); // the last datagrams into the collector
  const stopped = await collector.stop('SIGINT');
  t.equal(stopped.code, 0, 'collector exits 0');
  t.ok(finishedFiles(store).length >= 1, 'the collector stored a file');

  const written = readCaptureFile(file).records;
  const stored = readStore(store);
  t.equal(written.length, N, `-w holds ${N} frames`);
  t.equal(stored.length, written.length, 'the collector stored as many frames as -w holds');
  t.same(stored.map((f) => f.iface.description), new Array(stored.length).fill('vxlan vni 42 from 127.0.0.1'), 'all from VNI 42');
  let same = 0;
  for (let i = 0; i < Math.min(stored.length, written.length); i++) {
    if (stored[i]!.data.equals(written[i]!.data) && stored[i]!.capLen === written[i]!.capLen && stored[i]!.wireLen === written[i]!.wireLen) same++;
  }
  t.equal(same, written.length, 'frame i of the store == frame i of -w (bytes, lengths, order)');
  t.equal(
    stored.reduce((a, f) => a + f.data.length, 0),
    written.reduce((a, f) => a + f.data.length, 0),
    'same byte total',
  );
  t.same(written.map((f) => f.data.length), Array.from({ length: N }, (_, i) => 14 + 20 + 8 + 1 + ((i * 37) % 1400)), 'the frames sent, in order');
});

t.test('capturing on lo: the agent never captures its own VXLAN export traffic', async (t) => {
  const store = join(dir, 'lo-store');
  const collector = await startCollector(t, ['--vxlan', '127.0.0.1:0', '--out', store]);
  const port = listeningPorts(collector.stderr())[0]!;
  const appPort = 42000 + (process.pid % 1000);
  const file = join(dir, 'lo.pcapng');
  const N = 50;
  // The user's filter would match the export traffic; the exclusion clause must remove it.
  const agent = await startAgent(t, ['--iface', 'lo', '--filter', `udp and (port ${appPort} or port ${port})`, '-w', file, '--to', `vxlan://127.0.0.1:${port}?vni=42`]);
  const sock = createSocket('udp4');
  t.teardown(() => sock.close());
  for (let i = 0; i < N; i++) {
    await new Promise<void>((resolve, reject) => sock.send(Buffer.alloc(10 + i, i), appPort, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
    if (i % 10 === 9) await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, 500)); // exports of those frames pass lo (and would be captured)
  t.equal(await agent.stop(), 0, 'the agent exits 0 on SIGINT');
  await new Promise((r) => setTimeout(r, 300));
  t.equal((await collector.stop('SIGINT')).code, 0);

  const written = readCaptureFile(file).records;
  t.equal(written.length, N, `exactly the ${N} application datagrams captured, no export traffic`);
  t.same([...new Set(written.map((f) => dstPort(f.data)))], [appPort], `every captured frame is to port ${appPort}`);
  const stored = readStore(store);
  t.equal(stored.length, N, 'the collector got each frame once: no capture-export loop');
  t.same(stored.map((f) => f.data.toString('hex')), written.map((f) => f.data.toString('hex')), 'stored == written');
  t.match(agent.stderr(), new RegExp(`^${N} packets exported to vxlan://127\\.0\\.0\\.1:${port}\\?vni=42, 0 not exported`, 'm'));
});
