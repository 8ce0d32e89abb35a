/**
 * `podspan agent` run inside a network namespace (`ip netns exec NS node cli agent ...`), so
 * that its export sockets (raw GRE, UDP) live in that namespace too. Killed on teardown.
 */
import { spawn } from 'node:child_process';

import { CLI } from '../../helpers/repo.js';

export interface NetnsAgent {
  stderr(): string;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

export async function startAgentIn(t: { teardown(fn: () => unknown): void }, ns: string, args: string[], timeoutMs = 15_000): Promise<NetnsAgent> {
  const proc = spawn('ip', ['netns', 'exec', ns, process.execPath, CLI, 'agent', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  let code: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    proc.once('close', (c) => {
      code = c;
      resolve(c);
    }),
  );
  t.teardown(async () => {
    if (code === undefined) {
      proc.kill('SIGKILL');
      await exited;
    }
  });
  const deadline = Date.now() + timeoutMs;
  while (!err.includes('listening on')) {
    if (code !== undefined) throw new Error(`agent exited (${String(code)}): ${err}`);
    if (Date.now() > deadline) throw new Error(`agent did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    stderr: () => err,
    exited,
    async stop() {
      if (code === undefined) proc.kill('SIGINT');
      return exited;
    },
  };
}

/** "N packets exported to URL, M not exported (r1 n1, r2 n2), export_truncated T". */
export const EXPORT_LINE = /^(\d+) packets? exported to (\S+), (\d+) not exported \(export_queue_full (\d+), export_send_error (\d+)\), export_truncated (\d+)$/m;
