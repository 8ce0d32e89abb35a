import t from 'tap';
import { mkdtempSync, readdirSync, rmSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tmpdir } from 'node:os';
import { CapfileReader } from '../../packet/capfile/reader.js';
import { CORPUS_DIR, corpusFiles, requireCorpus } from '../helpers/corpus.js';
import { mapLimit, podspan, run, type RunResult } from '../helpers/run.js';
import { runConvert } from '../../cli/convert.js';
import { PodspanError } from '../../packet/errors.js';
import { writeSynthPcap } from '../helpers/synth-file.js';

interface Rec {
  tsSec: number;
  tsNsec: number;
  capLen: number;
  wireLen: number;
  linkType: number;
  data: string;
}

/** Every record of a file, copied out of the reader (data as hex). */
function records(path: string): Rec[] {
  const r = new CapfileReader();
  r.push(readFileSync(path));
  r.end();
  const out: Rec[] = [];
  for (let rec = r.next(); rec !== null; rec = r.next()) {
    out.push({ tsSec: rec.tsSec, tsNsec: rec.tsNsec, capLen: rec.capLen, wireLen: rec.wireLen, linkType: rec.iface.linkType, data: rec.data.toString('hex') });
  }
  return out;
}

/** runConvert in this process, with its exit status and what it wrote to stderr. */
async function convertInProcess(input: string, output: string): Promise<RunResult> {
  let stderr = '';
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array): boolean => {
    stderr += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  }) as typeof process.stderr.write;
  let code: number;
  try {
    code = await runConvert(input, output);
  } catch (e) {
    code = e instanceof PodspanError ? 1 : 70;
    stderr += `podspan: ${(e as Error).message}\n`;
  } finally {
    process.stderr.write = write;
  }
  return { code, signal: null, stdout: '', stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'podspan-convert-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test('pcap -> pcapng -> pcap with convert reproduces every record of every corpus pcap', async (t) => {
  if (!requireCorpus(t)) return;
  const pcaps = corpusFiles().filter((f) => f.endsWith('.pcap') && !f.includes('the-tcpdump-group+libpcap'));
  t.ok(pcaps.length > 80);
  // The sweep runs convert in this process (one node start per corpus file made this test
  // the slowest of the suite); the CLI process itself is tested on a sample below and by
  // the other tests of this file.
  const results: Array<{ f: string; ng: string; back: string; a: RunResult; b: RunResult; td: RunResult }> = [];
  for (const [i, f] of pcaps.entries()) {
    const ng = join(dir, `${i}.pcapng`);
    const back = join(dir, `${i}.pcap`);
    const a = await convertInProcess(f, ng);
    const b = a.code === 0 ? await convertInProcess(ng, back) : a;
    const td = a.code === 0 ? await run('tcpdump', ['--count', '-r', ng]) : a;
    results.push({ f, ng, back, a, b, td });
  }
  // The same through the CLI on a sample: the process agrees with the function.
  const sample = pcaps.filter((_, i) => i % 20 === 0);
  const cli = await mapLimit(sample, 2, async (f) => {
    const ng = join(dir, `cli-${pcaps.indexOf(f)}.pcapng`);
    return { f, ng, r: await podspan(['convert', f, ng]) };
  });
  for (const { f, ng, r } of cli) {
    t.equal(r.code, 0, `CLI: ${relative(CORPUS_DIR, f)}`);
    t.ok(readFileSync(ng).equals(readFileSync(join(dir, `${pcaps.indexOf(f)}.pcapng`))), `CLI: ${relative(CORPUS_DIR, f)}: same bytes as in process`);
  }
  let compared = 0;
  for (const { f, back, a, b, ng, td } of results) {
    const name = relative(CORPUS_DIR, f);
    t.equal(a.code, 0, `${name} -> pcapng ${a.stderr.trim()}`);
    t.equal(b.code, 0, `pcapng -> ${name} ${b.stderr.trim()}`);
    if (a.code !== 0 || b.code !== 0) continue;
    // A ns pcap record claiming ts_nsec >= 1e9 cannot be carried as is: convert writes the
    // time it adds up to, and says so on stderr.
    const raw = records(f);
    const orig = raw.map((r) => (r.tsNsec >= 1e9 ? { ...r, tsSec: r.tsSec + Math.floor(r.tsNsec / 1e9), tsNsec: r.tsNsec % 1e9 } : r));
    if (raw.some((r) => r.tsNsec >= 1e9)) t.match(a.stderr, /warning: \d+ record\(s\) .* invalid nanosecond field/, `${name}: the normalisation is reported`);
    t.same(records(back), orig, `${name}: records identical after the round trip`);
    t.same(records(ng), orig, `${name}: the pcapng holds the same records`);
    t.equal(td.code, 0, `${name}: tcpdump reads our pcapng`);
    t.match(td.stdout, new RegExp(`^${orig.length} packets?`, 'm'), `${name}: tcpdump counts ${orig.length}`);
    compared += orig.length;
    void ng;
  }
  t.ok(compared > 1000, `${compared} records compared`);
});

t.test('a µs pcap converted through pcapng comes back byte for byte', async (t) => {
  if (!requireCorpus(t)) return;
  const f = join(CORPUS_DIR, 'the-tcpdump-group+tcpdump', 'tests', 'dns_tcp.pcap');
  await podspan(['convert', f, join(dir, 'dns.pcapng')]);
  await podspan(['convert', join(dir, 'dns.pcapng'), join(dir, 'dns.pcap')]);
  t.ok(readFileSync(join(dir, 'dns.pcap')).equals(readFileSync(f)));
});

t.test('tshark reads what convert writes, with nanosecond timestamps intact', async (t) => {
  const src = join(dir, 'synth.pcap');
  const n = writeSynthPcap(src, { connections: 10, seed: 9, vxlanEvery: 3 });
  const ng = join(dir, 'synth.pcapng');
  t.equal((await podspan(['convert', src, ng])).code, 0);
  const ts = await run('tshark', ['-r', ng, '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'frame.len']);
  t.equal(ts.code, 0);
  const rows = ts.stdout.trim().split('\n');
  t.equal(rows.length, n);
  const mine = (await podspan(['read', '--json', ng])).stdout.trim().split('\n').map((l) => JSON.parse(l) as { ts: string; len: number });
  t.same(rows.map((r) => r.split('\t')), mine.map((m) => [m.ts, String(m.len)]));
});

t.test('a pcapng timestamp past 2106 cannot become pcap: typed error, exit 1', async (t) => {
  if (!requireCorpus(t)) return;
  const f = join(CORPUS_DIR, 'the-tcpdump-group+tcpdump', 'tests', 'time_2106_overflow.pcapng');
  const r = await podspan(['convert', f, join(dir, 'overflow.pcap')]);
  t.equal(r.code, 1);
  t.match(r.stderr, /^podspan: .+\n$/);
});

t.test('convert never destroys data: the input as output is refused, failures leave OUT as it was, a cut-off input keeps its complete records', async (t) => {
  const src = join(dir, 'safe.pcap');
  const n = writeSynthPcap(src, { connections: 5, seed: 3 });
  const before = readFileSync(src);

  let r = await podspan(['convert', src, src]);
  t.equal(r.code, 2, 'IN as OUT: usage error');
  t.match(r.stderr, /is the input file itself/);
  symlinkSync(src, join(dir, 'safe-link.pcap'));
  r = await podspan(['convert', src, join(dir, 'safe-link.pcap')]);
  t.equal(r.code, 2, 'a symlink to IN as OUT: usage error');
  t.ok(readFileSync(src).equals(before), 'the input is untouched');

  r = await podspan(['convert', src, join(dir, 'no', 'such', 'dir', 'o.pcapng')]);
  t.equal(r.code, 1, `an output that cannot be created: exit 1 (${r.stderr.trim()})`);
  t.match(r.stderr, /^podspan: cannot create .*o\.pcapng: ENOENT/);

  r = await podspan(['convert', src, '/dev/full']);
  t.equal(r.code, 2, 'no format from the name /dev/full: usage error');
  symlinkSync('/dev/full', join(dir, 'full.pcapng'));
  r = await podspan(['convert', src, join(dir, 'full.pcapng')]);
  t.equal(r.code, 1, 'a full device: exit 1');
  t.match(r.stderr, /cannot write .*full\.pcapng: ENOSPC/);

  const existing = join(dir, 'existing.pcapng');
  writeFileSync(existing, 'keep me');
  const garbage = join(dir, 'garbage.pcap');
  writeFileSync(garbage, Buffer.alloc(100, 0x41));
  r = await podspan(['convert', garbage, existing]);
  t.equal(r.code, 1, 'an input that is not a capture: exit 1');
  t.equal(readFileSync(existing, 'utf8'), 'keep me', 'the existing OUT is untouched');
  t.same(readdirSync(dir).filter((f) => f.includes('.part')), [], 'no temporary file left');

  const cut = join(dir, 'cut.pcap');
  writeFileSync(cut, before.subarray(0, before.length - 10));
  const out = join(dir, 'cut.pcapng');
  r = await podspan(['convert', cut, out]);
  t.equal(r.code, 1, 'a cut-off input: exit 1');
  t.match(r.stderr, /cut off/);
  t.equal(records(out).length, n - 1, 'every complete record is written, as editcap does');

  // A pcapng input cut inside its first packet: the output is a valid pcapng with no packet.
  const ng = join(dir, 'safe.pcapng');
  t.equal((await podspan(['convert', src, ng])).code, 0);
  const cutNg = join(dir, 'cut-first.pcapng');
  const ngBytes = readFileSync(ng);
  const firstEpb = ngBytes.indexOf(Buffer.from([6, 0, 0, 0]), 28); // after the section header
  writeFileSync(cutNg, ngBytes.subarray(0, firstEpb + 20));
  const out2 = join(dir, 'cut-first-out.pcapng');
  writeFileSync(out2, 'keep me');
  r = await podspan(['convert', cutNg, out2]);
  t.equal(r.code, 1, 'cut before its first record: exit 1');
  t.same(records(out2), [], 'OUT is a valid pcapng without packets, not an empty file');
});
