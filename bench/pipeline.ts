/**
 * bench/pipeline: the packet path end to end — `podspan agent --to vxlan://` on a pod veth,
 * `podspan collector --vxlan --out DIR` storing pcapng — against `tcpdump -w FILE` on the
 * same veth at the same time, in a lab node of its own (prefix psl-ap-, removed at the end).
 *
 * Offered loads of 60-byte UDP frames from the client pod to the server pod at rising
 * rates (bench/lab-load.ts's sendmmsg generator). Both sides write to files in the same
 * temporary directory. For each rate: frames sent, frames tcpdump wrote, frames the
 * collector stored (counted by reading its pcapng files back), drops, and CPU per packet
 * (utime + stime from /proc over the measured load, after a warm-up; agent + collector
 * for the pipeline). "Lossless": every frame sent was written (warm-up included) and no
 * stage dropped any. Prints the highest lossless rate of each and the ratio
 * pipeline/tcpdump (issue #5's target: at least 0.8).
 *
 * usage: node dist/bench/pipeline.js [--seconds 3] [--rates 25000,50000,...]
 * Needs root. Not part of the test suite.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { labDown, labUp, type LabOptions } from '../lab/index.js';
import { CapfileReader } from '../packet/capfile/reader.js';
import { buildUdpGenerator, cpuSeconds, num, sleep, startCapturer, type Capturer } from './lab-load.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    rates: { type: 'string', default: '25000,50000,100000,200000,300000,0' },
  },
});
const SECONDS = Number(values.seconds);
const RATES = values.rates.split(',').map(Number);
const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'main.js');
const LAB: LabOptions = { prefix: 'psl-ap-', subnet: '10.86.0.0/24' };
const NODE_NS = 'psl-ap-node';
const UDP_PORT = 9;
const PAYLOAD = 18; // 60-byte frames
const VXLAN_PORT = 47890;
const FILTER = `udp and dst port ${UDP_PORT}`;

interface Side {
  written: number;
  dropped: number;
  cpuSec: number;
}

interface Row {
  label: string;
  sent: number;
  measuredSent: number;
  sentPps: number;
  tcpdump: Side;
  pipeline: Side;
  detail: string;
}

/** Frames in every pcapng file of `dir` (finished files and a left-over .part alike). */
function storedFrames(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir)) {
    const reader = new CapfileReader();
    reader.push(readFileSync(join(dir, name)));
    reader.end();
    while (reader.next() !== null) n++;
  }
  return n;
}

/** Sums every "dropped N" of the collector's stage lines. */
function collectorDrops(text: string): number {
  let n = 0;
  for (const m of text.matchAll(/: received \d+, delivered \d+, dropped (\d+)/g)) n += Number(m[1]);
  return n;
}

async function stop(c: Capturer): Promise<void> {
  c.proc.kill('SIGINT');
  await c.exited;
}

async function measureRate(veth: string, gen: (pps: number, seconds: number) => number, pps: number, work: string): Promise<Row> {
  const dir = mkdtempSync(join(work, 'rate-'));
  const store = join(dir, 'store');
  mkdirSync(store);
  const tcpdump = await startCapturer('ip', ['netns', 'exec', NODE_NS, 'tcpdump', '-i', veth, '-n', '-B', '8192', '-s', '262144', '--time-stamp-precision=nano', '-w', join(dir, 'tcpdump.pcap'), FILTER]);
  const collector = await startCapturer(process.execPath, [CLI, 'collector', '--vxlan', `127.0.0.1:${VXLAN_PORT}`, '--out', store, '--split-by', 'none']);
  const agent = await startCapturer(process.execPath, [CLI, 'agent', '--iface', veth, '--netns', NODE_NS, '--filter', FILTER, '--to', `vxlan://127.0.0.1:${VXLAN_PORT}?vni=7`]);
  // Warm-up: V8 compiles the hot paths in the first second of traffic.
  const warmSent = gen(100_000, 1);
  await sleep(1200);
  const pids = [tcpdump.proc.pid!, agent.proc.pid!, collector.proc.pid!];
  const cpu0 = pids.map(cpuSeconds);
  const t0 = process.hrtime.bigint();
  const sent = gen(pps, SECONDS);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await sleep(1500); // tcpdump's block timeout is 1 s; the collector's queue drains
  const cpu1 = pids.map(cpuSeconds);
  await stop(agent);
  await sleep(300); // datagrams in flight reach the collector
  await Promise.all([stop(tcpdump), stop(collector)]);
  const tdText = tcpdump.stderr();
  const agentText = agent.stderr();
  const colText = collector.stderr();
  const agentDrops = num(agentText, /^(\d+) packets? dropped by kernel/m) + num(agentText, /^(\d+) packets? dropped by podspan/m) + num(agentText, / (\d+) not exported/m);
  const row: Row = {
    label: pps === 0 ? 'max' : String(pps),
    sent: sent + warmSent,
    measuredSent: sent,
    sentPps: sent / seconds,
    tcpdump: { written: num(tdText, /^(\d+) packets? captured/m), dropped: num(tdText, /^(\d+) packets? dropped by kernel/m), cpuSec: cpu1[0]! - cpu0[0]! },
    pipeline: { written: storedFrames(store), dropped: agentDrops + collectorDrops(colText), cpuSec: cpu1[1]! - cpu0[1]! + (cpu1[2]! - cpu0[2]!) },
    detail: `agent CPU ${(cpu1[1]! - cpu0[1]!).toFixed(2)} s, collector CPU ${(cpu1[2]! - cpu0[2]!).toFixed(2)} s`,
  };
  rmSync(dir, { recursive: true, force: true });
  return row;
}

function lossless(s: Side, sent: number): boolean {
  return s.dropped === 0 && s.written >= sent;
}

function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/pipeline needs root (network namespaces, capture)');
  const work = mkdtempSync(join(tmpdir(), 'psl-bench-pipeline-'));
  try {
    await labDown(LAB);
    const info = await labUp(LAB);
    const server = info.pods.find((p) => p.name === 'server')!;
    const client = info.pods.find((p) => p.name === 'client')!;
    const veth = server.hostVeth!;
    const bin = buildUdpGenerator(work);
    if (bin === undefined) throw new Error('bench/pipeline needs gcc to build its load generator');
    const gen = (pps: number, seconds: number): number =>
      (JSON.parse(execFileSync('ip', ['netns', 'exec', client.netns, bin, server.ip!, String(UDP_PORT), String(pps), String(seconds), String(PAYLOAD)], { encoding: 'utf8', timeout: (seconds + 10) * 1000 })) as { sent: number }).sent;

    const rows: Row[] = [];
    for (const pps of RATES) {
      const r = await measureRate(veth, gen, pps, work);
      rows.push(r);
      process.stderr.write(`udp ${r.label} pps: sent ${r.sent}, tcpdump wrote ${r.tcpdump.written} (-${r.tcpdump.dropped}), pipeline stored ${r.pipeline.written} (-${r.pipeline.dropped}); ${r.detail}\n`);
    }
    const lines: string[] = [];
    lines.push(`bench/pipeline: agent -> VXLAN -> collector -> pcapng vs tcpdump -w on one veth, same run (60-byte UDP frames, ${SECONDS} s per rate, both writing files)`);
    lines.push('');
    lines.push('offered pps | sent pps | tcpdump: written dropped ns CPU/pkt | pipeline: stored dropped ns CPU/pkt | CPU ratio');
    for (const r of rows) {
      const per = (s: Side): string => fmt((s.cpuSec * 1e9) / r.measuredSent);
      lines.push(
        `${r.label.padStart(11)} | ${fmt(r.sentPps).padStart(8)} | ${String(r.tcpdump.written).padStart(15)} ${String(r.tcpdump.dropped).padStart(7)} ${per(r.tcpdump).padStart(11)}${lossless(r.tcpdump, r.sent) ? ' ok' : ' LOSS'} | ` +
          `${String(r.pipeline.written).padStart(15)} ${String(r.pipeline.dropped).padStart(7)} ${per(r.pipeline).padStart(11)}${lossless(r.pipeline, r.sent) ? ' ok' : ' LOSS'} | ${fmt(r.pipeline.cpuSec / r.tcpdump.cpuSec, 2)}`,
      );
    }
    const best = (k: 'tcpdump' | 'pipeline'): number => Math.max(0, ...rows.filter((r) => lossless(r[k], r.sent)).map((r) => r.sentPps));
    const bt = best('tcpdump');
    const bp = best('pipeline');
    lines.push('');
    lines.push(`highest lossless rate: tcpdump ${fmt(bt)} pps, pipeline ${fmt(bp)} pps, ratio pipeline/tcpdump ${fmt(bp / bt, 2)} (target >= 0.8)`);
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    await labDown(LAB);
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
