/**
 * `podspan demo`: the whole path on the lab node, ending in a report.
 *
 *   podspan demo [--out DIR] [--requests N] [--clients N] [--seed N]
 *                [--prefix psl-demo-] [--subnet 10.77.99.0/24] [--json]
 *
 * 1. Brings up a lab node of its own (lab/, prefix and subnet as given) with three pods:
 *    the shop service v1, the shop service v2 (one deliberate difference on one endpoint,
 *    DEMO_INJECTED_DIFFERENCE), and a client.
 * 2. Starts `podspan collector --vxlan 127.0.0.1:0 --out DIR/capture` (while the lab comes
 *    up) and `podspan agent --pod-ip V1 --netns NODE --filter 'tcp port 8080'
 *    --to vxlan://127.0.0.1:PORT?vni=N`, with offloads off on v1's and the client's veths
 *    so every captured frame fits one VXLAN datagram whole.
 * 3. Drives the client load at v1 from the client pod (lab/http-load.ts: GET and POST with
 *    JSON bodies, keep-alive connections, several concurrent clients).
 * 4. Stops the agent, then the collector (both by SIGINT, so both write their statistics).
 * 5. Replays the stored pcapng to v2 from the node namespace (and, meanwhile, counts its
 *    flows with `podspan flows --json`):
 *    `podspan replay FILE --to V2:8080 --mode http --diff DIR/diff.jsonl --report DIR/report.html --json`.
 * 6. Prints the summary (frames captured and dropped at each stage, flows, requests
 *    replayed, mismatches per endpoint and what differed), writes it to DIR/summary.json,
 *    and removes the lab. The lab is removed and every process it started is stopped on
 *    success, on failure and on Ctrl-C (SIGINT, SIGTERM, SIGHUP).
 *
 * Progress goes to stderr. The summary goes to stdout: text, or one JSON object with --json.
 * Exit status 0 when the replay found exactly the injected difference and nothing else over
 * every request the client sent, 1 when anything else happened, 2 for bad flags or missing
 * privileges, 128 + signal number when interrupted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ParseArgsConfig } from 'node:util';

import type { HttpLoadResult, LabInfo, LabOptions, LabPod } from '../lab/index.js';
import { endpointOf } from '../collector/diff/sink.js';
import { ERR, PodspanError } from '../packet/errors.js';
import { EXIT, usageError } from './errors.js';
import { makeDirs } from './dirs.js';
import { forEachRecord } from './input.js';
import { parseCollectorSummary, type StageCounts } from './collector.js';

export { parseCollectorSummary, type StageCounts } from './collector.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** The demo's flags, for parseArgs (cli/main.ts). */
export const DEMO_OPTIONS: Options = {
  out: { type: 'string', short: 'o' },
  requests: { type: 'string' },
  clients: { type: 'string' },
  seed: { type: 'string' },
  prefix: { type: 'string' },
  subnet: { type: 'string' },
  json: { type: 'boolean' },
};

export type DemoFlagValues = { [flag: string]: string | boolean | Array<string | boolean> | undefined };

export const DEMO_DEFAULT_PREFIX = 'psl-demo-';
export const DEMO_DEFAULT_SUBNET = '10.77.99.0/24';
export const DEMO_DEFAULT_REQUESTS = 1200;
export const DEMO_DEFAULT_CLIENTS = 4;
const DEMO_VNI = 4242;
const DEMO_FILTER = 'tcp port 8080';
/** Requests per keep-alive connection before a client opens a new one. */
const PER_CONNECTION = 100;
/** Upper bound on the agent's and collector's life, in case the demo itself is SIGKILLed: this plus 10 ms per request. */
const CHILD_SAFETY_SECONDS = 300;
/** The load driver is killed after this plus 20 ms per request. */
const LOAD_TIMEOUT_MS = 60_000;
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 20_000;
/** The replay is killed after this plus 50 ms per request. */
const REPLAY_TIMEOUT_MS = 120_000;
/** Lets the collector take in the last datagrams the agent sent before it is stopped. */
const COLLECTOR_SETTLE_MS = 500;
const MAX_REQUESTS = 100_000;
const MAX_CLIENTS = 64;
const EXAMPLES_PER_ENDPOINT = 3;

const CLI_MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

interface DemoConfig {
  outDir: string;
  requests: number;
  clients: number;
  seed: number;
  prefix: string;
  subnet: string;
  json: boolean;
}

function str(v: DemoFlagValues[string]): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function wholeNumber(v: string | undefined, flag: string, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^[0-9]+$/.test(v) || Number(v) < min || Number(v) > max) throw usageError(`demo: ${flag} wants a whole number from ${min} to ${max}, got "${v}"`);
  return Number(v);
}

function timestamp(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

/** Flags → config; usage errors (exit 2) for anything wrong. */
export function demoConfig(values: DemoFlagValues, now: Date = new Date()): DemoConfig {
  const out = str(values['out']);
  if (out === '') throw usageError('demo: --out wants a directory');
  const outDir = resolve(out ?? `podspan-demo-${timestamp(now)}`);
  if (existsSync(outDir)) {
    if (!statSync(outDir).isDirectory()) throw usageError(`demo: --out ${outDir} exists and is not a directory`);
    if (readdirSync(outDir).length > 0) throw usageError(`demo: --out ${outDir} is not empty: give a new or empty directory (the demo's results go there)`);
  }
  const prefix = str(values['prefix']) ?? DEMO_DEFAULT_PREFIX;
  if (!/^psl-([a-z0-9]+-)?$/.test(prefix) || `${prefix}br0`.length > 15) {
    throw usageError(`demo: --prefix "${prefix}" must be psl- or psl-<letters/digits>- with at most 11 characters (interface names are at most 15)`);
  }
  const subnet = str(values['subnet']) ?? DEMO_DEFAULT_SUBNET;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(subnet);
  if (m === null || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) < 8 || Number(m[5]) > 29) {
    throw usageError(`demo: --subnet "${subnet}" must be an IPv4 CIDR between /8 and /29 (e.g. ${DEMO_DEFAULT_SUBNET})`);
  }
  return {
    outDir,
    requests: wholeNumber(str(values['requests']), '--requests', 1, MAX_REQUESTS, DEMO_DEFAULT_REQUESTS),
    clients: wholeNumber(str(values['clients']), '--clients', 1, MAX_CLIENTS, DEMO_DEFAULT_CLIENTS),
    seed: wholeNumber(str(values['seed']), '--seed', 1, 0xffffffff, 1),
    prefix,
    subnet,
    json: values['json'] === true,
  };
}

// ---------------------------------------------------------------------------------------
// Child processes: own process groups (a Ctrl-C at the terminal reaches only the demo,
// which stops them in order), stopped by signal, SIGKILLed at the end if still there.

interface Child {
  name: string;
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
}

class Aborted extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
  }
}

function startChild(name: string, cmd: string, args: readonly string[]): Child {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let err = '';
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    proc.once('error', (e) => {
      err += `cannot start ${cmd}: ${e.message}\n`;
      done = true;
      resolveExit({ code: -1, signal: null });
    });
    proc.once('close', (code, signal) => {
      done = true;
      resolveExit({ code, signal });
    });
  });
  return { name, proc, stdout: () => out, stderr: () => err, exited, running: () => !done };
}

function signalGroup(c: Child, sig: NodeJS.Signals): void {
  if (!c.running() || c.proc.pid === undefined) return;
  try {
    process.kill(-c.proc.pid, sig);
  } catch {
    try {
      c.proc.kill(sig);
    } catch {
      // already gone
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((res, rej) => {
    if (signal?.aborted === true) {
      rej(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(t);
      rej(signal!.reason as Error);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      res();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** `p`, or the abort reason as soon as `signal` fires. */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((res, rej) => {
    const onAbort = (): void => rej(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        res(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        rej(e as Error);
      },
    );
  });
}

/** Resolves with the match once `text()` matches `re`; fails when the child exits first or time runs out. */
async function waitFor(c: Child, text: () => string, re: RegExp, timeoutMs: number, signal: AbortSignal): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = re.exec(text());
    if (m !== null) return m;
    if (!c.running()) throw new PodspanError(ERR.IO, `demo: ${c.name} exited before it was ready:\n${c.stderr().trim()}`);
    if (Date.now() > deadline) throw new PodspanError(ERR.IO, `demo: ${c.name} not ready within ${timeoutMs / 1000} s:\n${c.stderr().trim()}`);
    await sleep(25, signal);
  }
}

/** SIGINT (the graceful stop of agent and collector), then SIGKILL after `timeoutMs`. */
async function stopChild(c: Child, timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  signalGroup(c, 'SIGINT');
  const timer = setTimeout(() => signalGroup(c, 'SIGKILL'), timeoutMs);
  try {
    return await c.exited;
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------
// What the agent and the collector print when they stop (cli/agent.ts, cli/collector.ts).

export interface AgentCounts {
  captured: number;
  receivedByFilter: number;
  droppedByKernel: number;
  droppedByPodspan: number;
  exported: number;
  notExported: number;
  exportTruncated: number;
}

export function parseAgentSummary(stderr: string): AgentCounts | undefined {
  const num = (re: RegExp): number | undefined => {
    const m = re.exec(stderr);
    return m === null ? undefined : Number(m[1]);
  };
  const captured = num(/^(\d+) packets? captured$/m);
  const receivedByFilter = num(/^(\d+) packets? received by filter$/m);
  const droppedByKernel = num(/^(\d+) packets? dropped by kernel$/m);
  const droppedByPodspan = num(/^(\d+) packets? dropped by podspan/m);
  const x = /^(\d+) packets? exported to \S+, (\d+) not exported \([^)]*\), export_truncated (\d+)$/m.exec(stderr);
  if (captured === undefined || receivedByFilter === undefined || droppedByKernel === undefined || droppedByPodspan === undefined || x === null) return undefined;
  return { captured, receivedByFilter, droppedByKernel, droppedByPodspan, exported: Number(x[1]), notExported: Number(x[2]), exportTruncated: Number(x[3]) };
}

// ---------------------------------------------------------------------------------------
// The replay's diff (one JSON object per replayed request: method, path, match, differences).

export interface EndpointMismatch {
  endpoint: string;
  /** Replayed requests to this endpoint. */
  replayed: number;
  mismatched: number;
  /** What differed: one entry per kind of difference, with how often and an example. */
  differences: Array<{ what: string; count: number; example: string }>;
}

export interface DiffSummary {
  replayed: number;
  matched: number;
  mismatched: number;
  /** `match: null`: no production response was captured to compare with. */
  notCompared: number;
  /** Per endpoint ("METHOD /route", id segments as {id}, no query), every endpoint replayed. */
  endpoints: Record<string, { replayed: number; mismatched: number }>;
  mismatches: EndpointMismatch[];
  /** Lines that are not JSON objects with a `match` of true, false or null. */
  unreadable: number;
}

/** "GET", "/api/products/7?x=1" → "GET /api/products/{id}", as the replay's HTML report groups them. */
export function routeOf(method: string, path: string): string {
  return endpointOf(method, path);
}

function short(v: unknown, max = 80): string {
  const s = typeof v === 'string' ? v : v === undefined ? '(none)' : JSON.stringify(v) ?? String(v);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** A difference as (what, example): what is stable across requests, the example shows the values. */
export function describeDifference(d: unknown): { what: string; example: string } {
  if (typeof d === 'string') return { what: d, example: d };
  if (d === null || typeof d !== 'object') return { what: short(d), example: short(d) };
  const o = d as Record<string, unknown>;
  const pick = (...keys: string[]): unknown => {
    for (const k of keys) if (o[k] !== undefined) return o[k];
    return undefined;
  };
  const kind = pick('kind', 'type', 'part', 'section');
  const field = pick('where', 'path', 'field', 'header', 'name', 'pointer', 'key');
  const what = [kind, field].filter((x) => x !== undefined).map((x) => (typeof x === 'string' ? x : short(x, 40))).join(' ');
  const before = pick('production', 'expected', 'captured', 'prod', 'a', 'left', 'want');
  const after = pick('shadow', 'actual', 'got', 'b', 'right', 'replayed');
  const label = what === '' ? short(d) : what;
  const text = pick('detail', 'message');
  const example =
    before !== undefined || after !== undefined
      ? `${label}: ${short(before, 40)} -> ${short(after, 40)}`
      : typeof text === 'string'
        ? `${label}: ${text}`
        : short(d);
  return { what: label, example };
}

export function summarizeDiff(jsonl: string): DiffSummary {
  const endpoints: Record<string, { replayed: number; mismatched: number }> = {};
  const byEndpoint = new Map<string, EndpointMismatch>();
  let replayed = 0;
  let matched = 0;
  let notCompared = 0;
  let unreadable = 0;
  for (const line of jsonl.split('\n')) {
    if (line.trim() === '') continue;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      unreadable++;
      continue;
    }
    if (o === null || typeof o !== 'object' || (typeof o['match'] !== 'boolean' && o['match'] !== null)) {
      unreadable++;
      continue;
    }
    replayed++;
    const endpoint = routeOf(typeof o['method'] === 'string' ? o['method'] : '?', typeof o['path'] === 'string' ? o['path'] : '?');
    const e = (endpoints[endpoint] ??= { replayed: 0, mismatched: 0 });
    e.replayed++;
    if (o['match'] === null) {
      notCompared++;
      continue;
    }
    if (o['match']) {
      matched++;
      continue;
    }
    e.mismatched++;
    let m = byEndpoint.get(endpoint);
    if (m === undefined) {
      m = { endpoint, replayed: 0, mismatched: 0, differences: [] };
      byEndpoint.set(endpoint, m);
    }
    m.mismatched++;
    const diffs = Array.isArray(o['differences']) ? (o['differences'] as unknown[]) : [];
    for (const d of diffs.length > 0 ? diffs : ['(no differences listed)']) {
      const { what, example } = describeDifference(d);
      const known = m.differences.find((x) => x.what === what);
      if (known !== undefined) known.count++;
      else m.differences.push({ what, count: 1, example });
    }
  }
  const mismatches = [...byEndpoint.values()].sort((a, b) => b.mismatched - a.mismatched);
  for (const m of mismatches) m.replayed = endpoints[m.endpoint]?.replayed ?? 0;
  return { replayed, matched, mismatched: replayed - matched - notCompared, notCompared, endpoints, mismatches, unreadable };
}

// ---------------------------------------------------------------------------------------
// The summary

export interface DemoSummary {
  ok: boolean;
  /** Why ok is false, one line each. */
  problems: string[];
  outDir: string;
  lab: { prefix: string; subnet: string; nodeNetns: string; v1: string; v2: string; client: string; v1Veth: string };
  injected: { endpoint: string; what: string; found: boolean; onlyDifference: boolean };
  client: HttpLoadResult;
  agent: (AgentCounts & { exitCode: number | null }) | undefined;
  collector: { stages: Record<string, StageCounts>; exitCode: number | null } | undefined;
  store: { files: string[]; frames: number; bytes: number } | undefined;
  flows: { tcp: number; states: Record<string, number> } | undefined;
  replay: {
    exitCode: number | null;
    target: string;
    /** The replay's own --json summary, as it printed it (undefined when it printed none). */
    summary: ReplayJsonSummary | undefined;
    diff: DiffSummary | undefined;
    error?: string;
  } | undefined;
  files: { pcapng: string | undefined; report: string; diff: string; summary: string };
  elapsedMs: number;
}

const T0 = Date.now();

function progress(text: string): void {
  process.stderr.write(`podspan demo: [${((Date.now() - T0) / 1000).toFixed(1).padStart(5)} s] ${text}\n`);
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

async function countFrames(files: readonly string[]): Promise<{ frames: number; bytes: number }> {
  let frames = 0;
  let bytes = 0;
  for (const f of files) {
    await forEachRecord(f, (rec) => {
      frames++;
      bytes += rec.wireLen;
    });
  }
  return { frames, bytes };
}

/** Offloads off on both ends of a pod's veth, so every captured frame fits one VXLAN datagram. */
async function offloadsOff(run: (cmd: string, args: readonly string[], opts?: { allowFailure?: boolean }) => Promise<{ code: number; stderr: string }>, ns: string, dev: string): Promise<void> {
  const r = await run('ip', ['netns', 'exec', ns, 'ethtool', '-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off'], { allowFailure: true });
  if (r.code !== 0) progress(`warning: ethtool -K ${dev} in ${ns} failed (${r.stderr.trim()}): GSO/GRO super-frames may be truncated on export`);
}

function podOf(info: LabInfo, name: string): LabPod {
  const p = info.pods.find((x) => x.name === name);
  if (p === undefined || p.ip === undefined || p.hostVeth === undefined) throw new PodspanError(ERR.IO, `demo: the lab came up without pod ${name} wired (${JSON.stringify(info.pods.map((x) => [x.name, x.ip, x.hostVeth]))})`);
  return p;
}

/** The fields of `podspan replay --mode http --json` the demo reads (collector/replay/http.ts HttpReplaySummary). */
export interface ReplayJsonSummary {
  connections?: number;
  replayedConnections?: number;
  skipped?: Record<string, number>;
  requests?: number;
  replayed?: number;
  compared?: number;
  matches?: number;
  mismatches?: number;
  noProductionResponse?: number;
  shadowErrors?: Record<string, number>;
  framing?: Record<string, number>;
  [k: string]: unknown;
}

function total(r: Record<string, number> | undefined): number {
  return Object.values(r ?? {}).reduce((a, n) => a + n, 0);
}

function nonZero(r: Record<string, number> | undefined): string {
  return Object.entries(r ?? {})
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}

/** Runs the demo; resolves with the exit status. */
export async function runDemo(values: DemoFlagValues): Promise<number> {
  const cfg = demoConfig(values);
  const lab = await import('../lab/index.js');
  const started = Date.now();
  const labOpts: LabOptions = {
    prefix: cfg.prefix,
    subnet: cfg.subnet,
    pods: [
      { name: 'v1', services: [lab.demoServiceSpec('v1')] },
      { name: 'v2', services: [lab.demoServiceSpec('v2')] },
      { name: 'client' },
    ],
  };
  const nodeNs = `${cfg.prefix}node`;
  const captureDir = join(cfg.outDir, 'capture');
  const files = { pcapng: undefined as string | undefined, report: join(cfg.outDir, 'report.html'), diff: join(cfg.outDir, 'diff.jsonl'), summary: join(cfg.outDir, 'summary.json') };
  const injectedEndpoint = `${lab.DEMO_INJECTED_DIFFERENCE.method} ${lab.DEMO_INJECTED_DIFFERENCE.path}`;

  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw usageError('demo: the lab creates network namespaces, veths and a bridge, and the agent captures with libpcap: run it as root (sudo npm run demo, or sudo node dist/cli/main.js demo)');
  }

  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => {
    if (ac.signal.aborted) {
      progress(`${sig} again: still cleaning up (the lab goes down in a few seconds)`);
      return;
    }
    progress(`${sig}: stopping and cleaning up`);
    ac.abort(new Aborted(sig));
  };
  const sigs: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of sigs) process.on(s, onSignal);
  const children: Child[] = [];
  let labTouched = false;

  const cleanup = async (): Promise<string[]> => {
    const problems: string[] = [];
    for (const c of children) signalGroup(c, 'SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    if (labTouched) {
      try {
        await lab.labDown(labOpts);
      } catch (e) {
        problems.push(`lab down: ${(e as Error).message}`);
      }
    }
    return problems;
  };

  try {
    makeDirs(cfg.outDir, 'demo: --out');
    progress(`results go to ${cfg.outDir}`);

    // 1. The collector (it needs nothing of the lab: started first, it comes up while the lab does).
    mkdirSync(captureDir, { recursive: true });
    const safetySeconds = String(CHILD_SAFETY_SECONDS + Math.ceil(cfg.requests / 100));
    const collector = startChild('podspan collector', process.execPath, [CLI_MAIN, 'collector', '--vxlan', '127.0.0.1:0', '--out', captureDir, '--duration', safetySeconds]);
    children.push(collector);

    // 2. The lab.
    progress(`bringing up the lab node ${nodeNs} (subnet ${cfg.subnet}): pods v1, v2 (the shop service) and client`);
    labTouched = true;
    await abortable(lab.labDown(labOpts), ac.signal); // leftovers of an interrupted run
    const info = await abortable(lab.labUp(labOpts), ac.signal);
    const v1 = podOf(info, 'v1');
    const v2 = podOf(info, 'v2');
    const client = podOf(info, 'client');
    for (const [ns, dev] of [[v1.netns, 'eth0'], [nodeNs, v1.hostVeth!], [client.netns, 'eth0'], [nodeNs, client.hostVeth!]] as const) {
      await offloadsOff(lab.run, ns, dev);
    }
    progress(`v1 ${v1.ip!}:${lab.DEMO_SERVICE_PORT} (veth ${v1.hostVeth!}), v2 ${v2.ip!}:${lab.DEMO_SERVICE_PORT}, client ${client.ip!}`);

    // 3. The agent on v1's veth, exporting to the collector.
    const listening = await waitFor(collector, collector.stderr, /listening on vxlan 127\.0\.0\.1:(\d+)/, START_TIMEOUT_MS, ac.signal);
    const port = Number(listening[1]);
    const toUrl = `vxlan://127.0.0.1:${port}?vni=${DEMO_VNI}`;
    progress(`collector: VXLAN on 127.0.0.1:${port}, pcapng into ${captureDir}`);
    const agent = startChild('podspan agent', process.execPath, [
      CLI_MAIN, 'agent', '--pod-ip', v1.ip!, '--netns', nodeNs, '--filter', DEMO_FILTER, '--to', toUrl, '--duration', safetySeconds,
    ]);
    children.push(agent);
    await waitFor(agent, agent.stderr, /listening on /, START_TIMEOUT_MS, ac.signal);
    progress(`agent: capturing pod ${v1.ip!} on ${v1.hostVeth!} (filter "${DEMO_FILTER}"), exporting to ${toUrl}`);

    // 4. Load at v1.
    progress(`client: ${cfg.requests} requests from ${cfg.clients} concurrent clients at v1 (keep-alive, ${PER_CONNECTION} per connection)`);
    const load = await abortable(
      lab.driveHttpLoad(client.netns, `http://${v1.ip!}:${lab.DEMO_SERVICE_PORT}`, { requests: cfg.requests, clients: cfg.clients, perConnection: PER_CONNECTION, seed: cfg.seed, runTimeoutMs: LOAD_TIMEOUT_MS + cfg.requests * 20, signal: ac.signal }),
      ac.signal,
    );
    progress(`client: ${load.responses} responses, ${load.errors} errors, ${load.connections} connections`);

    // 5. Stop the agent (it drains its ring and prints its counters), then the collector.
    const agentExit = await abortable(stopChild(agent, STOP_TIMEOUT_MS), ac.signal);
    const agentCounts = parseAgentSummary(agent.stderr());
    await sleep(COLLECTOR_SETTLE_MS, ac.signal);
    const collectorExit = await abortable(stopChild(collector, STOP_TIMEOUT_MS), ac.signal);
    const stages = parseCollectorSummary(collector.stderr());
    const stored = readdirSync(captureDir).filter((n) => n.endsWith('.pcapng')).sort().map((n) => join(captureDir, n));
    const storeCounts = await countFrames(stored);
    files.pcapng = stored.length === 1 ? stored[0] : undefined;
    progress(`stored ${storeCounts.frames} frames in ${stored.length === 1 ? stored[0]! : `${stored.length} files`}`);

    const problems: string[] = [];
    if (load.errors > 0) problems.push(`client: ${load.errors} requests got no response (first: ${load.firstError ?? '?'})`);
    if (agentExit.code !== 0) problems.push(`agent exited with status ${String(agentExit.code ?? agentExit.signal)}: ${agent.stderr().trim().split('\n').slice(-3).join(' / ')}`);
    if (agentCounts === undefined) problems.push('agent: no summary on stderr');
    else {
      const lost = agentCounts.droppedByKernel + agentCounts.droppedByPodspan + agentCounts.notExported;
      if (lost > 0) problems.push(`agent: ${lost} frames not exported (kernel ${agentCounts.droppedByKernel}, podspan ${agentCounts.droppedByPodspan}, export ${agentCounts.notExported})`);
      if (agentCounts.exportTruncated > 0) problems.push(`agent: ${agentCounts.exportTruncated} frames truncated on export (offloads on?)`);
      if (agentCounts.exported !== storeCounts.frames) problems.push(`the agent exported ${agentCounts.exported} frames, the collector stored ${storeCounts.frames}`);
    }
    if (collectorExit.code !== 0) problems.push(`collector exited with status ${String(collectorExit.code ?? collectorExit.signal)}: ${collector.stderr().trim().split('\n').slice(-3).join(' / ')}`);
    if (stored.length !== 1) problems.push(`the collector stored ${stored.length} pcapng files, expected 1`);

    // Flows, through the CLI as a user would ask; run while the replay runs.
    let flows: DemoSummary['flows'];
    const flowsDone = (async (): Promise<void> => {
      if (files.pcapng === undefined) return;
      const f = startChild('podspan flows', process.execPath, [CLI_MAIN, 'flows', files.pcapng, '--json']);
      children.push(f);
      const fx = await f.exited;
      if (fx.code !== 0) {
        problems.push(`podspan flows failed: ${f.stderr().trim()}`);
        return;
      }
      const states: Record<string, number> = {};
      let tcp = 0;
      for (const l of f.stdout().split('\n')) {
        if (l.trim() === '') continue;
        const o = JSON.parse(l) as { proto?: string; state?: string };
        if (o.proto !== 'tcp') continue;
        tcp++;
        states[o.state ?? '?'] = (states[o.state ?? '?'] ?? 0) + 1;
      }
      flows = { tcp, states };
    })();

    // 6. Replay to v2 with diff, from the node namespace (the pods' network).
    let replay: DemoSummary['replay'];
    const target = `${v2.ip!}:${lab.DEMO_SERVICE_PORT}`;
    if (files.pcapng !== undefined) {
      progress(`replaying ${files.pcapng} to v2 at ${target} (HTTP, with diff)`);
      const r = startChild('podspan replay', 'ip', [
        'netns', 'exec', nodeNs, process.execPath, CLI_MAIN, 'replay', files.pcapng, '--to', target, '--mode', 'http', '--diff', files.diff, '--report', files.report, '--json',
      ]);
      children.push(r);
      const timer = setTimeout(() => signalGroup(r, 'SIGKILL'), REPLAY_TIMEOUT_MS + cfg.requests * 50);
      const rx = await abortable(r.exited, ac.signal).finally(() => clearTimeout(timer));
      let replaySummary: ReplayJsonSummary | undefined;
      try {
        const parsed = JSON.parse(r.stdout().trim().split('\n').pop() ?? '') as unknown;
        replaySummary = parsed !== null && typeof parsed === 'object' ? (parsed as ReplayJsonSummary) : undefined;
      } catch {
        replaySummary = undefined;
      }
      const diff = existsSync(files.diff) ? summarizeDiff(readFileSync(files.diff, 'utf8')) : undefined;
      replay = { exitCode: rx.code, target, summary: replaySummary, diff };
      if (diff === undefined) {
        const why = r.stderr().trim() || `exit ${String(rx.code ?? rx.signal)}`;
        replay.error = why;
        problems.push(`replay wrote no diff: ${why}`);
      } else {
        if (rx.code !== 0) problems.push(`replay exited with status ${String(rx.code ?? rx.signal)}: ${r.stderr().trim().split('\n').slice(-3).join(' / ')}`);
        if (replaySummary === undefined) problems.push('replay printed no JSON summary');
        else {
          if (total(replaySummary.skipped) > 0) problems.push(`replay skipped connections: ${nonZero(replaySummary.skipped)}`);
          if (total(replaySummary.shadowErrors) > 0) problems.push(`v2 gave no usable answer: ${nonZero(replaySummary.shadowErrors)}`);
          if (total(replaySummary.framing) > 0) problems.push(`client streams not framed to the end: ${nonZero(replaySummary.framing)}`);
          if ((replaySummary.noProductionResponse ?? 0) > 0) problems.push(`${String(replaySummary.noProductionResponse)} requests without a captured v1 response`);
        }
        if (diff.unreadable > 0) problems.push(`diff: ${diff.unreadable} lines without a "match" of true, false or null`);
        if (diff.notCompared > 0) problems.push(`diff: ${diff.notCompared} requests not compared`);
        if (diff.replayed !== load.responses) problems.push(`replayed ${diff.replayed} requests, the client got ${load.responses} responses`);
        if (!existsSync(files.report)) problems.push(`replay wrote no report at ${files.report}`);
      }
    } else problems.push('nothing to replay');
    await abortable(flowsDone, ac.signal);

    const diff = replay?.diff;
    const found = diff !== undefined && diff.mismatches.some((m) => m.endpoint === injectedEndpoint);
    const others = diff === undefined ? [] : diff.mismatches.filter((m) => m.endpoint !== injectedEndpoint);
    if (diff !== undefined && !found) problems.push(`the injected difference (${injectedEndpoint}) was not found`);
    for (const o of others) problems.push(`unexpected mismatches on ${o.endpoint}: ${o.mismatched} of ${o.replayed}`);
    const injectedMismatch = diff?.mismatches.find((m) => m.endpoint === injectedEndpoint);
    if (injectedMismatch !== undefined && injectedMismatch.mismatched !== injectedMismatch.replayed) {
      problems.push(`${injectedEndpoint}: only ${injectedMismatch.mismatched} of ${injectedMismatch.replayed} requests differed (v2 differs on every one)`);
    }

    const summary: DemoSummary = {
      ok: problems.length === 0,
      problems,
      outDir: cfg.outDir,
      lab: { prefix: cfg.prefix, subnet: cfg.subnet, nodeNetns: nodeNs, v1: v1.ip!, v2: v2.ip!, client: client.ip!, v1Veth: v1.hostVeth! },
      injected: { endpoint: injectedEndpoint, what: lab.DEMO_INJECTED_DIFFERENCE.what, found, onlyDifference: found && others.length === 0 },
      client: load,
      agent: agentCounts === undefined ? undefined : { ...agentCounts, exitCode: agentExit.code },
      collector: { stages, exitCode: collectorExit.code },
      store: { files: stored, ...storeCounts },
      flows,
      replay,
      files,
      elapsedMs: 0,
    };

    // 7. Clean up, then report.
    progress(`taking the lab down`);
    problems.push(...(await cleanup()));
    labTouched = false;
    summary.ok = problems.length === 0;
    summary.elapsedMs = Date.now() - started;
    writeFileSync(files.summary, JSON.stringify(summary, null, 2) + '\n');
    process.stdout.write(cfg.json ? JSON.stringify(summary) + '\n' : formatDemoSummary(summary));
    return summary.ok ? EXIT.OK : EXIT.RUNTIME;
  } catch (e) {
    const leftovers = await cleanup();
    labTouched = false;
    for (const l of leftovers) progress(`cleanup: ${l}`);
    if (e instanceof Aborted) {
      progress(`interrupted; the lab is down. Partial results in ${cfg.outDir}`);
      return 128 + (e.signal === 'SIGINT' ? 2 : e.signal === 'SIGTERM' ? 15 : 1);
    }
    if (e instanceof lab.LabError) {
      if (e.code === lab.LAB_ERR.NOT_ROOT) throw usageError(`demo: ${e.message}`);
      throw new PodspanError(ERR.IO, `demo: the lab failed: ${e.message}`);
    }
    throw e;
  } finally {
    if (labTouched) await cleanup();
    for (const s of sigs) process.off(s, onSignal);
  }
}

/** The summary for people. */
export function formatDemoSummary(s: DemoSummary): string {
  const out: string[] = [];
  const add = (label: string, text: string): void => {
    out.push(`  ${label.padEnd(11)} ${text}`);
  };
  out.push('');
  out.push(`podspan demo: shop v1 and v2 on the lab node ${s.lab.nodeNetns}, v1's traffic mirrored, stored, replayed to v2 and compared`);
  out.push('');
  add('pods', `v1 ${s.lab.v1} (veth ${s.lab.v1Veth}), v2 ${s.lab.v2}, client ${s.lab.client}`);
  const c = s.client;
  add('client', `${c.requests} requests at v1 from ${c.clients} concurrent clients over ${plural(c.connections, 'keep-alive connection')}: ${c.responses} answered, ${c.errors} errors`);
  for (const [ep, e] of Object.entries(c.endpoints).sort()) {
    add('', `  ${ep.padEnd(24)} ${String(e.count).padStart(6)}  (${Object.entries(e.statuses).map(([k, v]) => `${k}: ${v}`).join(', ')})`);
  }
  if (s.agent !== undefined) {
    const a = s.agent;
    add('agent', `${a.captured} frames captured on ${s.lab.v1Veth}, ${a.droppedByKernel} dropped by the kernel, ${a.droppedByPodspan} by podspan`);
    add('', `${a.exported} exported over VXLAN, ${a.notExported} not exported, ${a.exportTruncated} truncated`);
  } else add('agent', 'no summary');
  if (s.collector !== undefined) {
    const st = Object.entries(s.collector.stages);
    if (st.length === 0) add('collector', 'no summary');
    st.forEach(([name, v], i) => {
      const reasons = Object.entries(v.reasons).filter(([, n]) => n > 0);
      add(i === 0 ? 'collector' : '', `${name}: received ${v.received}, delivered ${v.delivered}, dropped ${v.dropped}${reasons.length > 0 ? ` (${reasons.map(([r, n]) => `${r} ${n}`).join(', ')})` : ''}`);
    });
  }
  if (s.store !== undefined) add('stored', `${s.store.frames} frames (${s.store.bytes} bytes) in ${plural(s.store.files.length, 'pcapng file')}`);
  if (s.flows !== undefined) add('flows', `${plural(s.flows.tcp, 'TCP connection')} (${Object.entries(s.flows.states).map(([k, v]) => `${v} ${k}`).join(', ')})`);
  const r = s.replay;
  if (r === undefined) add('replay', 'not run');
  else if (r.diff === undefined) add('replay', `failed: ${r.error ?? 'no diff'}`);
  else {
    const d = r.diff;
    const rs = r.summary;
    if (rs !== undefined && rs.connections !== undefined) {
      add('replay', `${rs.replayedConnections ?? '?'} of ${rs.connections} captured connections replayed to v2 at ${r.target}, ${rs.requests ?? '?'} requests framed${total(rs.skipped) > 0 ? `, skipped: ${nonZero(rs.skipped)}` : ''}`);
      add('', `${d.replayed} requests replayed: ${d.matched} answered as v1 did, ${d.mismatched} differently${d.notCompared > 0 ? `, ${d.notCompared} not compared` : ''}${total(rs.shadowErrors) > 0 ? `; v2 errors: ${nonZero(rs.shadowErrors)}` : ''}`);
    } else {
      add('replay', `${d.replayed} requests replayed to v2 at ${r.target}: ${d.matched} answered as v1 did, ${d.mismatched} differently${d.notCompared > 0 ? `, ${d.notCompared} not compared` : ''}`);
    }
    if (d.mismatches.length === 0) add('mismatches', 'none');
    d.mismatches.forEach((m, i) => {
      add(i === 0 ? 'mismatches' : '', `${m.endpoint}: ${m.mismatched} of ${m.replayed} requests`);
      for (const x of m.differences.slice(0, EXAMPLES_PER_ENDPOINT * 2)) add('', `  ${x.what} (${x.count}x), e.g. ${x.example}`);
    });
    const clean = Object.entries(d.endpoints).filter(([, e]) => e.mismatched === 0);
    if (clean.length > 0) add('', `no difference on ${clean.map(([ep, e]) => `${ep} (${e.replayed})`).join(', ')}`);
  }
  add('injected', `${s.injected.endpoint}: ${s.injected.what}: ${s.injected.found ? (s.injected.onlyDifference ? 'found, and nothing else' : 'found, but other differences too') : 'NOT found'}`);
  out.push('');
  add('pcapng', s.files.pcapng ?? '(none)');
  add('report', existsSync(s.files.report) ? s.files.report : '(none)');
  add('diff', existsSync(s.files.diff) ? s.files.diff : '(none)');
  add('summary', s.files.summary);
  out.push('');
  if (s.problems.length > 0) {
    out.push('  problems:');
    for (const p of s.problems) out.push(`    - ${p}`);
    out.push('');
  }
  out.push(`  ${s.ok ? 'OK' : 'NOT OK'}: ${(s.elapsedMs / 1000).toFixed(1)} s; the lab is down.`);
  if (s.files.pcapng !== undefined) out.push(`  try: node dist/cli/main.js flows ${s.files.pcapng}   or   wireshark ${s.files.pcapng}`);
  return out.join('\n') + '\n';
}
