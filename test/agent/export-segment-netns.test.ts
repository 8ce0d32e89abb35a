import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { startTcpdump } from '../native/netns-fixture.js';
import { execFileP, finishedFiles, inNetns, listeningPorts, makeNetnsPair, parseSummary, readStore, readStoredFile, sleep, startCollector } from '../collector/helpers.js';
import { CLI } from '../helpers/repo.js';
import { startAgentIn } from './export/netns-agent.js';

// GSO super-frames through a tunnel: a real bulk TCP transfer from namespace A to B over a
// veth with TSO/GSO on (veth's default), so the capture on A's veth0 holds frames of up to
// 64 KiB. The agent exports them with vxlan://…?vni=7 (oversize=segment, mtu=1500 by
// default) to a collector in A. The collector stores frames of at most 1514 bytes, and their
// TCP payload reassembles (podspan streams) into exactly the bytes sent.

const work = mkdtempSync(join(tmpdir(), 'gr-seg-e2e-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

const TOTAL = 2 * 1024 * 1024;

const SERVER = `
const srv = require('node:net').createServer((c) => {
  let n = 0; const h = require('node:crypto').createHash('sha256');
  c.on('data', (d) => { n += d.length; h.update(d); });
  c.on('end', () => { process.stdout.write(n + ' ' + h.digest('hex')); c.end(); srv.close(); });
});
srv.listen(5001, process.argv[1], () => process.stderr.write('ready\\n'));
setTimeout(() => process.exit(3), 60000).unref();`;

const CLIENT = `
const [host, total] = [process.argv[1], Number(process.argv[2])];
const buf = Buffer.alloc(total); for (let i = 0; i < total; i++) buf[i] = (i * 7 + (i >>> 9)) & 0xff;
const c = require('node:net').connect(5001, host, () => {
  let off = 0;
  (function next() {
    if (off >= total) { c.end(); return; }
    const chunk = buf.subarray(off, off + 65536); off += chunk.length;
    c.write(chunk, () => setTimeout(next, 10));
  })();
});
c.on('data', () => {});
c.on('close', () => process.stdout.write('done'));`;

function expectedStream(): Buffer {
  const b = Buffer.alloc(TOTAL);
  for (let i = 0; i < TOTAL; i++) b[i] = (i * 7 + (i >>> 9)) & 0xff;
  return b;
}

t.test('bulk TCP over a GSO veth, exported with oversize=segment: stored frames ≤ 1514 bytes, stream intact', async (t) => {
  const pair = await makeNetnsPair(t, 'gr-s', 191);
  const store = join(work, 'store');
  const col = await startCollector(t, ['--vxlan', '127.0.0.1:0', '--out', store], { netns: pair.nsA });
  const port = listeningPorts(col.stderr())[0]!;
  const dump = join(work, 'veth0.pcap');
  const filter = 'tcp port 5001';
  const td = await startTcpdump(t, pair.nsA, pair.ifA, filter, dump);
  const agent = await startAgentIn(t, pair.nsA, ['--iface', pair.ifA, '--filter', filter, '--to', `vxlan://127.0.0.1:${port}?vni=7`]);
  const server = inNetns(pair.nsB, process.execPath, ['-e', SERVER, pair.ipB], 70_000);
  await sleep(500);
  const client = await inNetns(pair.nsA, process.execPath, ['-e', CLIENT, pair.ipB, String(TOTAL)], 60_000);
  t.equal(client.stdout, 'done');
  const [got, digest] = (await server).stdout.split(' ');
  t.equal(Number(got), TOTAL, 'the server received every byte');
  await sleep(500);
  t.equal(await agent.stop(), 0, 'agent exits 0 on SIGINT');
  await td.stop();
  await sleep(300);
  const r = await col.stop('SIGINT');
  t.equal(r.code, 0);

  const seen = readStoredFile(dump).frames;
  const biggest = Math.max(...seen.map((f) => f.wireLen));
  t.ok(biggest > 1514, `tcpdump on veth0 saw GSO super-frames (largest ${biggest} bytes)`);
  const stored = readStore(store);
  t.ok(stored.length > seen.length, `the store holds more frames (${stored.length}) than the capture (${seen.length}): super-frames were segmented`);
  t.ok(stored.every((f) => f.data.length <= 1514 && f.capLen === f.wireLen), 'every stored frame ≤ 14 + 1500 bytes, none cut');
  const vx = parseSummary(r.stderr)['vxlan'];
  t.same(vx?.reasons ?? {}, {}, 'the collector dropped nothing');

  const files = finishedFiles(store);
  t.equal(files.length, 1, 'one stored file');
  const out = join(work, 'streams');
  const { stdout } = await execFileP(process.execPath, [CLI, 'streams', files[0]!, '-o', out, '--json'], { maxBuffer: 16 * 1024 * 1024 });
  const conns = stdout.trim().split('\n').map((l) => JSON.parse(l) as { c2s: { bytes: number; gapBytes: number; file: string } });
  t.equal(conns.length, 1, 'one connection');
  const c2s = conns[0]!.c2s;
  t.equal(c2s.gapBytes, 0, 'no gaps');
  t.equal(c2s.bytes, TOTAL, 'client-to-server bytes == bytes sent');
  const stream = readFileSync(c2s.file);
  t.ok(stream.equals(expectedStream()), 'reassembled from the stored segments: the exact bytes sent');
  t.ok(digest !== undefined && digest.length === 64);
});
