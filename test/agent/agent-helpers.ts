/**
 * Shared by the agent tests: reading a whole capture file with the repo's CapfileReader,
 * and running `podspan agent` as a child process (started, waited for, stopped by signal).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

import { CapfileReader } from '../../packet/capfile/reader.js';
import type { CaptureInterface, InterfaceStats, SectionInfo } from '../../packet/capfile/types.js';
import { CLI } from '../helpers/repo.js';

export interface FileRecord {
  ifaceId: number;
  ifaceName: string | undefined;
  tsSec: number;
  tsNsec: number;
  capLen: number;
  wireLen: number;
  data: Buffer;
}

export interface ReadCapture {
  sections: SectionInfo[];
  interfaces: CaptureInterface[];
  stats: InterfaceStats[];
  records: FileRecord[];
}

/** Every record of a pcap or pcapng buffer, copied. */
export function readCaptureBuffer(buf: Buffer): ReadCapture {
  const reader = new CapfileReader();
  const sections: SectionInfo[] = [];
  reader.onSection = (s) => sections.push(s);
  reader.push(buf);
  reader.end();
  const records: FileRecord[] = [];
  for (let r = reader.next(); r !== null; r = reader.next()) {
    records.push({
      ifaceId: r.iface.id,
      ifaceName: r.iface.name,
      tsSec: r.tsSec,
      tsNsec: r.tsNsec,
      capLen: r.capLen,
      wireLen: r.wireLen,
      data: Buffer.from(r.data),
    });
  }
  return { sections, interfaces: [...reader.interfaces], stats: [...reader.stats], records };
}

export function readCaptureFile(file: string): ReadCapture {
  return readCaptureBuffer(readFileSync(file));
}

export interface AgentSummaryLines {
  captured: number;
  received: number;
  droppedByKernel: number;
  droppedByPodspan: number;
  reattachments: number | undefined;
}

/** The numbers of the tcpdump-like summary the agent prints on stderr. */
export function parseSummary(stderr: string): AgentSummaryLines | undefined {
  const num = (re: RegExp): number | undefined => {
    const m = re.exec(stderr);
    return m === null ? undefined : Number(m[1]);
  };
  const captured = num(/^(\d+) packets? captured$/m);
  const received = num(/^(\d+) packets? received by filter$/m);
  const droppedByKernel = num(/^(\d+) packets? dropped by kernel$/m);
  const droppedByPodspan = num(/^(\d+) packets? dropped by podspan/m);
  if (captured === undefined || received === undefined || droppedByKernel === undefined || droppedByPodspan === undefined) return undefined;
  return { captured, received, droppedByKernel, droppedByPodspan, reattachments: num(/^(\d+) reattachments?$/m) };
}

interface Teardownable {
  teardown(fn: () => unknown): void;
}

export interface AgentProcess {
  proc: ChildProcess;
  /** stderr so far. */
  stderr(): string;
  /** stdout so far (when not piped elsewhere). */
  stdout(): Buffer;
  /** Resolves when stderr matches `re` (bounded). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGINT (unless it already exited) and the exit status. */
  stop(): Promise<number | null>;
  exited: Promise<number | null>;
}

/**
 * Starts `podspan agent ARGS` and resolves once it printed "listening on" for `listening`
 * interfaces. Killed in teardown if still running.
 */
export async function startAgent(t: Teardownable, args: readonly string[], listening = 1, timeoutMs = 15_000): Promise<AgentProcess> {
  const proc = spawn(process.execPath, [CLI, 'agent', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const out: Buffer[] = [];
  proc.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  proc.stdout?.on('data', (d: Buffer) => out.push(d));
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    proc.once('close', (code) => {
      exitCode = code;
      resolve(code);
    });
  });
  t.teardown(async () => {
    if (exitCode === undefined) {
      proc.kill('SIGKILL');
      await exited;
    }
  });
  const waitFor = async (re: RegExp, ms = timeoutMs): Promise<string> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = re.exec(err);
      if (m !== null) return m[0];
      if (exitCode !== undefined) throw new Error(`agent exited (${String(exitCode)}) before printing ${String(re)}:\n${err}`);
      if (Date.now() > deadline) throw new Error(`agent did not print ${String(re)} within ${ms} ms:\n${err}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = err.split('\n').filter((l) => l.includes('listening on')).length;
    if (n >= listening) break;
    if (exitCode !== undefined) throw new Error(`agent exited (${String(exitCode)}):\n${err}`);
    if (Date.now() > deadline) throw new Error(`agent did not start within ${timeoutMs} ms:\n${err}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    proc,
    stderr: () => err,
    stdout: () => Buffer.concat(out),
    waitFor,
    exited,
    async stop() {
      if (exitCode === undefined) proc.kill('SIGINT');
      return exited;
    },
  };
}

/** tcpdump -w FILE in `netns` (default time stamp type, nanosecond precision); resolves once it is listening. */
export async function startTcpdumpIn(t: Teardownable, netns: string, iface: string, filter: string, file: string): Promise<{ stop(): Promise<string> }> {
  const proc = spawn('ip', ['netns', 'exec', netns, 'tcpdump', '-i', iface, '-n', '-s', '262144', '--time-stamp-precision=nano', '-w', file, filter], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  let done = false;
  const exited = new Promise<void>((resolve) => proc.once('close', () => {
    done = true;
    resolve();
  }));
  t.teardown(async () => {
    if (!done) {
      proc.kill('SIGKILL');
      await exited;
    }
  });
  proc.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const deadline = Date.now() + 10_000;
  while (!err.includes('listening on')) {
    if (done) throw new Error(`tcpdump exited: ${err}`);
    if (Date.now() > deadline) throw new Error(`tcpdump did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    async stop() {
      if (!done) proc.kill('SIGINT');
      await exited;
      return err;
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
