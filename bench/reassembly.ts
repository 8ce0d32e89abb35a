/**
 * bench/reassembly: `podspan streams FILE -o DIR` against `tcpflow -r FILE -o DIR` on a
 * capture of at least 200 MB that this benchmark generates (many concurrent keep-alive HTTP
 * connections plus bulk transfers), both in this run. Prints MB/s of capture processed by
 * each and the speed ratio podspan/tcpflow (target >= 1.0).
 *
 * usage: node dist/bench/reassembly.js [--mb 200] [--runs 3] [--keep]
 * The capture is synthetic (packet/synth), not recorded in the lab yet: TODO(#4).
 */
import { createWriteStream, existsSync, statSync, rmSync, mkdirSync } from 'node:fs';
import { once } from 'node:events';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { bestOf } from './timing.js';
import { PcapWriter } from '../packet/capfile/pcap-writer.js';
import { synthTraffic } from '../packet/synth/traffic.js';

const { values } = parseArgs({ options: { mb: { type: 'string', default: '200' }, runs: { type: 'string', default: '3' }, keep: { type: 'boolean', default: false } } });
const targetBytes = Number(values.mb) * 1e6;
const runs = Number(values.runs);
const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'main.js');
const file = join(tmpdir(), `podspan-bench-streams-${values.mb}mb.pcap`);
const outDir = join(tmpdir(), 'podspan-bench-streams-out');

async function generate(): Promise<void> {
  if (existsSync(file) && statSync(file).size >= targetBytes) return;
  const out = createWriteStream(file);
  const w = new PcapWriter({ linkType: 1, snapLen: 262144, nanosecond: true });
  out.write(w.header());
  let size = 24;
  let round = 0;
  while (size < targetBytes) {
    // Alternate many small HTTP exchanges with a few bulk ones, 64 connections at a time.
    const bulk = round % 4 === 3;
    const gen = synthTraffic({ connections: bulk ? 16 : 2000, requestsPerConnection: bulk ? 2 : 3, responseBytes: bulk ? 2_000_000 : 4000, concurrency: 64, seed: 100 + round, startSec: 1_700_000_000 + round * 1000 });
    for (const f of gen) {
      for (const b of w.record({ tsSec: f.tsSec, tsNsec: f.tsNsec, capLen: f.data.length, wireLen: f.data.length, data: f.data })) {
        if (!out.write(b)) await once(out, 'drain');
        size += b.length;
      }
    }
    round++;
  }
  out.end();
  await once(out, 'close');
}

const best = (cmd: string, args: string[]): number =>
  bestOf(runs, cmd, args, () => {
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });
  });

await generate();
const mb = statSync(file).size / 1e6;
const tcpflow = best('tcpflow', ['-r', file, '-o', outDir]);
const podspan = best(process.execPath, [cli, 'streams', file, '-o', outDir]);
rmSync(outDir, { recursive: true, force: true });
console.log(`bench/reassembly: ${mb.toFixed(1)} MB capture, best of ${runs}`);
console.log(`  tcpflow -r          ${tcpflow.toFixed(3)} s  (${(mb / tcpflow).toFixed(0)} MB/s)`);
console.log(`  podspan streams     ${podspan.toFixed(3)} s  (${(mb / podspan).toFixed(0)} MB/s)`);
console.log(`  speed ratio podspan/tcpflow = ${(tcpflow / podspan).toFixed(2)} (target >= 1.0)`);
if (!values.keep) rmSync(file, { force: true });
