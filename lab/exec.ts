/**
 * Running commands for the lab: argument vectors only (execFile/spawn, never a shell
 * string), bounded in time, failures as LabError with the command's stderr.
 */
import { execFile } from 'node:child_process';

import { LAB_ERR, LabError } from './errors.js';

export interface RunOptions {
  /** Written to the command's stdin. */
  input?: string;
  /** Extra environment; merged over a minimal PATH. */
  env?: Record<string, string>;
  /** Default 30 s. */
  timeoutMs?: number;
  /** Resolve with the exit status instead of throwing on a non-zero exit. */
  allowFailure?: boolean;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  /** Exit status; -1 when killed by a signal or the timeout. */
  code: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const BASE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const env = opts.env === undefined ? process.env : { PATH: process.env['PATH'] ?? BASE_PATH, ...opts.env };
    const child = execFile(
      cmd,
      args,
      { timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, env, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err === null) {
          resolve({ stdout, stderr, code: 0 });
          return;
        }
        const e = err as NodeJS.ErrnoException & { code?: unknown };
        const code = typeof e.code === 'number' ? e.code : -1;
        if (opts.allowFailure === true && typeof e.code === 'number') {
          resolve({ stdout, stderr, code });
          return;
        }
        const why = stderr.trim() !== '' ? stderr.trim() : stdout.trim() !== '' ? stdout.trim() : e.message;
        reject(new LabError(LAB_ERR.COMMAND, `${cmd} ${args.join(' ')}: ${why}`, { exitCode: code }));
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** `ip` with arguments; in `netns` (a name under /var/run/netns) when given. */
export function ip(args: readonly string[], netns?: string, opts: RunOptions = {}): Promise<RunResult> {
  return run('ip', netns === undefined ? args : ['-n', netns, ...args], opts);
}

/** `ip -j ...` parsed; [] for empty output. */
export async function ipJson<T>(args: readonly string[], netns?: string): Promise<T[]> {
  const { stdout } = await ip(['-j', ...args], netns);
  const text = stdout.trim();
  if (text === '') return [];
  return JSON.parse(text) as T[];
}

/** Runs a command inside a network namespace (`ip netns exec NS CMD ARGS...`). */
export function execInNetns(netns: string, cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return run('ip', ['netns', 'exec', netns, cmd, ...args], opts);
}
