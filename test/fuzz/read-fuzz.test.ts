import t from 'tap';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/repo.js';
import { corpusAvailable, corpusFiles } from '../helpers/corpus.js';
import { synthTraffic } from '../../packet/synth/traffic.js';
import { PcapWriter } from '../../packet/capfile/pcap-writer.js';
import { runPipeline } from './pipeline.js';

// Fuzzing `podspan read`'s pipeline (reader + decoder) with mutated captures: never a throw
// that is not a PodspanError, never a runaway loop, bounded buffering, offsets in bounds.
// Crashers are written to test/fuzz/regressions/ (commit them) and replayed on every run.

const REGRESSIONS = join(REPO_ROOT, 'test', 'fuzz', 'regressions');
const TIME_BOX_MS = Number(process.env.PODSPAN_FUZZ_MS ?? 5000);

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function seeds(): Buffer[] {
  const out: Buffer[] = [];
  const w = new PcapWriter({ linkType: 1, snapLen: 262144, nanosecond: true });
  const parts = [w.header()];
  for (const f of synthTraffic({ connections: 3, vxlanEvery: 2, udpEvery: 4, seed: 11 })) parts.push(...w.record({ tsSec: f.tsSec, tsNsec: f.tsNsec, capLen: f.data.length, wireLen: f.data.length, data: f.data }));
  out.push(Buffer.concat(parts));
  if (corpusAvailable()) for (const f of corpusFiles()) if (readFileSync(f).length <= 64 * 1024) out.push(readFileSync(f));
  return out;
}

const INTERESTING = [0x00, 0xff, 0x7f, 0x80, 0x01, 0x40, 0x45, 0x60, 0x86, 0xdd, 0x08, 0x2f, 0x11, 0x06];

function mutate(src: Buffer, rnd: () => number): Buffer {
  let b = Buffer.from(src);
  const n = 1 + Math.floor(rnd() * 8);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(rnd() * b.length);
    switch (Math.floor(rnd() * 6)) {
      case 0: b[at] = Math.floor(rnd() * 256); break;
      case 1: b[at] = (b[at] ?? 0) ^ (1 << Math.floor(rnd() * 8)); break;
      case 2: b[at] = INTERESTING[Math.floor(rnd() * INTERESTING.length)]!; break;
      case 3: b = b.subarray(0, at); break;
      case 4: { const len = Math.floor(rnd() * 64); b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + len), b.subarray(at)]); break; }
      default: if (at + 4 <= b.length) b.writeUInt32LE(Math.floor(rnd() * 0x100000000), at);
    }
  }
  return b;
}

function describe(input: Buffer, label: string, r: ReturnType<typeof runPipeline>): string {
  return `${label}: ${r.bug ? `threw ${String((r.bug as Error).stack ?? r.bug)}` : r.runaway ? 'runaway record loop' : `buffered ${r.maxBuffered} bytes for ${input.length} input`}`;
}

t.test('committed regression inputs: no bug, no runaway', async (t) => {
  mkdirSync(REGRESSIONS, { recursive: true });
  const files = readdirSync(REGRESSIONS).filter((f) => f.endsWith('.bin'));
  t.ok(files.length > 0, `${files.length} regression inputs`);
  for (const f of files) {
    const input = readFileSync(join(REGRESSIONS, f));
    for (const size of [1, 7, 65536]) {
      const r = runPipeline(input, () => size);
      t.ok(r.bug === undefined && !r.runaway, describe(input, `${f} in ${size}-byte chunks`, r));
    }
  }
});

t.test(`mutated captures for ${TIME_BOX_MS} ms: no bug, no runaway, bounded buffering`, async (t) => {
  const pool = seeds();
  const seed = Number(process.env.PODSPAN_SEED ?? Date.now() % 1e9);
  const rnd = prng(seed);
  t.comment(`seed ${seed} (PODSPAN_SEED replays it)`);
  const end = Date.now() + TIME_BOX_MS;
  let runs = 0;
  let failures = 0;
  while (Date.now() < end && failures < 3) {
    const input = mutate(pool[Math.floor(rnd() * pool.length)]!, rnd);
    const r = runPipeline(input, () => 1 + Math.floor(rnd() * 4096));
    runs++;
    // Buffering never exceeds the input itself plus one maximal block (16 MiB cap).
    if (r.bug !== undefined || r.runaway || r.maxBuffered > input.length + 64) {
      failures++;
      const name = createHash('sha1').update(input).digest('hex').slice(0, 16) + '.bin';
      writeFileSync(join(REGRESSIONS, name), input);
      t.fail(describe(input, `saved as test/fuzz/regressions/${name}`, r));
    }
  }
  t.ok(runs > 100, `${runs} mutated inputs`);
});
