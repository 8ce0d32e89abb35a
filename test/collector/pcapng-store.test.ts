import t from 'tap';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

import { ReceiveClock } from '../../collector/clock.js';
import { IngestFrame } from '../../collector/ingest/frame.js';
import { SOURCE_KIND, SourceTable, type Source } from '../../collector/ingest/source.js';
import { CollectorMetrics } from '../../collector/metrics.js';
import { PcapngStore, STORE_DROP_REASONS, type PcapngStoreOptions, repairPart } from '../../collector/sink/pcapng-store.js';
import { execFileP, finishedFiles, readStore, readStoredFile, sleep } from './helpers.js';

// The pcapng store driven in-process with synthetic frames; files in a temporary
// directory; tcpdump and tshark read what it wrote and what it repaired.

function tmp(t: { teardown(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'psl-tc-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function setup(opts: Partial<PcapngStoreOptions> & { dir: string }) {
  const metrics = new CollectorMetrics();
  const ingest = metrics.stage('vxlan', ['short'] as const);
  const stage = metrics.stage('store', STORE_DROP_REASONS);
  const store = PcapngStore.open({ stage, metrics, ...opts });
  const sources = new SourceTable();
  const frame = new IngestFrame();
  let n = 0;
  /** Writes one frame of `len` bytes whose bytes 14.. hold its sequence number. */
  const write = (source: Source, len = 100, erspan?: { ts: number; gra: number }): Buffer => {
    const data = Buffer.alloc(len, n & 0xff);
    data.writeUInt16BE(0x0800, 12);
    data.writeUInt32BE(n, 14);
    n++;
    frame.data = data;
    frame.tsSec = 1_764_000_000 + n;
    frame.tsNsec = n * 1000 + 7;
    frame.source = source;
    frame.erspanTimestamp = erspan?.ts ?? -1;
    frame.erspanGra = erspan?.gra ?? -1;
    source.frames++;
    ingest.received++;
    ingest.delivered++;
    store.write(frame as IngestFrame & { source: Source });
    return data;
  };
  return { metrics, stage, store, sources, write };
}

async function tcpdumpCount(file: string): Promise<number> {
  const { stdout } = await execFileP('tcpdump', ['-nn', '-r', file], { maxBuffer: 64 * 1024 * 1024 });
  return stdout.split('\n').filter((l) => l !== '').length;
}

async function tsharkCount(file: string): Promise<number> {
  const { stdout } = await execFileP('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.number'], { maxBuffer: 64 * 1024 * 1024 });
  return stdout.split('\n').filter((l) => l !== '').length;
}

t.test('one interface per source with its metadata; ISBs at close carry the counters of every stage', async (t) => {
  const dir = tmp(t);
  const { store, sources, write, stage } = setup({ dir });
  const a = sources.vxlanSource('10.0.0.5', 42)!;
  const b = sources.greSource(0x0a000006, SOURCE_KIND.ERSPAN, 100, true, 3)!;
  const sent = [write(a), write(b, 80, { ts: 123456, gra: 0 }), write(a, 1500)];
  await store.close();
  t.same(readdirSync(dir).filter((n) => n.endsWith('.part')), [], 'no .part left');
  const files = finishedFiles(dir);
  t.equal(files.length, 1);
  t.match(basename(files[0]!), /^podspan-\d{8}T\d{6}Z-0001\.pcapng$/, 'name sortable by time');
  const f = readStoredFile(files[0]!);
  t.same(f.interfaces.map((i) => [i.name, i.description, i.linkType, i.snapLen, i.tsResolPower]), [
    ['vxlan-vni42-10.0.0.5', 'vxlan vni 42 from 10.0.0.5', 1, 262144, 9],
    ['erspan3-session100-10.0.0.6', 'erspan type III session 100 from 10.0.0.6', 1, 262144, 9],
  ]);
  t.ok(f.frames.every((fr, i) => fr.data.equals(sent[i]!)), 'frames stored byte for byte');
  t.same(f.frames.map((fr) => [fr.tsSec, fr.tsNsec]), [[1_764_000_001, 1007], [1_764_000_002, 2007], [1_764_000_003, 3007]], 'nanosecond times kept');
  t.same(f.frames[1]!.comments, ['erspan3 timestamp=123456 gra=0 (100us units)'], 'ERSPAN III header timestamp as opt_comment');
  t.equal(f.stats.length, 2, 'one ISB per interface');
  const isbA = f.stats.find((s) => s.ifaceId === 0)!;
  t.equal(isbA.usrDeliv, 2n, 'isb_usrdeliv = frames of the source in this file');
  t.equal(isbA.ifRecv, 2n, 'isb_ifrecv = frames received from the source');
  t.equal(isbA.osDrop, 0n);
  t.ok(isbA.comments.some((c) => /^vxlan received=3 delivered=3 dropped=0$/.test(c)), 'ingest stage counters in opt_comment');
  t.ok(isbA.comments.some((c) => /^store received=3 delivered=\d+ dropped=0$/.test(c)), 'store stage counters in opt_comment');
  t.equal(isbA.startTsSec, 1_764_000_001);
  t.ok(stage.balanced() && stage.delivered === 3);
  t.equal(await tcpdumpCount(files[0]!), 3, 'tcpdump reads it');
  const { stdout } = await execFileP('tshark', ['-r', files[0]!, '-T', 'fields', '-e', 'frame.interface_description', '-e', 'frame.comment']);
  t.same(stdout.split('\n').filter((l) => l !== ''), ['vxlan vni 42 from 10.0.0.5\t', 'erspan type III session 100 from 10.0.0.6\terspan3 timestamp=123456 gra=0 (100us units)', 'vxlan vni 42 from 10.0.0.5\t']);
});

t.test('--split-by pod and source: one file per tunnel id / per sender, the key in the name', async (t) => {
  for (const splitBy of ['pod', 'source'] as const) {
    const dir = tmp(t);
    const { store, sources, write } = setup({ dir, splitBy });
    const s1 = sources.vxlanSource('10.0.0.5', 42)!;
    const s2 = sources.vxlanSource('10.0.0.6', 42)!;
    const s3 = sources.greSource(0x0a000005, SOURCE_KIND.GRE, 7, true, 0)!;
    for (const s of [s1, s2, s3, s1]) write(s);
    await store.close();
    const names = finishedFiles(dir).map((f) => basename(f).replace(/^podspan-\d{8}T\d{6}Z-\d{4}/, ''));
    const byFile = finishedFiles(dir).map((f) => readStoredFile(f).interfaces.map((i) => i.name));
    if (splitBy === 'pod') {
      t.same(names.sort(), ['-gre-key7.pcapng', '-vxlan-vni42.pcapng']);
      t.same(byFile.flat().sort(), ['gre-key7-10.0.0.5', 'vxlan-vni42-10.0.0.5', 'vxlan-vni42-10.0.0.6']);
    } else {
      t.same(names.sort(), ['-10.0.0.5.pcapng', '-10.0.0.6.pcapng']);
      t.same(byFile.map((f) => f.length).sort(), [1, 2], 'the 10.0.0.5 file has two interfaces (vxlan and gre)');
    }
    t.equal(readStore(dir).length, 4);
  }
});

t.test('rotation by size: files close at the size, each complete and readable, nothing lost', async (t) => {
  const dir = tmp(t);
  const { store, sources, write, stage } = setup({ dir, rotateBytes: 4096 });
  const s = sources.vxlanSource('10.0.0.5', 1)!;
  const sent: Buffer[] = [];
  for (let i = 0; i < 100; i++) sent.push(write(s, 200));
  const whileOpen = finishedFiles(dir).length;
  await store.close();
  const files = finishedFiles(dir);
  t.ok(whileOpen >= 4, `${whileOpen} files finished while running`);
  t.ok(files.length >= 5 && files.length <= 7, `${files.length} files for ~23 KB at 4 KiB`);
  t.same(files, [...files].sort(), 'names sort in creation order');
  for (const f of files.slice(0, -1)) t.ok(statSync(f).size >= 4096, `${basename(f)} reached the rotation size`);
  const stored = readStore(dir);
  t.equal(stored.length, 100);
  t.ok(stored.every((f, i) => f.data.equals(sent[i]!)), 'every frame once, in order');
  t.ok(files.every((f) => readStoredFile(f).stats.length === 1), 'every file ends with its ISB');
  t.equal(await tcpdumpCount(files[1]!), readStoredFile(files[1]!).frames.length, 'tcpdump reads a middle file');
  t.ok(stage.balanced());
});

t.test('rotation by time: a file per period while frames keep coming', async (t) => {
  const dir = tmp(t);
  const { store, sources, write } = setup({ dir, rotateMs: 300, flushIntervalMs: 20 });
  const s = sources.vxlanSource('10.0.0.5', 1)!;
  const end = Date.now() + 1100;
  let n = 0;
  while (Date.now() < end) {
    write(s);
    n++;
    await sleep(25);
  }
  await store.close();
  const files = finishedFiles(dir);
  t.ok(files.length >= 3 && files.length <= 5, `${files.length} files in 1.1 s at 300 ms`);
  t.equal(readStore(dir).length, n);
});

t.test('retention by count and by bytes deletes the oldest finished files only', async (t) => {
  const dir = tmp(t);
  writeFileSync(join(dir, 'notes.txt'), 'not ours');
  writeFileSync(join(dir, 'podspan-19700101T000000Z-0001.pcapng.bak'), 'not a finished file');
  const { store, sources, write } = setup({ dir, rotateBytes: 2048, keepFiles: 3 });
  const s = sources.vxlanSource('10.0.0.5', 1)!;
  for (let i = 0; i < 100; i++) write(s, 200);
  await store.close();
  const files = finishedFiles(dir);
  t.equal(files.length, 3);
  t.ok(store.filesDeleted > 5, `${store.filesDeleted} deleted`);
  const last = readStore(dir);
  t.equal(last[last.length - 1]!.data.readUInt32BE(14), 99, 'the newest frames are kept');
  t.ok(existsSync(join(dir, 'notes.txt')) && existsSync(join(dir, 'podspan-19700101T000000Z-0001.pcapng.bak')), 'foreign files untouched');

  const dir2 = tmp(t);
  const two = setup({ dir: dir2, rotateBytes: 2048, keepBytes: 8192 });
  const s2 = two.sources.vxlanSource('10.0.0.5', 1)!;
  for (let i = 0; i < 100; i++) {
    two.write(s2, 200);
    let total = 0;
    for (const f of readdirSync(dir2)) total += statSync(join(dir2, f)).size;
    if (total > 8192 + 2048 + 300) t.fail(`directory holds ${total} bytes after frame ${i}`);
  }
  await two.store.close();
  let total = 0;
  for (const f of finishedFiles(dir2)) total += statSync(f).size;
  t.ok(total <= 8192, `${total} bytes kept of at most 8192`);
  t.ok(finishedFiles(dir2).length >= 2);
});

t.test('a .part cut mid-block is repaired at start: cut to the last complete block, renamed, read by tcpdump and tshark', async (t) => {
  const dir = tmp(t);
  const { store, sources, write } = setup({ dir, flushIntervalMs: 10 });
  const s = sources.vxlanSource('10.0.0.5', 1)!;
  for (let i = 0; i < 50; i++) write(s, 150);
  await sleep(80); // flushed by the timer, not closed: what a SIGKILL leaves
  const part = readdirSync(dir).find((n) => n.endsWith('.pcapng.part'))!;
  t.ok(part !== undefined, 'the open file is a .part');
  const crashDir = tmp(t);
  const blockLen = 28 + 152 + 4; // EPB of a 150-byte frame
  const variants: Array<[string, (p: string) => void, number]> = [
    ['cut mid-block', (p) => truncateSync(p, statSync(p).size - 60), 49],
    ['cut inside a block header', (p) => truncateSync(p, statSync(p).size - blockLen + 5), 49],
    ['zero-filled tail (delayed allocation after a crash)', (p) => appendFileSync(p, Buffer.alloc(4096)), 50],
    ['garbage tail', (p) => appendFileSync(p, Buffer.from('\x06\x00\x00\x00\xff\xff\xff\x7fjunk')), 50],
    ['intact', () => undefined, 50],
  ];
  for (const [what, damage, keep] of variants) {
    const sub = join(crashDir, what.replace(/\W+/g, '-'));
    mkdirSync(sub);
    const p = join(sub, part);
    copyFileSync(join(dir, part), p);
    damage(p);
    const size = statSync(p).size;
    const m = new CollectorMetrics();
    const again = PcapngStore.open({ dir: sub, stage: m.stage('store', STORE_DROP_REASONS), metrics: m });
    await again.close();
    t.equal(again.repaired.length, 1, `${what}: repaired`);
    const r = again.repaired[0]!;
    t.equal(r.records, keep, `${what}: ${keep} packets kept`);
    t.equal(r.keptBytes + r.cutBytes, size);
    t.equal(r.file, p.slice(0, -'.part'.length));
    t.same(readdirSync(sub), [basename(r.file!)], `${what}: no .part left`);
    t.equal(readStoredFile(r.file!).frames.length, keep, `${what}: podspan reads it`);
    t.equal(await tcpdumpCount(r.file!), keep, `${what}: tcpdump reads it`);
    t.equal(await tsharkCount(r.file!), keep, `${what}: tshark reads it`);
  }
  await store.close();
});

t.test('a .part with no complete packet is removed; a name clash gets -recovered', async (t) => {
  const dir = tmp(t);
  writeFileSync(join(dir, 'podspan-20260101T000000Z-0001.pcapng.part'), Buffer.from('0a0d0d0a1c000000', 'hex'));
  const r1 = repairPart(join(dir, 'podspan-20260101T000000Z-0001.pcapng.part'));
  t.equal(r1.file, undefined);
  t.same(readdirSync(dir), []);
  // A good file and a leftover .part of the same name.
  const { store, sources, write } = setup({ dir });
  write(sources.vxlanSource('10.0.0.5', 1)!);
  await store.close();
  const good = finishedFiles(dir)[0]!;
  copyFileSync(good, good + '.part');
  const r2 = repairPart(good + '.part');
  t.equal(r2.file, good.replace(/\.pcapng$/, '-recovered.pcapng'));
  t.same(readFileSync(r2.file!), readFileSync(good));
});

t.test('disk full (a 64 KiB tmpfs): frames counted as write_error, the file cut to its good length, the store survives', async (t) => {
  const dir = tmp(t);
  try {
    await execFileP('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'psl-tc-full', dir]);
  } catch (e) {
    t.comment(`cannot mount a tmpfs here, skipped: ${(e as Error).message}`);
    return;
  }
  t.teardown(() => execFileP('umount', [dir]).catch(() => undefined));
  const { store, sources, write, stage } = setup({ dir, rotateBytes: 0, batchBytes: 8192 });
  const s = sources.vxlanSource('10.0.0.5', 1)!;
  for (let i = 0; i < 400; i++) write(s, 1000);
  await store.close();
  t.ok(stage.dropped.write_error > 0, `${stage.dropped.write_error} frames dropped as write_error`);
  t.ok(stage.delivered > 0, `${stage.delivered} frames written`);
  t.ok(stage.balanced(), 'received == delivered + Σ dropped');
  t.match(String(store.lastError), /ENOSPC/);
  const files = finishedFiles(dir);
  t.ok(files.length >= 1);
  const stored = files.flatMap((f) => readStoredFile(f).frames);
  t.equal(stored.length, stage.delivered, 'exactly the delivered frames are in the files');
  for (const f of files) t.equal(await tcpdumpCount(f), readStoredFile(f).frames.length, `${basename(f)} readable by tcpdump`);
});

t.test('the ReceiveClock of the store stamps ISBs with the current time', async (t) => {
  const dir = tmp(t);
  const clock = new ReceiveClock();
  const { store, sources, write } = setup({ dir, clock });
  write(sources.vxlanSource('10.0.0.5', 1)!);
  await store.close();
  const isb = readStoredFile(finishedFiles(dir)[0]!).stats[0]!;
  t.ok(Math.abs(isb.tsSec - Date.now() / 1000) < 5);
});

t.test('a statistics block larger than the write buffer is written whole (many agent counter lines)', async (t) => {
  const dir = tmp(t);
  const { store, sources, write, metrics } = setup({ dir, batchBytes: 4096 });
  for (let i = 0; i < 64; i++) metrics.setRemote(`a${i}`, `agent a${i} stage received=${i} ${'x'.repeat(900)}`);
  const s = sources.vxlanSource('10.0.0.5', 1)!;
  write(s);
  write(s);
  await store.close();
  const f = readStoredFile(finishedFiles(dir)[0]!);
  t.equal(f.frames.length, 2);
  t.equal(f.stats.length, 1, 'the ISB is there');
  t.equal(f.stats[0]!.comments.filter((c) => c.startsWith('agent ')).length, 64, 'with every counter line');
  t.equal(await tsharkCount(finishedFiles(dir)[0]!), 2, 'tshark reads the file');
});
