/**
 * bench/replay: `podspan replay FILE --iface IF --mode packet --speed max` against
 * `tcpreplay --topspeed -i IF FILE`, same file, same veth, same run, taking turns.
 *
 * A namespace of its own (ij-bench-<pid>, removed at the end) holds a veth pair v0 <-> v1;
 * both tools write onto v0; the frames are addressed to a MAC nobody has, so v1's kernel
 * drops them at once and the cost measured is the sender's. Two files, made here:
 *   small  64-byte UDP frames (the packet-rate limit)
 *   mixed  synthetic HTTP over TCP plus UDP (packet/synth), 66..1514-byte frames
 * For each: the best of N rounds of the rate each tool reports ("Rated: ... pps"), frames
 * seen by v1 (rx_packets delta, so neither tool can claim what it did not send), and the
 * whole-process wall-clock rate (start-up and file reading included). The ratio is
 * podspan/tcpreplay; the target is at least 0.8.
 *
 * Then timing at --speed 1 (tcpreplay's default): 400 frames 0.25 ms and 1 ms apart with
 * one 100 ms pause, each tool once more, tcpdump on v1 (nanosecond timestamps) as the
 * clock: how far each frame's offset from the first frame is from the file's.
 *
 * usage: node dist/bench/replay.js [--rounds 5] [--small 200000] [--mixed-connections 1500]
 * Needs root. Not part of the test suite.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { PcapWriter } from '../packet/capfile/pcap-writer.js';
import { CapfileReader } from '../packet/capfile/reader.js';
import { buildUdpFrame, synthTraffic } from '../packet/synth/traffic.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    small: { type: 'string', default: '200000' },
    'mixed-connections': { type: 'string', default: '1500' },
  },
});
const ROUNDS = Number(values.rounds);
const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'main.js');
const NS = `ij-bench-${process.pid}`;

function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
}

function rxPackets(): number {
  const j = JSON.parse(ip(['-n', NS, '-s', '-j', 'link', 'show', 'dev', 'v1'])) as Array<{ stats64: { rx: { packets: number } } }>;
  return j[0]!.stats64.rx.packets;
}

function writeFile(path: string, frames: Iterable<{ tsSec: number; tsNsec: number; data: Buffer }>): number {
  const w = new PcapWriter({ linkType: 1, snapLen: 262144, nanosecond: true });
  const parts: Buffer[] = [w.header()];
  let n = 0;
  for (const f of frames) {
    parts.push(...w.record({ tsSec: f.tsSec, tsNsec: f.tsNsec, capLen: f.data.length, wireLen: f.data.length, data: f.data }));
    n++;
  }
  writeFileSync(path, Buffer.concat(parts));
  return n;
}

function* smallFrames(n: number): Generator<{ tsSec: number; tsNsec: number; data: Buffer }> {
  const src = { mac: '02:00:00:00:be:01', ip: '10.77.0.1', port: 40000 };
  const dst = { mac: '02:00:00:00:be:02', ip: '10.77.0.2', port: 9 };
  for (let i = 0; i < n; i++) {
    const f = buildUdpFrame({ ...src, port: 40000 + (i % 1000) }, dst, Buffer.alloc(22, i & 0xff)); // 64 bytes
    yield { tsSec: 1_700_000_000 + Math.floor(i / 100_000), tsNsec: (i % 100_000) * 10_000, data: f };
  }
}

interface RunResult {
  reportedPps: number;
  sent: number;
  seen: number;
  wallPps: number;
}

function parseRated(out: string): { pps: number; sent: number } {
  const pps = /Rated: [0-9.]+ Bps, [0-9.]+ Mbps, ([0-9.]+) pps/.exec(out);
  const sent = /Successful packets:\s+(\d+)/.exec(out);
  if (pps === null || sent === null) throw new Error(`no summary in:\n${out}`);
  return { pps: Number(pps[1]), sent: Number(sent[1]) };
}

function runTool(args: string[]): RunResult {
  const before = rxPackets();
  const t0 = process.hrtime.bigint();
  const r = spawnSync('ip', ['netns', 'exec', NS, ...args], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  const t1 = process.hrtime.bigint();
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${String(r.status)}): ${r.stderr}`);
  const seen = rxPackets() - before;
  const { pps, sent } = parseRated(r.stdout);
  return { reportedPps: pps, sent, seen, wallPps: sent / (Number(t1 - t0) / 1e9) };
}

function best(rs: RunResult[], k: keyof RunResult): number {
  return Math.max(...rs.map((r) => r[k]));
}

/** "tcpreplay version: 4.4.3 (build git:v4.4.3)" (tcpreplay -V writes it on stderr). */
function tcpreplayVersion(): string {
  const r = spawnSync('tcpreplay', ['-V'], { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`.split('\n')[0] ?? 'tcpreplay';
}

function sleepMs(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Frame capture times of a file, ns since its first frame. */
function offsetsNs(path: string): number[] {
  const r = new CapfileReader();
  r.push(readFileSync(path));
  r.end();
  const out: number[] = [];
  let s0 = -1;
  let n0 = 0;
  for (let rec = r.next(); rec !== null; rec = r.next()) {
    if (s0 < 0) {
      s0 = rec.tsSec;
      n0 = rec.tsNsec;
    }
    out.push((rec.tsSec - s0) * 1e9 + (rec.tsNsec - n0));
  }
  return out;
}

/** |offset error| percentiles (µs) of `args` replaying `file` at speed 1, seen by tcpdump on v1. */
async function timingError(file: string, args: string[], out: string): Promise<{ p50: number; p99: number; max: number; n: number }> {
  const td = spawn('ip', ['netns', 'exec', NS, 'tcpdump', '-i', 'v1', '-s', '200', '--immediate-mode', '-U', '--time-stamp-precision=nano', '-w', out, 'ether', 'proto', '0x88b5'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  td.stderr.on('data', (d: Buffer) => (err += d.toString()));
  for (let i = 0; i < 200 && !err.includes('listening on'); i++) await sleepMs(25);
  spawnSync('ip', ['netns', 'exec', NS, ...args], { stdio: 'ignore' });
  await sleepMs(300);
  const done = new Promise((r) => td.once('close', r));
  td.kill('SIGINT');
  await done;
  const want = offsetsNs(file);
  const got = offsetsNs(out);
  const errs = got.map((g, i) => Math.abs(g - (want[i] ?? g)) / 1000).sort((a, b) => a - b);
  const pct = (q: number): number => errs[Math.min(errs.length - 1, Math.floor(errs.length * q))] ?? NaN;
  return { p50: pct(0.5), p99: pct(0.99), max: errs[errs.length - 1] ?? NaN, n: got.length };
}

function pacedFrames(): Array<{ tsSec: number; tsNsec: number; data: Buffer }> {
  const out: Array<{ tsSec: number; tsNsec: number; data: Buffer }> = [];
  let t = 0;
  for (let i = 0; i < 400; i++) {
    t += i === 200 ? 100_000_000 : i % 2 === 1 ? 1_000_000 : 250_000;
    const f = Buffer.alloc(100, i & 0xff);
    Buffer.from('02000000be0202000000be01', 'hex').copy(f, 0);
    f.writeUInt16BE(0x88b5, 12);
    f.writeUInt32BE(i, 14);
    out.push({ tsSec: 1_700_000_000 + Math.floor(t / 1e9), tsNsec: t % 1e9, data: f });
  }
  return out;
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

const dir = mkdtempSync(join(tmpdir(), 'ij-bench-replay-'));
try {
  ip(['netns', 'add', NS]);
  // No IPv6: no router solicitations from v0 among the frames counted at v1.
  execFileSync('ip', ['netns', 'exec', NS, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  ip(['-n', NS, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']);
  ip(['-n', NS, 'link', 'set', 'v0', 'up']);
  ip(['-n', NS, 'link', 'set', 'v1', 'up']);
  const files = [
    { name: 'small', path: join(dir, 'small.pcap'), frames: 0 },
    { name: 'mixed', path: join(dir, 'mixed.pcap'), frames: 0 },
  ];
  files[0]!.frames = writeFile(files[0]!.path, smallFrames(Number(values.small)));
  files[1]!.frames = writeFile(files[1]!.path, synthTraffic({ connections: Number(values['mixed-connections']), requestsPerConnection: 3, responseBytes: 4000, udpEvery: 5 }));
  console.log(`bench/replay: ${ROUNDS} rounds, taking turns; veth v0 -> v1 in namespace ${NS}; ${tcpreplayVersion()}`);
  console.log('file    frames   tool       best pps (reported)  best pps (wall)  frames seen at v1  ratio (reported)  ratio (wall)');
  for (const f of files) {
    const tr: RunResult[] = [];
    const ps: RunResult[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      tr.push(runTool(['tcpreplay', '--topspeed', '-i', 'v0', f.path]));
      ps.push(runTool([process.execPath, CLI, 'replay', f.path, '--iface', 'v0', '--mode', 'packet', '--speed', 'max']));
    }
    const ratio = best(ps, 'reportedPps') / best(tr, 'reportedPps');
    const ratioWall = best(ps, 'wallPps') / best(tr, 'wallPps');
    const seen = (rs: RunResult[]): string => `${Math.min(...rs.map((r) => r.seen))}/${f.frames}`;
    console.log(`${f.name.padEnd(7)} ${String(f.frames).padStart(7)}   tcpreplay  ${fmt(best(tr, 'reportedPps')).padStart(19)}  ${fmt(best(tr, 'wallPps')).padStart(15)}  ${seen(tr).padStart(17)}`);
    console.log(`${''.padEnd(7)} ${''.padStart(7)}   podspan    ${fmt(best(ps, 'reportedPps')).padStart(19)}  ${fmt(best(ps, 'wallPps')).padStart(15)}  ${seen(ps).padStart(17)}  ${ratio.toFixed(2).padStart(16)}  ${ratioWall.toFixed(2).padStart(12)}`);
  }
  console.log('ratio = podspan / tcpreplay (target >= 0.8). "reported": each tool\'s own "Rated: ... pps" (first frame to last);');
  console.log('"wall": frames / whole process time (start-up and file reading included).');
  const paced = join(dir, 'paced.pcap');
  writeFile(paced, pacedFrames());
  const tt = await timingError(paced, ['tcpreplay', '-i', 'v0', paced], join(dir, 'tt.pcap'));
  const pt = await timingError(paced, [process.execPath, CLI, 'replay', paced, '--iface', 'v0', '--mode', 'packet', '--speed', '1'], join(dir, 'pt.pcap'));
  console.log('timing at --speed 1 (400 frames, 0.25/1 ms gaps, one 100 ms pause): |offset error| in us, seen by tcpdump on v1');
  for (const [name, r] of [['tcpreplay', tt], ['podspan', pt]] as const) {
    console.log(`  ${name.padEnd(9)}  median ${r.p50.toFixed(0).padStart(6)}  p99 ${r.p99.toFixed(0).padStart(7)}  max ${r.max.toFixed(0).padStart(7)}  (${r.n}/400 frames)`);
  }
} finally {
  try {
    ip(['netns', 'del', NS]);
  } catch {
    // already gone
  }
  rmSync(dir, { recursive: true, force: true });
}
