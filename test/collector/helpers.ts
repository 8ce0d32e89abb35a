/**
 * Shared by the collector tests: running `podspan collector` (optionally inside a network
 * namespace), parsing its summary, reading the files it stored, tshark as the oracle for
 * the inner frames of tunnel captures, and a pair of namespaces joined by a veth.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { CapfileReader } from '../../packet/capfile/reader.js';
import type { CaptureInterface, InterfaceStats } from '../../packet/capfile/types.js';
import { CLI } from '../helpers/repo.js';
import { pidAlive } from '../helpers/run.js';

export const execFileP = promisify(execFile);

interface Teardownable {
  teardown(fn: () => unknown): void;
}

// ---------------------------------------------------------------------------------------
// The CLI

export interface RunningCollector {
  proc: ChildProcess;
  /** stderr so far. */
  stderr(): string;
  /** Sends `signal` (default SIGINT) and resolves with the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  /** Resolves when the process exits on its own. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/**
 * Starts `podspan collector ARGS` (inside `netns` via `ip netns exec` when given) and waits
 * until it prints "listening on". stdout is piped (see `proc.stdout`) unless `stdout` is
 * given. Killed on teardown.
 */
export async function startCollector(
  t: Teardownable,
  args: string[],
  opts: { netns?: string; stdout?: 'pipe' | 'ignore' | number } = {},
): Promise<RunningCollector> {
  const argv = [CLI, 'collector', ...args];
  const proc =
    opts.netns !== undefined
      ? spawn('ip', ['netns', 'exec', opts.netns, process.execPath, ...argv], { stdio: ['ignore', opts.stdout ?? 'pipe', 'pipe'] })
      : spawn(process.execPath, argv, { stdio: ['ignore', opts.stdout ?? 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    proc.once('close', (code, signal) => {
      done = true;
      resolve({ code, signal, stderr: err });
    });
  });
  t.teardown(async () => {
    if (!done) {
      proc.kill('SIGKILL');
      await exited;
    }
  });
  const deadline = Date.now() + 15_000;
  while (!err.includes('listening on')) {
    if (done) throw new Error(`collector exited before listening: ${err}`);
    if (Date.now() > deadline) throw new Error(`collector did not start: ${err}`);
    await sleep(20);
  }
  return {
    proc,
    stderr: () => err,
    async stop(signal: NodeJS.Signals = 'SIGINT') {
      if (!done) proc.kill(signal);
      return exited;
    },
    exited,
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The per-stage lines of the summary (cli/collector.ts formats and parses them). */
export { parseCollectorSummary as parseSummary, type StageCounts as StageLine } from '../../cli/collector.js';

// ---------------------------------------------------------------------------------------
// Stored files

export interface StoredFrame {
  file: string;
  iface: CaptureInterface;
  tsSec: number;
  tsNsec: number;
  capLen: number;
  wireLen: number;
  data: Buffer;
  comments: string[];
}

export interface StoredFile {
  name: string;
  interfaces: CaptureInterface[];
  stats: InterfaceStats[];
  frames: StoredFrame[];
}

/** Reads one pcapng/pcap file completely (records copied). Throws on a damaged file. */
export function readStoredFile(path: string): StoredFile {
  const reader = new CapfileReader();
  reader.push(readFileSync(path));
  reader.end();
  const frames: StoredFrame[] = [];
  for (let r = reader.next(); r !== null; r = reader.next()) {
    frames.push({ file: path, iface: r.iface, tsSec: r.tsSec, tsNsec: r.tsNsec, capLen: r.capLen, wireLen: r.wireLen, data: Buffer.from(r.data), comments: [...r.comments] });
  }
  return { name: path, interfaces: [...reader.interfaces], stats: [...reader.stats], frames };
}

/** Finished files of a store directory, in name (= time) order. */
export function finishedFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => /^podspan-.*\.pcapng$/.test(n))
    .sort()
    .map((n) => join(dir, n));
}

/** Every frame of every finished file, in file order. */
export function readStore(dir: string): StoredFrame[] {
  return finishedFiles(dir).flatMap((f) => readStoredFile(f).frames);
}

// ---------------------------------------------------------------------------------------
// tshark oracle

export interface TsharkTunnelFrame {
  /** 1-based frame number in the capture. */
  n: number;
  /** The tunnel tshark decoded: 'vxlan', 'erspan', 'gre' (0x6558), or '' when none. */
  tunnel: string;
  /** The inner Ethernet frame: from the second Ethernet header to the end of the outer IP packet. */
  inner: Buffer | undefined;
  /** Offset of the inner Ethernet header in the frame, or -1. */
  innerOffset: number;
  /** First GRE protocol type as tshark shows it (e.g. "0x0800"), or ''. */
  greProto: string;
  /** Outer UDP destination port, or 0. */
  udpDstPort: number;
}

type Raw = [string, number, number, number, number];

function rawList(v: unknown): Raw[] {
  if (!Array.isArray(v)) return [];
  if (typeof v[0] === 'string') return [v as Raw];
  return v as Raw[];
}

function firstField(layer: unknown, name: string): string {
  const l = Array.isArray(layer) ? layer[0] : layer;
  if (l === null || typeof l !== 'object') return '';
  const v = (l as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : '';
}

/**
 * tshark's view of a tunnel capture: for each frame, the tunnel it decoded and the inner
 * Ethernet frame, cut from the frame's bytes at the offset tshark gives for the second
 * Ethernet layer (`-T json -x`), up to the end of the outer IP packet (ip.len), so outer
 * padding is not included. `decodeAs` adds `-d` rules (e.g. "udp.port==8472,vxlan").
 */
export async function tsharkTunnelFrames(file: string, decodeAs: string[] = []): Promise<TsharkTunnelFrame[]> {
  const args = ['-r', file, '-T', 'json', '-x', '--no-duplicate-keys', '-j', 'frame eth ip udp gre erspan vxlan'];
  for (const d of decodeAs) args.push('-d', d);
  const { stdout } = await execFileP('tshark', args, { maxBuffer: 256 * 1024 * 1024, timeout: 60_000 });
  const pkts = JSON.parse(stdout) as Array<{ _source: { layers: Record<string, unknown> } }>;
  return pkts.map((p, i) => {
    const l = p._source.layers;
    const frame = Buffer.from(rawList(l['frame_raw'])[0]![0], 'hex');
    const eths = rawList(l['eth_raw']);
    const ips = rawList(l['ip_raw']);
    const greProto = firstField(l['gre'], 'gre.proto');
    const tunnel = l['vxlan'] !== undefined ? 'vxlan' : l['erspan'] !== undefined ? 'erspan' : greProto === '0x6558' ? 'gre' : '';
    let inner: Buffer | undefined;
    let innerOffset = -1;
    if (tunnel !== '' && eths.length >= 2 && ips.length >= 1) {
      const ipOff = ips[0]![1];
      const ipLen = Number(firstField(l['ip'], 'ip.len'));
      innerOffset = eths[1]![1];
      inner = frame.subarray(innerOffset, ipOff + ipLen);
    }
    return { n: i + 1, tunnel, inner, innerOffset, greProto, udpDstPort: Number(firstField(l['udp'], 'udp.dstport') || 0) };
  });
}

// ---------------------------------------------------------------------------------------
// Namespaces

export interface NetnsPair {
  /** Sender side. */
  nsA: string;
  /** Collector side. */
  nsB: string;
  ifA: string;
  ifB: string;
  ipA: string;
  ipB: string;
  macB: string;
}

export async function ip(args: string[]): Promise<string> {
  const { stdout } = await execFileP('ip', args, { timeout: 10_000 });
  return stdout;
}

/** Runs a command inside a namespace (no shell). */
export async function inNetns(ns: string, cmd: string, args: string[], timeoutMs = 30_000): Promise<{ stdout: string; stderr: string }> {
  return execFileP('ip', ['netns', 'exec', ns, cmd, ...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
}

/**
 * Two namespaces `<prefix><pid>-a|b` joined by veth0 (10.199.<net>.1) <-> veth1
 * (10.199.<net>.2), IPv6 off (no stray router solicitations in the captures). Deleted on
 * teardown (the veth goes with them); stale ones from a killed run are removed first.
 */
export async function makeNetnsPair(t: Teardownable, prefix: string, net: number): Promise<NetnsPair> {
  try {
    for (const n of readdirSync('/var/run/netns')) {
      const m = new RegExp(`^${prefix}(\\d+)-[ab]$`).exec(n);
      if (m !== null && !pidAlive(Number(m[1]))) await ip(['netns', 'del', n]).catch(() => undefined);
    }
  } catch {
    // no /var/run/netns yet
  }
  const nsA = `${prefix}${process.pid}-a`;
  const nsB = `${prefix}${process.pid}-b`;
  t.teardown(async () => {
    for (const ns of [nsA, nsB]) if (existsSync(`/var/run/netns/${ns}`)) await ip(['netns', 'del', ns]).catch(() => undefined);
  });
  await ip(['netns', 'add', nsA]);
  await ip(['netns', 'add', nsB]);
  for (const ns of [nsA, nsB]) {
    await inNetns(ns, 'sysctl', ['-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  }
  const pair = { nsA, nsB, ifA: 'veth0', ifB: 'veth1', ipA: `10.199.${net}.1`, ipB: `10.199.${net}.2`, macB: '' };
  await ip(['-n', nsA, 'link', 'add', pair.ifA, 'type', 'veth', 'peer', 'name', pair.ifB, 'netns', nsB]);
  await ip(['-n', nsA, 'addr', 'add', `${pair.ipA}/24`, 'dev', pair.ifA]);
  await ip(['-n', nsB, 'addr', 'add', `${pair.ipB}/24`, 'dev', pair.ifB]);
  for (const [ns, dev] of [[nsA, pair.ifA], [nsB, pair.ifB], [nsA, 'lo'], [nsB, 'lo']] as const) await ip(['-n', ns, 'link', 'set', dev, 'up']);
  const info = JSON.parse(await ip(['-n', nsB, '-j', 'link', 'show', 'dev', pair.ifB])) as Array<{ address: string }>;
  pair.macB = info[0]!.address;
  return pair;
}

/** tcprewrite: every outer IPv4 source → `src`, destination → `dst`, destination MAC → `dmac`. */
export async function rewriteOuter(input: string, output: string, o: { src: string; dst: string; dmac: string }): Promise<void> {
  await execFileP(
    'tcprewrite',
    [`--srcipmap=0.0.0.0/0:${o.src}/32`, `--dstipmap=0.0.0.0/0:${o.dst}/32`, `--enet-dmac=${o.dmac}`, '--fixcsum', '-i', input, '-o', output],
    { timeout: 30_000 },
  );
}

/** tcpreplay from inside `ns` out of `iface`, bounded rate; resolves when done. */
export async function replay(ns: string, iface: string, file: string): Promise<void> {
  await inNetns(ns, 'tcpreplay', ['-q', '--pps=2000', '-i', iface, file], 60_000);
}

// ---------------------------------------------------------------------------------------
// Sending

/** The ports of the "listening on vxlan H:P, ..." line, in order. */
export function listeningPorts(stderr: string): number[] {
  const line = /listening on ([^\n;]*)/.exec(stderr)?.[1] ?? '';
  return [...line.matchAll(/vxlan (?:\[[^\]]+\]|[0-9.]+):(\d+)/g)].map((m) => Number(m[1]));
}

/** An Ethernet frame of `len` bytes (IPv4 type) whose bytes 14..17 hold `n`. */
export function testFrame(n: number, len = 100): Buffer {
  const b = Buffer.alloc(len, n & 0xff);
  Buffer.from('02000000000202000000000108', 'hex').copy(b, 0);
  b.writeUInt16BE(0x0800, 12);
  b.writeUInt32BE(n, 14);
  return b;
}

/** Sends each datagram (buffers gathered) to host:port from one UDP socket, in order. */
export async function sendDatagrams(host: string, port: number, datagrams: Buffer[][]): Promise<void> {
  const dgram = await import('node:dgram');
  const s = dgram.createSocket('udp4');
  try {
    for (const d of datagrams) {
      await new Promise<void>((res, rej) => s.send(d, port, host, (e) => (e ? rej(e) : res())));
    }
  } finally {
    s.close();
  }
}

/**
 * tcpdump -w FILE inside `ns` on `iface` (nanosecond timestamps, immediate mode so nothing
 * waits in a ring block at SIGINT); resolves once it listens. In immediate mode libpcap's
 * TPACKET_V2 ring has one slot per snap length: for bursts at top speed give a small
 * `snapLen` and a large `bufferKiB` (4096 and 65536 give some 16000 slots). `stop()` sends SIGINT and
 * waits for the exit. Killed on teardown.
 */
export async function startTcpdump(
  t: Teardownable,
  ns: string,
  iface: string,
  file: string,
  opts: { snapLen?: number; bufferKiB?: number; filter?: string[] } = {},
): Promise<{ stop(): Promise<string> }> {
  const buffer = opts.bufferKiB === undefined ? [] : ['-B', String(opts.bufferKiB)];
  const args = ['netns', 'exec', ns, 'tcpdump', '-i', iface, '-n', '-U', '--immediate-mode', '--time-stamp-precision=nano', '-s', String(opts.snapLen ?? 262144), ...buffer, '-w', file, ...(opts.filter ?? [])];
  const proc = spawn('ip', args, {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let exited = false;
  const exitP = new Promise<void>((resolve) =>
    proc.once('close', () => {
      exited = true;
      resolve();
    }),
  );
  t.teardown(async () => {
    if (!exited) {
      proc.kill('SIGKILL');
      await exitP;
    }
  });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const deadline = Date.now() + 10_000;
  while (!err.includes('listening on')) {
    if (exited || Date.now() > deadline) throw new Error(`tcpdump did not start: ${err}`);
    await sleep(20);
  }
  return {
    async stop() {
      if (!exited) proc.kill('SIGINT');
      await exitP;
      return err;
    },
  };
}
