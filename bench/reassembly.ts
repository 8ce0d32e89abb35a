/**
 * bench/reassembly: `podspan streams FILE -o DIR` against `tcpflow -r FILE -o DIR` on the
 * same capture, both in this run. Prints MB/s of capture processed by each and the speed
 * ratio podspan/tcpflow (target >= 1.0).
 *
 * The capture (default) is recorded in a lab node of its own (prefix psl-sp-, subnet
 * 10.77.40.0/24, removed at the end): tcpdump -w on the server pod's node-side veth while
 * the client pod runs many concurrent keep-alive HTTP connections against the lab's HTTP
 * service (small JSON, POST echoes, responses of 1-32 KiB, a few of megabytes) and iperf3
 * bulk transfers, in rounds, until the file holds at least --mb MB. It is cached in /tmp
 * (reused by later runs; --fresh records it again). `--source synth` uses a synthetic
 * capture (packet/synth) instead.
 *
 * usage: node dist/bench/reassembly.js [--mb 200] [--runs 3] [--source lab|synth] [--fresh] [--no-cache]
 *                                      [--baseline OTHER/dist/cli/main.js] [--out-dir DIR]
 *
 * Both tools write their stream files under the same directory: /dev/shm (tmpfs) when it
 * exists, else the temporary directory; --out-dir picks another. On a disk the times are
 * mostly the file system's: on this project's VMs (ext4 mounted with `discard`) writing
 * into blocks just freed took 3.5 s of kernel time for the 230 MB that take 0.13 s on
 * tmpfs, whichever tool wrote them, so a disk run measures the disk.
 * Needs root for the lab. Not part of the test suite.
 *
 * The module also exports recordLabCapture() (used by test/cli/streams-tcpflow.test.ts), and
 * runs as the lab's traffic client when started with `--role traffic` (inside the client pod).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { prng } from '../packet/synth/prng.js';
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { bestOf, timeAlternating } from './timing.js';
import { PcapWriter } from '../packet/capfile/pcap-writer.js';
import { synthTraffic } from '../packet/synth/traffic.js';
import { execInNetns, labDown, labUp, HTTP_SERVICE_PORT, type LabOptions } from '../lab/index.js';

const SELF = fileURLToPath(import.meta.url);
const CLI = join(dirname(SELF), '..', 'cli', 'main.js');
const IPERF_PORT = 5201;

// ---- traffic client (runs inside the client pod) --------------------------------------


interface TrafficStats {
  connections: number;
  requests: number;
  responseBytes: number;
  errors: number;
}

/**
 * `--conns N` connections, `--concurrency C` open at a time, each a keep-alive connection
 * of 1-12 requests: 45 % small GETs (/, /health, /api/items[/ID]), 25 % POST /api/echo of
 * 100-4000 bytes, 29.9 % GET /bytes/1024..32768, 0.1 % GET /bytes/1..4 MB. Prints one JSON line.
 */
async function trafficRole(url: string, conns: number, concurrency: number, seed: number): Promise<void> {
  const u = new URL(url);
  const rand = prng(seed);
  const stats: TrafficStats = { connections: 0, requests: 0, responseBytes: 0, errors: 0 };
  const one = (agent: Agent): Promise<void> => {
    const r = rand();
    let method = 'GET';
    let path: string;
    let body: Buffer | null = null;
    if (r < 0.45) {
      const k = Math.floor(rand() * 4);
      path = k === 0 ? '/' : k === 1 ? '/health' : k === 2 ? '/api/items' : `/api/items/${1 + Math.floor(rand() * 5)}`;
    } else if (r < 0.7) {
      method = 'POST';
      path = '/api/echo';
      const n = 100 + Math.floor(rand() * 3900);
      body = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) body[i] = 32 + Math.floor(rand() * 95);
    } else if (r < 0.999) {
      path = `/bytes/${1024 + Math.floor(rand() * 31744)}`;
    } else {
      path = `/bytes/${1_000_000 + Math.floor(rand() * 3_000_000)}`;
    }
    return new Promise((resolve) => {
      const headers: Record<string, string | number> = {};
      if (body !== null) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = body.length;
      }
      const req = request({ host: u.hostname, port: Number(u.port), path, method, agent, headers, timeout: 15_000 }, (res) => {
        res.on('data', (d: Buffer) => {
          stats.responseBytes += d.length;
        });
        res.on('end', () => {
          stats.requests++;
          resolve();
        });
        res.on('error', () => {
          stats.errors++;
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        stats.errors++;
        resolve();
      });
      req.end(body ?? undefined);
    });
  };
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < conns) {
      started++;
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const k = 1 + Math.floor(rand() * 12);
      for (let i = 0; i < k; i++) await one(agent);
      agent.destroy();
      stats.connections++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, conns) }, worker));
  process.stdout.write(JSON.stringify(stats) + '\n');
}

// ---- lab capture ----------------------------------------------------------------------

export interface LabCaptureOptions {
  /** Lab prefix and subnet (a lab of its own: created, then removed). */
  lab: Pick<LabOptions, 'prefix' | 'subnet'>;
  /** Written when complete (recorded under FILE.part first). */
  file: string;
  /** Record rounds until the capture holds at least this many bytes. */
  targetBytes: number;
  /** HTTP connections per round (default 1500) and how many at once (default 64). */
  connsPerRound?: number;
  concurrency?: number;
  /** iperf3 bytes per round (default 24 MB, 2 parallel streams; 0: none). */
  bulkBytesPerRound?: number;
  /** Progress lines; default none. */
  log?: (line: string) => void;
}

export interface LabCaptureResult {
  bytes: number;
  rounds: number;
  http: TrafficStats;
  /** tcpdump's closing lines (packets captured, received by filter, dropped by kernel). */
  tcpdump: string;
}

function waitExit(p: ChildProcess): Promise<number | null> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve(p.exitCode);
  return new Promise((resolve) => p.once('close', (code) => resolve(code)));
}

async function waitFor(what: string, cond: () => boolean, p: ChildProcess, out: () => string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (p.exitCode !== null || p.signalCode !== null) throw new Error(`${what} exited: ${out()}`);
    if (Date.now() > deadline) throw new Error(`${what} did not start: ${out()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Records a capture of real pod traffic in a lab of its own (see the file comment), and
 * removes the lab. Bounded: every round's clients run under a time limit.
 */
export async function recordLabCapture(opts: LabCaptureOptions): Promise<LabCaptureResult> {
  const log = opts.log ?? ((): void => {});
  const lab: LabOptions = {
    ...opts.lab,
    pods: [{ name: 'server', services: [{ name: 'http', script: 'http-service.js', port: HTTP_SERVICE_PORT }] }, { name: 'client' }],
  };
  const part = `${opts.file}.part`;
  const procs: ChildProcess[] = [];
  const kill = async (p: ChildProcess, sig: NodeJS.Signals): Promise<void> => {
    if (p.exitCode === null && p.signalCode === null) p.kill(sig);
    await waitExit(p);
  };
  await labDown(lab); // leftovers of a killed run
  try {
    const info = await labUp(lab);
    const server = info.pods.find((p) => p.name === 'server');
    const client = info.pods.find((p) => p.name === 'client');
    if (server?.ip === undefined || server.hostVeth === undefined || client === undefined) throw new Error('lab pods not wired');
    rmSync(part, { force: true });
    const tcpdump = spawn('ip', ['netns', 'exec', info.node.netns, 'tcpdump', '-i', server.hostVeth, '-n', '-s', '262144', '-B', '65536', '--time-stamp-precision=nano', '-w', part, 'tcp'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    procs.push(tcpdump);
    let tdErr = '';
    tcpdump.stderr?.on('data', (d: Buffer) => {
      tdErr += d.toString();
    });
    await waitFor('tcpdump', () => tdErr.includes('listening on'), tcpdump, () => tdErr);
    const http: TrafficStats = { connections: 0, requests: 0, responseBytes: 0, errors: 0 };
    const conns = opts.connsPerRound ?? 1500;
    const concurrency = opts.concurrency ?? 64;
    const bulk = opts.bulkBytesPerRound ?? 24_000_000;
    const size = (): number => (existsSync(part) ? statSync(part).size : 0);
    let rounds = 0;
    while (size() < opts.targetBytes) {
      if (rounds >= 200) throw new Error(`lab capture: ${size()} bytes after ${rounds} rounds`);
      let iperfServer: ChildProcess | undefined;
      let iperfClient: Promise<unknown> = Promise.resolve();
      if (bulk > 0) {
        const srv = spawn('ip', ['netns', 'exec', server.netns, 'iperf3', '-s', '-1', '--forceflush', '-p', String(IPERF_PORT)], { stdio: ['ignore', 'pipe', 'pipe'] });
        iperfServer = srv;
        procs.push(srv);
        let srvOut = '';
        srv.stdout?.on('data', (d: Buffer) => {
          srvOut += d.toString();
        });
        srv.stderr?.on('data', (d: Buffer) => {
          srvOut += d.toString();
        });
        await waitFor('iperf3 -s', () => srvOut.includes('listening'), srv, () => srvOut);
        iperfClient = execInNetns(client.netns, 'iperf3', ['-c', server.ip, '-p', String(IPERF_PORT), '-n', String(bulk), '-P', '2'], { timeoutMs: 120_000 });
      }
      const traffic = execInNetns(
        client.netns,
        process.execPath,
        [SELF, '--role', 'traffic', '--url', `http://${server.ip}:${HTTP_SERVICE_PORT}/`, '--conns', String(conns), '--concurrency', String(concurrency), '--seed', String(7 + rounds)],
        { timeoutMs: 300_000 },
      );
      const [res] = await Promise.all([traffic, iperfClient]);
      if (iperfServer !== undefined) await kill(iperfServer, 'SIGTERM');
      const st = JSON.parse(res.stdout.trim().split('\n').pop() ?? '{}') as TrafficStats;
      http.connections += st.connections;
      http.requests += st.requests;
      http.responseBytes += st.responseBytes;
      http.errors += st.errors;
      rounds++;
      log(`  round ${rounds}: ${(size() / 1e6).toFixed(1)} MB captured (${http.connections} HTTP connections, ${http.requests} requests, ${http.errors} errors)`);
    }
    await new Promise((r) => setTimeout(r, 1500)); // TPACKET_V3 blocks retire after 1 s
    await kill(tcpdump, 'SIGINT');
    renameSync(part, opts.file);
    return { bytes: statSync(opts.file).size, rounds, http, tcpdump: tdErr.split('\n').filter((l) => /packets/.test(l)).join('; ') };
  } finally {
    for (const p of procs) await kill(p, 'SIGKILL');
    rmSync(part, { force: true });
    await labDown(lab);
  }
}

// ---- synthetic capture ----------------------------------------------------------------

async function synthCapture(file: string, targetBytes: number): Promise<void> {
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

// ---- main -----------------------------------------------------------------------------

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mb: { type: 'string', default: '200' },
      runs: { type: 'string', default: '3' },
      source: { type: 'string', default: 'lab' },
      fresh: { type: 'boolean', default: false },
      'no-cache': { type: 'boolean', default: false },
      role: { type: 'string' },
      url: { type: 'string' },
      conns: { type: 'string', default: '1500' },
      concurrency: { type: 'string', default: '64' },
      seed: { type: 'string', default: '1' },
      baseline: { type: 'string' },
      'out-dir': { type: 'string' },
    },
  });
  if (values.role === 'traffic') {
    await trafficRole(values.url ?? '', Number(values.conns), Number(values.concurrency), Number(values.seed));
    return;
  }
  const targetBytes = Number(values.mb) * 1e6;
  const runs = Number(values.runs);
  const source = values.source;
  if (source !== 'lab' && source !== 'synth') throw new Error('--source must be lab or synth');
  const file = join(tmpdir(), `podspan-bench-streams-${source}-${values.mb}mb.pcap`);
  const outBase = values['out-dir'] ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
  const outRoot = join(outBase, 'podspan-bench-streams-out');
  if (values.fresh) rmSync(file, { force: true });
  if (existsSync(file) && statSync(file).size >= targetBytes) {
    console.log(`bench/reassembly: cached capture ${file}`);
  } else if (source === 'synth') {
    await synthCapture(file, targetBytes);
  } else {
    console.log(`bench/reassembly: recording ${values.mb} MB of lab traffic (psl-sp-)`);
    const r = await recordLabCapture({
      lab: { prefix: 'psl-sp-', subnet: '10.77.40.0/24' },
      file,
      targetBytes,
      log: (l) => console.log(l),
    });
    console.log(`  ${r.http.connections} HTTP connections, ${r.http.requests} requests, ${(r.http.responseBytes / 1e6).toFixed(1)} MB of responses, iperf3 bulk; tcpdump: ${r.tcpdump}`);
  }
  // A fresh output directory per run, all removed at the end: deleting thousands of files
  // between runs would leave the file system busy while the next one is timed.
  const mb = statSync(file).size / 1e6;
  rmSync(outRoot, { recursive: true, force: true });
  mkdirSync(outRoot, { recursive: true });
  const cmds: Array<{ name: string; cmd: string; args: (i: number) => readonly string[] }> = [
    { name: 'tcpflow -r', cmd: 'tcpflow', args: (i) => ['-r', file, '-o', join(outRoot, `0-${i}`)] },
    { name: 'podspan streams', cmd: process.execPath, args: (i) => [CLI, 'streams', file, '-o', join(outRoot, `1-${i}`)] },
  ];
  // Another build (e.g. the last commit's, for a before/after in the same run).
  if (values.baseline !== undefined) cmds.push({ name: 'baseline streams', cmd: process.execPath, args: (i) => [values.baseline!, 'streams', file, '-o', join(outRoot, `2-${i}`)] });
  let best: number[];
  let median: number[];
  try {
    ({ best, median } = timeAlternating(runs, cmds, (k, i) => mkdirSync(join(outRoot, `${k}-${i}`))));
  } finally {
    rmSync(outRoot, { recursive: true, force: true });
  }
  // What podspan spends before the first packet (Node and module start-up, an empty
  // capture): a fixed cost inside its time above, which tcpflow, a C++ binary, hardly has.
  const empty = join(outBase, 'podspan-bench-streams-empty.pcap');
  writeFileSync(empty, new PcapWriter({ linkType: 1, snapLen: 262144, nanosecond: true }).header());
  let startup: number;
  try {
    startup = bestOf(runs, process.execPath, [CLI, 'streams', empty, '-o', join(outRoot, 'empty')]);
  } finally {
    rmSync(empty, { force: true });
    rmSync(outRoot, { recursive: true, force: true });
  }
  const tcpflow = best[0]!;
  console.log(`bench/reassembly: ${mb.toFixed(1)} MB ${source} capture, best and median of ${runs} (taking turns), output under ${outBase}`);
  cmds.forEach((c, k) => console.log(`  ${c.name.padEnd(18)} ${best[k]!.toFixed(3)} s  (${(mb / best[k]!).toFixed(0)} MB/s)   median ${median[k]!.toFixed(3)} s`));
  console.log(`  podspan start-up   ${startup.toFixed(3)} s  (an empty capture; part of the podspan time above)`);
  // Set in some sandboxes: every Node process then parses that CA bundle at start (measured
  // ~40 ms here), which a streams run never uses. The runs above inherit it, as a user's would.
  if (process.env['NODE_EXTRA_CA_CERTS'] !== undefined) console.log(`  (NODE_EXTRA_CA_CERTS is set: Node start-up includes parsing ${process.env['NODE_EXTRA_CA_CERTS']})`);
  console.log(`  speed ratio podspan/tcpflow = ${(tcpflow / best[1]!).toFixed(2)} (target >= 1.0; of the medians: ${(median[0]! / median[1]!).toFixed(2)})`);
  if (values.baseline !== undefined) console.log(`  speed ratio baseline/tcpflow = ${(tcpflow / best[2]!).toFixed(2)} (of the medians: ${(median[0]! / median[2]!).toFixed(2)})`);
  if (values['no-cache']) rmSync(file, { force: true });
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === SELF) {
  await main();
}
