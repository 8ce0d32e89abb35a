/**
 * Real network namespaces for native tests: two namespaces joined by a veth pair, created
 * inside them so nothing appears in the host namespace. Everything is removed in
 * t.teardown, also when the test fails.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { pidAlive } from '../helpers/run.js';

const execFileP = promisify(execFile);

export interface VethPair {
  /** Namespace names (under /var/run/netns). */
  nsA: string;
  nsB: string;
  /** Interface names, inside nsA and nsB. */
  ifA: string;
  ifB: string;
  ipA: string;
  ipB: string;
}

interface Teardownable {
  teardown(fn: () => unknown): void;
}

export async function ip(args: string[]): Promise<string> {
  const { stdout } = await execFileP('ip', args, { timeout: 10_000 });
  return stdout;
}

/** Runs a command inside a namespace (ip netns exec; no shell). */
export async function inNetns(ns: string, cmd: string, args: string[], timeoutMs = 20_000): Promise<{ stdout: string; stderr: string }> {
  return execFileP('ip', ['netns', 'exec', ns, cmd, ...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
}

/** Removes namespaces left by an earlier run of this fixture that was killed. */
async function removeStale(prefix: string): Promise<void> {
  let names: string[] = [];
  try {
    names = readdirSync('/var/run/netns');
  } catch {
    return;
  }
  for (const n of names) {
    const m = new RegExp(`^${prefix}(\\d+)-[ab]$`).exec(n);
    if (m === null || pidAlive(Number(m[1]))) continue;
    await ip(['netns', 'del', n]).catch(() => undefined);
  }
}

/**
 * Two namespaces `<prefix><pid>-a|b` with veth0 (10.199.<net>.1) <-> veth1 (10.199.<net>.2).
 * Both are deleted on teardown (which deletes the veth pair with them).
 */
export async function makeVethPair(t: Teardownable, prefix: string, net: number): Promise<VethPair> {
  await removeStale(prefix);
  const pair: VethPair = {
    nsA: `${prefix}${process.pid}-a`,
    nsB: `${prefix}${process.pid}-b`,
    ifA: 'veth0',
    ifB: 'veth1',
    ipA: `10.199.${net}.1`,
    ipB: `10.199.${net}.2`,
  };
  t.teardown(async () => {
    for (const ns of [pair.nsA, pair.nsB]) {
      if (existsSync(`/var/run/netns/${ns}`)) await ip(['netns', 'del', ns]).catch(() => undefined);
    }
  });
  await ip(['netns', 'add', pair.nsA]);
  await ip(['netns', 'add', pair.nsB]);
  await ip(['-n', pair.nsA, 'link', 'add', pair.ifA, 'type', 'veth', 'peer', 'name', pair.ifB, 'netns', pair.nsB]);
  await ip(['-n', pair.nsA, 'addr', 'add', `${pair.ipA}/24`, 'dev', pair.ifA]);
  await ip(['-n', pair.nsB, 'addr', 'add', `${pair.ipB}/24`, 'dev', pair.ifB]);
  for (const [ns, dev] of [[pair.nsA, pair.ifA], [pair.nsB, pair.ifB], [pair.nsA, 'lo'], [pair.nsB, 'lo']] as const) {
    await ip(['-n', ns, 'link', 'set', dev, 'up']);
  }
  return pair;
}

/**
 * Sends `count` UDP datagrams from inside `ns` to dst:port, sizes 1..1400 bytes varying by
 * index, payload byte = index & 0xff; at most `deadlineMs`. Resolves when the sender exits.
 */
export async function sendUdp(ns: string, dst: string, port: number, count: number, deadlineMs: number): Promise<number> {
  const script = `
const dgram = require('node:dgram');
const [dst, port, count, deadline] = process.argv.slice(1).map((v, i) => (i === 0 ? v : Number(v)));
const s = dgram.createSocket('udp4');
const end = Date.now() + deadline;
let i = 0;
function next() {
  if (i >= count || Date.now() > end) { s.close(); process.stdout.write(String(i)); return; }
  const len = 1 + ((i * 37) % 1400);
  s.send(Buffer.alloc(len, i & 0xff), port, dst, (err) => { if (err) { s.close(); process.exitCode = 1; console.error(err.message); return; } i++; if (i % 50 === 0) setTimeout(next, 2); else next(); });
}
next();
`;
  const { stdout } = await inNetns(ns, process.execPath, ['-e', script, dst, String(port), String(count), String(deadlineMs)], deadlineMs + 10_000);
  return Number(stdout);
}

/** Floods UDP from inside `ns` until `count` datagrams or `durationMs`, whichever first. */
export function floodUdp(ns: string, dst: string, port: number, count: number, durationMs: number): ChildProcess {
  const script = `
const dgram = require('node:dgram');
const [dst, port, count, duration] = process.argv.slice(1).map((v, i) => (i === 0 ? v : Number(v)));
const s = dgram.createSocket('udp4');
const end = Date.now() + duration;
const payload = Buffer.alloc(200, 0x5a);
let sent = 0;
function burst() {
  if (sent >= count || Date.now() > end) { s.close(); return; }
  let pending = 0;
  for (let k = 0; k < 64 && sent < count; k++, sent++) { pending++; s.send(payload, port, dst, () => { if (--pending === 0) setImmediate(burst); }); }
}
burst();
`;
  return spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script, dst, String(port), String(count), String(durationMs)], { stdio: 'ignore' });
}

export interface Tcpdump {
  proc: ChildProcess;
  /** Sends SIGINT and resolves when tcpdump has flushed and exited. */
  stop(): Promise<void>;
}

/**
 * tcpdump -w FILE with nanosecond timestamps inside `ns`; resolves once it is listening.
 * Immediate mode: without it, frames still in an unretired TPACKET_V3 block when tcpdump
 * gets SIGINT are never written.
 */
export async function startTcpdump(t: Teardownable, ns: string, iface: string, filter: string, file: string, snapLen = 262144): Promise<Tcpdump> {
  // Immediate mode: libpcap's TPACKET_V2 ring has one slot per snap length, so a small
  // snapLen (when every frame is small) gives many more slots for bursts at top speed.
  const proc = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-i', iface, '-n', '-U', '--immediate-mode', '-B', '32768', '-s', String(snapLen), '--time-stamp-precision=nano', '-w', file, filter], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let exited = false;
  const exitP = new Promise<void>((resolve) => proc.once('exit', () => {
    exited = true;
    resolve();
  }));
  t.teardown(async () => {
    if (!exited && proc.pid !== undefined) {
      proc.kill('SIGKILL');
      await exitP;
    }
  });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error('tcpdump did not start: ' + err)), 10_000);
    proc.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tcpdump exited (${String(code)}): ${err}`));
    });
  });
  return {
    proc,
    async stop() {
      if (!exited) proc.kill('SIGINT');
      await exitP;
    },
  };
}

export interface PcapRecord {
  tsSec: number;
  tsNsec: number;
  capLen: number;
  wireLen: number;
  data: Buffer;
}

/** A tiny reader for classic pcap (both byte orders, micro- and nanosecond magic). */
export function parsePcap(buf: Buffer): { linkType: number; records: PcapRecord[] } {
  if (buf.length < 24) throw new Error('pcap too short');
  const magicLe = buf.readUInt32LE(0);
  let le: boolean;
  let nano: boolean;
  if (magicLe === 0xa1b2c3d4 || magicLe === 0xa1b23c4d) {
    le = true;
    nano = magicLe === 0xa1b23c4d;
  } else {
    const magicBe = buf.readUInt32BE(0);
    if (magicBe !== 0xa1b2c3d4 && magicBe !== 0xa1b23c4d) throw new Error('not a pcap file');
    le = false;
    nano = magicBe === 0xa1b23c4d;
  }
  const u32 = (off: number): number => (le ? buf.readUInt32LE(off) : buf.readUInt32BE(off));
  const linkType = u32(20) & 0x0fffffff;
  const records: PcapRecord[] = [];
  let off = 24;
  while (off + 16 <= buf.length) {
    const capLen = u32(off + 8);
    if (off + 16 + capLen > buf.length) break;
    const frac = u32(off + 4);
    records.push({
      tsSec: u32(off),
      tsNsec: nano ? frac : frac * 1000,
      capLen,
      wireLen: u32(off + 12),
      data: buf.subarray(off + 16, off + 16 + capLen),
    });
    off += 16 + capLen;
  }
  return { linkType, records };
}

/** Waits (bounded) until the pcap file written by tcpdump -U holds `count` records. */
export async function waitForPcapRecords(file: string, count: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let n = 0;
  for (;;) {
    try {
      n = parsePcap(readFileSync(file)).records.length;
    } catch {
      n = 0;
    }
    if (n >= count || Date.now() > deadline) return n;
    await new Promise((r) => setTimeout(r, 50));
  }
}
