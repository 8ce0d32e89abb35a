/**
 * bench/read: `podspan read --json FILE > /dev/null` against `tcpdump -nn -r FILE > /dev/null`
 * on a capture of at least 100 MB that this benchmark generates (HTTP over TCP with some
 * VXLAN and UDP), both measured in this run. Prints both times and the ratio
 * podspan/tcpdump (target: <= 1.0).
 *
 * usage: node dist/bench/read.js [--mb 100] [--runs 3] [--keep]
 */
import { createWriteStream, existsSync, statSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { bestOf } from './timing.js';
import { PcapWriter } from '../packet/capfile/pcap-writer.js';
import { synthTraffic } from '../packet/synth/traffic.js';

const { values } = parseArgs({ options: { mb: { type: 'string', default: '100' }, runs: { type: 'string', default: '3' }, keep: { type: 'boolean', default: false } } });
const targetBytes = Number(values.mb) * 1e6;
const runs = Number(values.runs);
const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'main.js');
const file = join(tmpdir(), `podspan-bench-read-${values.mb}mb.pcap`);

async function generate(): Promise<void> {
  if (existsSync(file) && statSync(file).size >= targetBytes) return;
  const out = createWriteStream(file);
  const w = new PcapWriter({ linkType: 1, snapLen: 262144, nanosecond: true });
  out.write(w.header());
  let size = 24;
  let seed = 1;
  while (size < targetBytes) {
    for (const f of synthTraffic({ connections: 2000, requestsPerConnection: 2, responseBytes: 6000, concurrency: 16, udpEvery: 20, vxlanEvery: 8, seed: seed++, startSec: 1_700_000_000 + seed * 100 })) {
      for (const b of w.record({ tsSec: f.tsSec, tsNsec: f.tsNsec, capLen: f.data.length, wireLen: f.data.length, data: f.data })) {
        if (!out.write(b)) await once(out, 'drain');
        size += b.length;
      }
    }
  }
  out.end();
  await once(out, 'close');
}

const best = (cmd: string, args: string[]): number => bestOf(runs, cmd, args);

await generate();
const mb = statSync(file).size / 1e6;
const packets = spawnSync('capinfos', ['-c', '-M', file], { encoding: 'utf8' }).stdout.match(/Number of packets:\s+(\d+)/)?.[1] ?? '?';
const tcpdump = best('tcpdump', ['-nn', '-r', file]);
const podspan = best(process.execPath, [cli, 'read', '--json', file]);
const podspanText = best(process.execPath, [cli, 'read', file]);
console.log(`bench/read: ${mb.toFixed(1)} MB, ${packets} packets, best of ${runs}`);
console.log(`  tcpdump -nn -r           ${tcpdump.toFixed(3)} s  (${(mb / tcpdump).toFixed(0)} MB/s)`);
console.log(`  podspan read --json      ${podspan.toFixed(3)} s  (${(mb / podspan).toFixed(0)} MB/s)`);
console.log(`  podspan read (text)      ${podspanText.toFixed(3)} s  (${(mb / podspanText).toFixed(0)} MB/s)`);
console.log(`  ratio podspan --json / tcpdump = ${(podspan / tcpdump).toFixed(2)} (target <= 1.0)`);
console.log(`  ratio podspan text / tcpdump   = ${(podspanText / tcpdump).toFixed(2)}`);
if (!values.keep) rmSync(file, { force: true });
