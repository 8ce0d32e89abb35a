import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { synthTraffic } from '../../packet/synth/traffic.js';
import { PcapWriter } from '../../packet/capfile/pcap-writer.js';
import { runPipeline } from './pipeline.js';
import { corpusSeeds, fuzz, REGRESSIONS, TIME_BOX_MS, type Seed } from './mutate.js';

// Fuzzing `podspan read`'s pipeline (reader + decoder) with mutated captures: never a throw
// that is not a PodspanError, never a runaway loop, bounded buffering, offsets in bounds.
// Crashers made from the project's own capture are written to test/fuzz/regressions/ (commit
// them) and replayed on every run; those made from a corpus capture are named with the seed.


function seeds(): Seed[] {
  const w = new PcapWriter({ linkType: 1, snapLen: 262144, nanosecond: true });
  const parts = [w.header()];
  for (const f of synthTraffic({ connections: 3, vxlanEvery: 2, udpEvery: 4, seed: 11 })) parts.push(...w.record({ tsSec: f.tsSec, tsNsec: f.tsNsec, capLen: f.data.length, wireLen: f.data.length, data: f.data }));
  return [{ name: 'synthetic', data: Buffer.concat(parts), own: true }, ...corpusSeeds()];
}

function describe(input: Buffer, r: ReturnType<typeof runPipeline>): string {
  return `${r.bug ? `threw ${String((r.bug as Error).stack ?? r.bug)}` : r.runaway ? 'runaway record loop' : `buffered ${r.maxBuffered} bytes for ${input.length} input`}`;
}

t.test('committed regression inputs: no bug, no runaway', async (t) => {
  const files = readdirSync(REGRESSIONS).filter((f) => f.endsWith('.bin'));
  t.ok(files.length > 0, `${files.length} regression inputs`);
  for (const f of files) {
    const input = readFileSync(join(REGRESSIONS, f));
    for (const size of [1, 7, 65536]) {
      const r = runPipeline(input, () => size);
      t.ok(r.bug === undefined && !r.runaway, `${f} in ${size}-byte chunks: ${describe(input, r)}`);
    }
  }
});

t.test(`mutated captures for ${TIME_BOX_MS} ms: no bug, no runaway, bounded buffering`, async (t) => {
  const pool = seeds();
  fuzz(t, pool, 100, (input, rnd) => {
    const r = runPipeline(input, () => 1 + Math.floor(rnd() * 4096));
    // Buffering never exceeds the input itself plus one maximal block (16 MiB cap).
    return r.bug !== undefined || r.runaway || r.maxBuffered > input.length + 64 ? describe(input, r) : undefined;
  });
});
