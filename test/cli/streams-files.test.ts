import t from 'tap';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { StreamFiles, CHUNK_BYTES } from '../../cli/streams-files.js';
import { prng } from '../../packet/synth/prng.js';
import { CLI } from '../helpers/repo.js';
import { writeSynthPcap } from '../helpers/synth-file.js';

// StreamFiles writes views of shared read chunks without copying them, copies everything
// else into side chunks, and reuses a chunk only once every write from it is done. These
// tests fill chunks, append views of them and of private buffers to many files, overwrite
// each chunk as soon as StreamFiles hands it out again, and compare every file with what
// was appended.

t.test('files hold exactly the bytes appended, through chunk reuse, side copies and LRU reopening', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'podspan-sf-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const rand = prng(7);
  // Few chunks and few open files: every chunk is reused many times, every file is closed
  // and reopened for append.
  const sf = new StreamFiles({ maxChunks: 4, maxActive: 3 });
  const nFiles = 9;
  const files = Array.from({ length: nFiles }, (_, i) => sf.file(join(dir, `f${i}`)));
  const expect: Buffer[][] = files.map(() => []);
  for (let round = 0; round < 24; round++) {
    const chunk = await sf.chunk();
    // Overwrite the chunk (as a read does): if a write from its previous use were still
    // pending, the file would get these bytes instead.
    for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE((rand() * 0x1_0000_0000) >>> 0, i);
    for (let k = 0; k < 40; k++) {
      const len = 1 + Math.floor(rand() * 20_000);
      const at = Math.floor(rand() * (chunk.length - len));
      const f = Math.floor(rand() * nFiles);
      const view = chunk.subarray(at, at + len);
      expect[f]!.push(Buffer.from(view));
      sf.append(files[f]!, view);
      if (k % 10 === 0) {
        // A private buffer (as out-of-order data is): copied, and overwritten right after.
        const own = Buffer.alloc(1 + Math.floor(rand() * 3000), round + k);
        expect[f]!.push(Buffer.from(own));
        sf.append(files[f]!, own);
        own.fill(0xee);
      }
    }
    sf.submit();
    sf.release(chunk);
    if (sf.busy()) await sf.idle();
  }
  // A private buffer longer than a side chunk is split across side chunks.
  const big = Buffer.alloc(CHUNK_BYTES + 12345);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
  expect[0]!.push(Buffer.from(big));
  sf.append(files[0]!, big);
  await sf.close();
  for (let i = 0; i < nFiles; i++) {
    const want = Buffer.concat(expect[i]!);
    t.equal(files[i]!.bytes, want.length, `f${i}: bytes counted`);
    t.ok(readFileSync(join(dir, `f${i}`)).equals(want), `f${i}: ${want.length} bytes identical`);
  }
});

t.test('a file never appended to is not created', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'podspan-sf-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const sf = new StreamFiles();
  const f = sf.file(join(dir, 'empty'));
  sf.retire(f);
  await sf.close();
  t.equal(existsSync(join(dir, 'empty')), false);
});

t.test('a file that cannot be created is reported with its path and PODSPAN_ERR_IO', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'podspan-sf-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const sf = new StreamFiles();
  // Its directory does not exist (root or not).
  const f = sf.file(join(dir, 'd', 'missing', 'x.c2s'));
  sf.append(f, Buffer.from('abc'));
  await t.rejects(sf.close(), { code: 'PODSPAN_ERR_IO', message: /missing\/x\.c2s/ });
});

t.test('a full file system (a 256 KiB tmpfs) fails the run with ENOSPC and the path, not a hang', { skip: process.getuid?.() !== 0 ? 'needs root to mount a tmpfs' : false }, async (t) => {
  const mnt = mkdtempSync(join(tmpdir(), 'podspan-sf-full-'));
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]);
  t.teardown(() => {
    spawnSync('umount', [mnt]);
    rmSync(mnt, { recursive: true, force: true });
  });
  t.equal(m.status, 0, `mount: ${m.stderr?.toString()}`);
  const sf = new StreamFiles();
  const f = sf.file(join(mnt, 'big.c2s'));
  const chunk = await sf.chunk();
  chunk.fill(0x41);
  sf.append(f, chunk.subarray(0, 1 << 20));
  sf.submit();
  sf.release(chunk);
  await t.rejects(sf.close(), { code: 'PODSPAN_ERR_IO', message: /write .*big\.c2s: ENOSPC/ });
});

// A writer thread that dies must fail the run (PODSPAN_ERR_IO, exit 1), not leave it waiting
// for replies until the event loop empties and Node exits 0 with files missing.
for (const [how, body] of [
  ['throws', "parentPort.on('message', (m) => { if (m.type === 'batch') throw new Error('writer bug'); });"],
  ['exits', "parentPort.on('message', (m) => { if (m.type === 'batch') process.exit(3); });"],
] as const) {
  t.test(`a writer thread that ${how} on its first batch fails the run with PODSPAN_ERR_IO`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'podspan-sf-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const script = join(dir, 'worker.mjs');
    writeFileSync(script, `import { parentPort } from 'node:worker_threads';\n${body}\n`);
    const sf = new StreamFiles({ workerUrl: pathToFileURL(script) });
    const f = sf.file(join(dir, 'x.c2s'));
    const chunk = await sf.chunk();
    sf.append(f, chunk.subarray(0, 1000));
    sf.submit();
    sf.release(chunk);
    sf.append(f, Buffer.from('more'));
    await t.rejects(sf.close(), { code: 'PODSPAN_ERR_IO', message: /stream file writer (failed: writer bug|exited \(code 3\))/ });
    // Later chunks are still handed out until the failure is seen, then refused with it.
    await t.rejects(sf.chunk(), { code: 'PODSPAN_ERR_IO' });
  });
}

t.test('more pieces of one file in a batch than one writev takes (IOV_MAX 1024) are written in order', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'podspan-sf-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const sf = new StreamFiles();
  const f = sf.file(join(dir, 'many'));
  const chunk = await sf.chunk();
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 7) & 0xff;
  const want: Buffer[] = [];
  for (let k = 0; k < 3000; k++) {
    const v = chunk.subarray(k * 37, k * 37 + 5);
    want.push(Buffer.from(v));
    sf.append(f, v);
  }
  sf.submit();
  sf.release(chunk);
  await sf.close();
  t.ok(readFileSync(join(dir, 'many')).equals(Buffer.concat(want)), '3000 pieces, 15000 bytes, in order');
});

t.test('under ulimit -n 64, with more files open at once than descriptors, the writer closes and reopens files: the same bytes, exit 0, and it says so', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'podspan-sf-nofile-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pcap = join(dir, 'many.pcap');
  // 200 connections interleaved: up to 400 stream files written at the same time.
  writeSynthPcap(pcap, { connections: 400, concurrency: 200, requestsPerConnection: 2, responseBytes: 3000, seed: 11 });
  const free = spawnSync(process.execPath, [CLI, 'streams', pcap, '-o', join(dir, 'free')], { encoding: 'utf8' });
  t.equal(free.status, 0, free.stderr);
  t.notMatch(free.stderr, /file descriptors/);
  const tight = spawnSync('bash', ['-c', 'ulimit -n 64 && exec "$0" "$@"', process.execPath, CLI, 'streams', pcap, '-o', join(dir, 'tight')], { encoding: 'utf8' });
  t.equal(tight.status, 0, tight.stderr);
  t.match(tight.stderr, /out of file descriptors: stream files were closed early and reopened to append [1-9][0-9]* times/);
  const names = readdirSync(join(dir, 'free')).sort();
  t.ok(names.length >= 790, `${names.length} stream files`);
  t.same(readdirSync(join(dir, 'tight')).sort(), names, 'the same files');
  const differ = names.filter((n) => !readFileSync(join(dir, 'free', n)).equals(readFileSync(join(dir, 'tight', n))));
  t.same(differ, [], 'the same bytes in every file');
});
