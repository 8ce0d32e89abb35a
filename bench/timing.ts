import { spawnSync } from 'node:child_process';

/**
 * Best (shortest) wall time in seconds of `runs` runs of a command, its stdout discarded.
 * `before` runs ahead of each run, outside the timing (e.g. to empty an output directory).
 */
export function bestOf(runs: number, cmd: string, args: readonly string[], before?: () => void): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    before?.();
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const t1 = process.hrtime.bigint();
    if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr.toString()}`);
    best = Math.min(best, Number(t1 - t0) / 1e9);
  }
  return best;
}
