/**
 * bench/capture: `podspan agent -w` against `tcpdump -w` on the same pod veth at the same
 * time, in a lab node of its own (prefix psl-ab-, removed at the end).
 *
 *   1. Offered loads of 60-byte UDP frames (18-byte payload) from the client pod to the
 *      server pod at rising rates, sent by a small C generator (sendmmsg, compiled here with
 *      gcc; iperf3 -u -l 18 when gcc is missing, which tops out far lower).
 *   2. Bulk TCP (iperf3) from the client pod to the server pod.
 *
 * Both capture with the same BPF filter and an 8 MiB kernel ring (tcpdump -B 8192) and
 * write to /dev/null, so the disk is out of the comparison. For each rate: frames sent,
 * captured, dropped, CPU per packet (utime + stime deltas from /proc/PID/stat, all threads,
 * over the measured load, divided by the frames sent in it; after a 1 s warm-up load) and
 * the ratio podspan/tcpdump. "Lossless": the tool captured every frame sent (warm-up
 * included) and neither the kernel nor podspan dropped any. The highest lossless rate is
 * bounded by what the generator reaches on this machine while both capture.
 *
 * With --baseline OTHER/dist/cli/main.js (another build of podspan, e.g. HEAD built in /tmp),
 * that agent captures too, on the same veth at the same time, and gets its own columns and
 * ratios: before/after numbers from one run.
 *
 * usage: node dist/bench/capture.js [--seconds 3] [--rates 25000,50000,...] [--tcp-seconds 5]
 *                                   [--baseline OTHER/dist/cli/main.js]
 * Needs root. Not part of the test suite.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { labDown, labUp, type LabOptions } from '../lab/index.js';
import { buildUdpGenerator, cpuSeconds, num, sleep, startCapturer } from './lab-load.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    rates: { type: 'string', default: '25000,50000,100000,200000,300000,400000,0' },
    'tcp-seconds': { type: 'string', default: '5' },
    baseline: { type: 'string' },
  },
});
const BASELINE = values.baseline;
const SECONDS = Number(values.seconds);
const RATES = values.rates.split(',').map(Number);
const TCP_SECONDS = Number(values['tcp-seconds']);
const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'main.js');
const LAB: LabOptions = { prefix: 'psl-ab-', subnet: '10.85.0.0/24' };
const NODE_NS = 'psl-ab-node';
const UDP_PORT = 9; // nothing listens: the pod's kernel drops the frames cheaply
const PAYLOAD = 18; // 14 Ethernet + 20 IPv4 + 8 UDP + 18 = 60 bytes on the wire


interface ToolResult {
  captured: number;
  received: number;
  dropped: number;
  podspanDropped: number;
  cpuSec: number;
}

interface Run {
  label: string;
  offeredPps: number;
  sent: number;
  /** Frames sent while CPU was measured (the warm-up excluded). */
  measuredSent: number;
  sentPps: number;
  tcpdump: ToolResult;
  podspan: ToolResult;
  baseline: ToolResult | undefined;
  extra: string;
}

type Tool = 'tcpdump' | 'podspan' | 'baseline';

function parseTool(text: string, cpuSec: number): ToolResult {
  return {
    captured: num(text, /^(\d+) packets? captured/m),
    received: num(text, /^(\d+) packets? received by filter/m),
    dropped: num(text, /^(\d+) packets? dropped by kernel/m),
    podspanDropped: /dropped by podspan/.test(text) ? num(text, /^(\d+) packets? dropped by podspan/m) : 0,
    cpuSec,
  };
}

/**
 * Runs `load` with tcpdump and podspan capturing on `veth`; returns both results. A warm-up
 * load runs first (V8 compiles the agent's hot path during its first second of traffic; a
 * long-running agent is warm): its frames count in `sent` and `captured`, but the CPU is
 * measured over `load` only, per frame `load` sent.
 */
async function measure(
  veth: string,
  filter: string,
  warmup: (() => number) | undefined,
  load: () => Promise<{ sent: number; seconds: number; extra: string }>,
): Promise<{ sent: number; measuredSent: number; seconds: number; extra: string; tcpdump: ToolResult; podspan: ToolResult; baseline: ToolResult | undefined }> {
  const agentArgs = ['agent', '--iface', veth, '--netns', NODE_NS, '--filter', filter, '-w', '/dev/null'];
  const tcpdump = await startCapturer('ip', ['netns', 'exec', NODE_NS, 'tcpdump', '-i', veth, '-n', '-B', '8192', '-s', '262144', '--time-stamp-precision=nano', '-w', '/dev/null', filter]);
  const podspan = await startCapturer(process.execPath, [CLI, ...agentArgs]);
  const baseline = BASELINE === undefined ? undefined : await startCapturer(process.execPath, [BASELINE, ...agentArgs]);
  const procs = baseline === undefined ? [tcpdump, podspan] : [tcpdump, podspan, baseline];
  const warmSent = warmup === undefined ? 0 : warmup();
  if (warmup !== undefined) await sleep(1200);
  const pids = procs.map((p) => p.proc.pid!);
  const cpu0 = pids.map(cpuSeconds);
  const r = await load();
  await sleep(1500); // tcpdump's block timeout is 1 s: let every block retire
  const cpu1 = pids.map(cpuSeconds);
  for (const p of procs) p.proc.kill('SIGINT');
  await Promise.all(procs.map((p) => p.exited));
  return {
    ...r,
    sent: r.sent + warmSent,
    measuredSent: r.sent,
    tcpdump: parseTool(tcpdump.stderr(), cpu1[0]! - cpu0[0]!),
    podspan: parseTool(podspan.stderr(), cpu1[1]! - cpu0[1]!),
    baseline: baseline === undefined ? undefined : parseTool(baseline.stderr(), cpu1[2]! - cpu0[2]!),
  };
}

function lossless(t: ToolResult, sent: number): boolean {
  return t.dropped === 0 && t.podspanDropped === 0 && t.captured >= sent;
}

function nsPerPacket(t: ToolResult, frames: number): number {
  return frames > 0 ? (t.cpuSec * 1e9) / frames : NaN;
}

function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/capture needs root (network namespaces, capture)');
  const work = mkdtempSync(join(tmpdir(), 'psl-bench-capture-'));
  const children: ChildProcess[] = [];
  try {
    await labDown(LAB);
    const info = await labUp(LAB);
    const server = info.pods.find((p) => p.name === 'server')!;
    const client = info.pods.find((p) => p.name === 'client')!;
    const veth = server.hostVeth!;

    const built = buildUdpGenerator(work);
    const generator: 'c' | 'iperf3' = built === undefined ? 'iperf3' : 'c';
    const gen = built ?? '';

    const iperfServer = spawn('ip', ['netns', 'exec', server.netns, 'iperf3', '-s'], { stdio: 'ignore' });
    children.push(iperfServer);
    await sleep(500);

    const runs: Run[] = [];
    const udpgen = (pps: number, seconds: number): { sent: number; seconds: number } =>
      JSON.parse(execFileSync('ip', ['netns', 'exec', client.netns, gen, server.ip!, String(UDP_PORT), String(pps), String(seconds), String(PAYLOAD)], { encoding: 'utf8', timeout: (seconds + 10) * 1000 })) as { sent: number; seconds: number };
    for (const pps of RATES) {
      const filter = generator === 'c' ? `udp and dst port ${UDP_PORT}` : 'udp and dst port 5201';
      const warm = generator === 'c' ? () => udpgen(100_000, 1).sent : undefined;
      const r = await measure(veth, filter, warm, async () => {
        if (generator === 'c') {
          const j = udpgen(pps, SECONDS);
          return { sent: j.sent, seconds: j.seconds, extra: '' };
        }
        const out = execFileSync('ip', ['netns', 'exec', client.netns, 'iperf3', '-c', server.ip!, '-u', '-l', String(PAYLOAD), '-b', String(pps * PAYLOAD * 8), '-t', String(SECONDS), '-J'], { encoding: 'utf8', timeout: (SECONDS + 20) * 1000 });
        const j = JSON.parse(out) as { end: { sum: { packets: number; seconds: number } } };
        return { sent: j.end.sum.packets, seconds: j.end.sum.seconds, extra: '' };
      });
      runs.push({ label: pps === 0 ? 'max' : String(pps), offeredPps: pps, sent: r.sent, measuredSent: r.measuredSent, sentPps: r.measuredSent / r.seconds, tcpdump: r.tcpdump, podspan: r.podspan, baseline: r.baseline, extra: r.extra });
      const b = r.baseline === undefined ? '' : `, baseline ${r.baseline.captured} (-${r.baseline.dropped})`;
      process.stderr.write(`udp ${pps === 0 ? 'max' : pps} pps: sent ${r.sent}, tcpdump ${r.tcpdump.captured} (-${r.tcpdump.dropped}), podspan ${r.podspan.captured} (-${r.podspan.dropped})${b}\n`);
    }

    const tcp = await measure(veth, 'tcp port 5201', undefined, async () => {
      const out = execFileSync('ip', ['netns', 'exec', client.netns, 'iperf3', '-c', server.ip!, '-t', String(TCP_SECONDS), '-J'], { encoding: 'utf8', timeout: (TCP_SECONDS + 20) * 1000 });
      const j = JSON.parse(out) as { end: { sum_sent: { bytes: number; seconds: number; bits_per_second: number } } };
      return { sent: 0, seconds: j.end.sum_sent.seconds, extra: `${fmt(j.end.sum_sent.bits_per_second / 1e9, 2)} Gbit/s, ${fmt(j.end.sum_sent.bytes / 1e6)} MB` };
    });

    const lines: string[] = [];
    lines.push(`bench/capture: podspan agent -w vs tcpdump -w on one veth, same run (${generator === 'c' ? 'C sendmmsg generator' : 'iperf3 -u'}, 60-byte UDP frames, ${SECONDS} s per rate, output /dev/null, 8 MiB kernel ring each)`);
    lines.push('');
    const cell = (t: ToolResult, r: Run): string =>
      `${String(t.captured).padStart(17)} ${String(t.dropped + t.podspanDropped).padStart(8)} ${fmt(nsPerPacket(t, r.measuredSent)).padStart(10)}${lossless(t, r.sent) ? ' ok' : ' LOSS'}`;
    lines.push(
      'offered pps | sent pps |  tcpdump: captured  dropped  ns CPU/pkt | podspan: captured  dropped  ns CPU/pkt | CPU ratio podspan/tcpdump' +
        (BASELINE === undefined ? '' : ' | baseline: captured  dropped  ns CPU/pkt | CPU ratio baseline/tcpdump'),
    );
    for (const r of runs) {
      const ratio = r.podspan.cpuSec / r.tcpdump.cpuSec;
      const base = r.baseline === undefined ? '' : ` | ${cell(r.baseline, r)} | ${fmt(r.baseline.cpuSec / r.tcpdump.cpuSec, 2)}`;
      lines.push(`${r.label.padStart(11)} | ${fmt(r.sentPps).padStart(8)} | ${cell(r.tcpdump, r)} | ${cell(r.podspan, r)} | ${fmt(ratio, 2).padStart(25)}${base}`);
    }
    const tools: Tool[] = BASELINE === undefined ? ['podspan'] : ['podspan', 'baseline'];
    const result = (r: Run, k: Tool): ToolResult | undefined => r[k];
    const best = (k: Tool): number => Math.max(0, ...runs.filter((r) => { const x = result(r, k); return x !== undefined && lossless(x, r.sent); }).map((r) => r.sentPps));
    const bt = best('tcpdump');
    lines.push('');
    for (const k of tools) {
      const bp = best(k);
      lines.push(`highest lossless rate: tcpdump ${fmt(bt)} pps, ${k} ${fmt(bp)} pps, ratio ${k}/tcpdump ${fmt(bp / bt, 2)}`);
      const common = runs.filter((r) => { const x = result(r, k); return x !== undefined && lossless(r.tcpdump, r.sent) && lossless(x, r.sent); });
      if (common.length > 0) {
        const top = common.reduce((a, b) => (b.sentPps > a.sentPps ? b : a));
        const x = result(top, k)!;
        lines.push(`CPU per packet at the highest rate both capture losslessly (${fmt(top.sentPps)} pps): tcpdump ${fmt(nsPerPacket(top.tcpdump, top.measuredSent))} ns, ${k} ${fmt(nsPerPacket(x, top.measuredSent))} ns, ratio ${fmt(x.cpuSec / top.tcpdump.cpuSec, 2)}`);
      }
    }
    lines.push('');
    lines.push(`bulk TCP (iperf3, ${TCP_SECONDS} s, ${tcp.extra}; frames are GSO super-frames with default offloads):`);
    for (const k of ['tcpdump', ...tools] as const) {
      const t = k === 'tcpdump' ? tcp.tcpdump : k === 'podspan' ? tcp.podspan : tcp.baseline;
      if (t === undefined) continue;
      lines.push(`  ${k.padEnd(8)} captured ${t.captured}, dropped ${t.dropped + t.podspanDropped}, CPU ${fmt(t.cpuSec, 2)} s, ${fmt(nsPerPacket(t, t.captured))} ns/captured pkt`);
      if (k !== 'tcpdump') lines.push(`  ratio ${k}/tcpdump: CPU ${fmt(t.cpuSec / tcp.tcpdump.cpuSec, 2)}, captured ${fmt(t.captured / tcp.tcpdump.captured, 3)}`);
    }
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    await labDown(LAB);
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
