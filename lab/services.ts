/**
 * Sample services inside pod namespaces: started detached (they outlive `podspan lab up`),
 * tracked by a pid file, stopped by pid.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { LAB_ERR, LabError } from './errors.js';
import { execInNetns } from './exec.js';
import { netnsPids } from './netns.js';

export interface ServiceSpec {
  /** Service name, unique within its pod. */
  name: string;
  /** Script in dist/lab, e.g. 'http-service.js'. */
  script: string;
  port: number;
  /** Extra arguments after `--port P --name N` (e.g. ['--variant', 'v2']). */
  args?: readonly string[];
}

export interface ServiceRecord {
  pod: string;
  netns: string;
  name: string;
  pid: number;
  port: number;
  script: string;
  log: string;
}

const READY_TIMEOUT_MS = 10_000;

export function scriptPath(script: string): string {
  return fileURLToPath(new URL(`./${script}`, import.meta.url));
}

function pidFile(stateDir: string, pod: string, name: string): string {
  return join(stateDir, 'services', `${pod}--${name}.json`);
}

export function readServiceRecords(stateDir: string): ServiceRecord[] {
  const dir = join(stateDir, 'services');
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  } catch {
    return [];
  }
  const out: ServiceRecord[] = [];
  for (const f of files) {
    try {
      out.push(JSON.parse(readFileSync(join(dir, f), 'utf8')) as ServiceRecord);
    } catch {
      // torn write: ignore, `up` rewrites it
    }
  }
  return out;
}

/** True when the recorded pid is alive and lives in the pod's namespace. */
export async function serviceRunning(rec: ServiceRecord): Promise<boolean> {
  return (await netnsPids(rec.netns)).includes(rec.pid);
}

/** Starts the service unless it already runs; resolves once it prints its ready line. */
export async function ensureService(stateDir: string, pod: string, netns: string, spec: ServiceSpec): Promise<ServiceRecord> {
  const file = pidFile(stateDir, pod, spec.name);
  if (existsSync(file)) {
    const rec = JSON.parse(readFileSync(file, 'utf8')) as ServiceRecord;
    if (await serviceRunning(rec)) return rec;
    rmSync(file, { force: true });
  }
  mkdirSync(join(stateDir, 'services'), { recursive: true });
  mkdirSync(join(stateDir, 'logs'), { recursive: true });
  const log = join(stateDir, 'logs', `${pod}--${spec.name}.log`);
  const fd = openSync(log, 'w');
  const script = scriptPath(spec.script);
  const child = spawn('ip', ['netns', 'exec', netns, process.execPath, script, '--port', String(spec.port), '--name', spec.name, ...(spec.args ?? [])], {
    detached: true,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  let exited: number | null | undefined;
  child.once('exit', (code) => {
    exited = code;
  });
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new LabError(LAB_ERR.SERVICE, `cannot start ${spec.script} in ${netns}`);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const text = readFileSync(log, 'utf8');
    if (text.includes('"event":"listening"')) break;
    if (exited !== undefined || Date.now() > deadline) {
      if (exited === undefined) process.kill(pid, 'SIGKILL');
      throw new LabError(LAB_ERR.SERVICE, `${spec.name} in ${netns} did not start${exited !== undefined ? ` (exit ${String(exited)})` : ''}: ${text.trim().slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const rec: ServiceRecord = { pod, netns, name: spec.name, pid, port: spec.port, script: spec.script, log };
  writeFileSync(file, JSON.stringify(rec) + '\n');
  return rec;
}

/** SIGTERM, then SIGKILL after `graceMs`, for the given pids; resolves when all are gone. */
export async function stopPids(pids: readonly number[], graceMs = 3000): Promise<void> {
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + graceMs;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const pid of pids.filter(alive)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const hard = Date.now() + 2000;
  while (pids.some(alive) && Date.now() < hard) await new Promise((r) => setTimeout(r, 20));
}

export interface HttpClientResult {
  n: number;
  status?: number;
  bytes?: number;
  body?: string;
  error?: string;
}

export interface HttpClientOptions {
  count?: number;
  method?: string;
  body?: string;
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * Runs dist/lab/http-client.js inside `netns` against `url`; one result per request. Bounded:
 * at most 10000 requests, each with a timeout, the whole run killed after
 * count * timeout + 10 s.
 */
export async function httpFromNetns(netns: string, url: string, opts: HttpClientOptions = {}): Promise<HttpClientResult[]> {
  const count = opts.count ?? 1;
  const timeoutMs = opts.timeoutMs ?? 5000;
  const args = [scriptPath('http-client.js'), url, '--count', String(count), '--timeout-ms', String(timeoutMs)];
  if (opts.method !== undefined) args.push('--method', opts.method);
  if (opts.body !== undefined) args.push('--body', opts.body);
  if (opts.intervalMs !== undefined) args.push('--interval-ms', String(opts.intervalMs));
  const res = await execInNetns(netns, process.execPath, args, {
    allowFailure: true,
    timeoutMs: count * (timeoutMs + (opts.intervalMs ?? 0)) + 10_000,
  });
  return res.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as HttpClientResult);
}
