import t from 'tap';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { podspan } from '../helpers/run.js';
import { CLI } from '../helpers/repo.js';
import { writeSynthPcap } from '../helpers/synth-file.js';
import { PcapWriter } from '../../packet/capfile/pcap-writer.js';
import { synthTraffic } from '../../packet/synth/traffic.js';

// The naming rule of ARCHITECTURE.md: a later connection on the same 4-tuple gets -1, -2, …
// before the suffix, also once the reassembler has forgotten the earlier one, and files
// already in the output directory are never overwritten.

const BASE = '10.244.1.11.32768-10.244.0.5.8080';

interface Dir {
  bytes: number;
  file: string | null;
}

/** Three connections on one 4-tuple (synthTraffic's connection 0; a new ISN per seed): at 0 s, 10 s (port reuse) and 300 s (after the reassembler forgot the first two). */
function reusePcap(path: string): Buffer[] {
  const w = new PcapWriter({ linkType: 1, snapLen: 262144, nanosecond: true });
  const parts: Buffer[] = [w.header()];
  const requests: Buffer[] = [];
  for (const [seed, startSec] of [[1, 1_700_000_000], [2, 1_700_000_010], [3, 1_700_000_300]] as const) {
    const req: Buffer[] = [];
    for (const f of synthTraffic({ connections: 1, requestsPerConnection: 2, responseBytes: 3000, seed, startSec })) {
      parts.push(...w.record({ tsSec: f.tsSec, tsNsec: f.tsNsec, capLen: f.data.length, wireLen: f.data.length, data: f.data }));
      // Client payload: Ethernet 14 + IPv4 20 + TCP 20, client port 32768 first.
      if (f.data.length > 54 && f.data.readUInt16BE(34) === 32768) req.push(f.data.subarray(54));
    }
    requests.push(Buffer.concat(req));
  }
  writeFileSync(path, Buffer.concat(parts));
  return requests;
}

t.test('a reused 4-tuple gets -1, -2; a second run into the same directory overwrites nothing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'podspan-naming-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cap = join(dir, 'reuse.pcap');
  const requests = reusePcap(cap);
  const out = join(dir, 'out');
  const runOnce = async (): Promise<Array<{ c2s: Dir; s2c: Dir }>> => {
    const r = await podspan(['streams', '--json', '-o', out, cap]);
    t.equal(r.code, 0, r.stderr);
    return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { c2s: Dir; s2c: Dir });
  };
  const first = await runOnce();
  t.same(first.map((c) => c.c2s.file), ['', '-1', '-2'].map((s) => join(out, `${BASE}${s}.c2s`)), 'one name per connection, in order');
  first.forEach((c, i) => t.ok(readFileSync(c.c2s.file!).equals(requests[i]!), `connection ${i}: its own requests`));
  t.equal(readdirSync(out).length, 6, 'c2s and s2c of each');

  const second = await runOnce();
  t.same(second.map((c) => c.c2s.file), ['-3', '-4', '-5'].map((s) => join(out, `${BASE}${s}.c2s`)), 'names already in the directory are skipped');
  second.forEach((c, i) => t.ok(readFileSync(c.c2s.file!).equals(requests[i]!), `second run, connection ${i}`));
  first.forEach((c, i) => t.ok(readFileSync(c.c2s.file!).equals(requests[i]!), `first run's file ${i} untouched`));
  t.equal(readdirSync(out).length, 12);
});

t.test('past the name set limit, names are checked on disk after the writes drain: the same names', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'podspan-naming-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cap = join(dir, 'reuse.pcap');
  const requests = reusePcap(cap);
  const out = join(dir, 'out');
  const { runStreams } = await import('../../cli/streams.js');
  const code = await runStreams(cap, { outDir: out, json: false, memCapBytes: 64 * 1024 * 1024, nameSetMax: 1 });
  t.equal(code, 0);
  ['', '-1', '-2'].forEach((s, i) => t.ok(readFileSync(join(out, `${BASE}${s}.c2s`)).equals(requests[i]!), `${BASE}${s}.c2s: connection ${i}`));
  t.equal(readdirSync(out).length, 6);
});

t.test('--json names the files as they are on disk, also under a non-ASCII directory (UTF-8)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'podspan-streams-utf8-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pcap = join(dir, 'reuse.pcap');
  reusePcap(pcap);
  const out = join(dir, 'ünï cödé', 'δ');
  const r = await podspan(['streams', pcap, '-o', out, '--json']);
  t.equal(r.code, 0, r.stderr);
  const files = r.stdout.trim().split('\n').flatMap((l) => {
    const o = JSON.parse(l) as { c2s: Dir; s2c: Dir };
    return [o.c2s.file, o.s2c.file].filter((f): f is string => f !== null);
  });
  t.equal(files.length, 6);
  t.same(files.map((f) => f.startsWith(out + '/')), new Array(6).fill(true), 'each path is under the directory as given');
  t.same(files.map((f) => f.slice(out.length + 1)).sort(), readdirSync(out).sort(), 'and names a file that exists');
});

t.test('Ctrl-C mid-run: reading stops, what was read is flushed, and every file the JSON names exists with its bytes (exit 130)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'podspan-streams-sigint-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pcap = join(dir, 'many.pcap');
  writeSynthPcap(pcap, { connections: 200, requestsPerConnection: 2, concurrency: 50, seed: 7 });
  const whole = readFileSync(pcap);
  const out = join(dir, 'out');
  const p = spawn(process.execPath, [CLI, 'streams', '-', '-o', out, '--json'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  p.stdin.on('error', () => undefined);
  // Half the capture, and the pipe stays open: the run is surely in the middle when the signal comes.
  p.stdin.write(whole.subarray(0, whole.length >> 1));
  const exited = new Promise<number | null>((resolve) => p.once('close', (code) => resolve(code)));
  await new Promise((r) => setTimeout(r, 1500));
  p.kill('SIGINT');
  const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('hung'), 30_000))]);
  p.stdin.destroy();
  if (code === 'hung') p.kill('SIGKILL');
  t.equal(code, 130, `exit 130 after SIGINT: ${stderr}`);
  t.match(stderr, /podspan: interrupted \(SIGINT\) after \d+ records/);
  const conns = stdout.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { c2s: Dir; s2c: Dir });
  t.ok(conns.length > 0, `${conns.length} connections reported`);
  const named = conns.flatMap((c) => [c.c2s, c.s2c]).filter((d) => d.file !== null);
  t.same(named.filter((d) => statSync(d.file!, { throwIfNoEntry: false })?.size !== d.bytes).map((d) => d.file), [], 'every named file exists with the bytes the JSON says');
});
