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

export interface TimedCommand {
  cmd: string;
  /** Arguments for run `i` (0-based), e.g. a fresh output directory per run. */
  args: (i: number) => readonly string[];
}

/**
 * Best (shortest) and median wall times in seconds of each command over `runs` rounds, the
 * commands taking turns within each round, so that drift in the machine's load hits them
 * alike. On a noisy machine the best of a few runs can favour either side by 10 %; the
 * median of the same runs is steadier. `before` runs ahead of each command's run, outside
 * the timing.
 */
export function timeAlternating(runs: number, cmds: readonly TimedCommand[], before?: (cmd: number, i: number) => void): { best: number[]; median: number[] } {
  const times: number[][] = cmds.map(() => []);
  for (let i = 0; i < runs; i++) {
    cmds.forEach((c, k) => {
      before?.(k, i);
      const args = c.args(i);
      const t0 = process.hrtime.bigint();
      const r = spawnSync(c.cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      const t1 = process.hrtime.bigint();
      if (r.status !== 0) throw new Error(`${c.cmd} ${args.join(' ')} failed: ${r.stderr.toString()}`);
      times[k]!.push(Number(t1 - t0) / 1e9);
    });
  }
  const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  };
  return { best: times.map((xs) => Math.min(...xs)), median: times.map(median) };
}
