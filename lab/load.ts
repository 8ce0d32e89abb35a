/**
 * What `podspan demo` runs in the lab: the shop service in two versions
 * (dist/lab/demo-service.js) and the load driver (dist/lab/http-load.js) run inside the
 * client pod, with the difference v2 carries on purpose.
 */
import { spawn } from 'node:child_process';

import { LAB_ERR, LabError } from './errors.js';
import { scriptPath, type ServiceSpec } from './services.js';

export const DEMO_SERVICE_SCRIPT = 'demo-service.js';
export const DEMO_SERVICE_PORT = 8080;

/** The one behavioural difference between the shop's v1 and v2 (lab/demo-service.ts). */
export const DEMO_INJECTED_DIFFERENCE = {
  method: 'POST',
  path: '/api/cart/quote',
  what: 'v2 leaves the tax out of totalCents',
} as const;

/** The lab service running the shop in `variant`. */
export function demoServiceSpec(variant: 'v1' | 'v2', port: number = DEMO_SERVICE_PORT): ServiceSpec {
  return { name: `shop-${variant}`, script: DEMO_SERVICE_SCRIPT, port, args: ['--variant', variant] };
}

export interface HttpLoadOptions {
  /** Total requests, default 1200. */
  requests?: number;
  /** Concurrent clients (one keep-alive connection each at a time), default 4. */
  clients?: number;
  /** Requests per connection before a client opens a new one, default 100. */
  perConnection?: number;
  /** PRNG seed of the request mix, default 1. */
  seed?: number;
  /** Per-request timeout, default 5000 ms. */
  timeoutMs?: number;
  /** The whole run is killed after this long; default 120 s. */
  runTimeoutMs?: number;
  /** Aborting kills the driver. */
  signal?: AbortSignal;
}

export interface HttpLoadEndpoint {
  count: number;
  /** Status code → responses. */
  statuses: Record<string, number>;
}

/** The load driver's summary line. */
export interface HttpLoadResult {
  requests: number;
  responses: number;
  errors: number;
  /** TCP connections the clients opened. */
  connections: number;
  clients: number;
  perConnection: number;
  seed: number;
  /** "METHOD /route" (ids as {id}, no query, as the replay's report groups them) → counts. */
  endpoints: Record<string, HttpLoadEndpoint>;
  firstError?: string;
}

/**
 * Runs the load driver inside `netns` against `baseUrl` (e.g. http://10.77.1.3:8080) and
 * resolves with its summary, also when some requests failed (`errors` > 0). Rejects when the
 * driver cannot run, prints no summary, is aborted or runs out of time.
 */
export function driveHttpLoad(netns: string, baseUrl: string, opts: HttpLoadOptions = {}): Promise<HttpLoadResult> {
  const args = [
    'netns', 'exec', netns, process.execPath, scriptPath('http-load.js'), baseUrl,
    '--requests', String(opts.requests ?? 1200),
    '--clients', String(opts.clients ?? 4),
    '--per-connection', String(opts.perConnection ?? 100),
    '--seed', String(opts.seed ?? 1),
    '--timeout-ms', String(opts.timeoutMs ?? 5000),
  ];
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted === true) {
      reject(new LabError(LAB_ERR.COMMAND, 'load driver: aborted'));
      return;
    }
    // Own process group: a Ctrl-C at the terminal reaches the caller, which stops this.
    const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    let why: string | undefined;
    const kill = (reason: string): void => {
      why ??= reason;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => kill(`no summary within ${opts.runTimeoutMs ?? 120_000} ms`), opts.runTimeoutMs ?? 120_000);
    const onAbort = (): void => kill('aborted');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      reject(new LabError(LAB_ERR.COMMAND, `load driver: cannot start ip netns exec: ${e.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      const line = out.trim().split('\n').pop() ?? '';
      let result: HttpLoadResult | undefined;
      try {
        result = JSON.parse(line) as HttpLoadResult;
      } catch {
        result = undefined;
      }
      if (why === undefined && result !== undefined && typeof result.requests === 'number' && (code === 0 || code === 1)) {
        resolve(result);
        return;
      }
      reject(new LabError(LAB_ERR.COMMAND, `load driver in ${netns}: ${why ?? `exit ${String(code)}`}${err.trim() === '' ? '' : `: ${err.trim().slice(-2000)}`}`));
    });
  });
}
