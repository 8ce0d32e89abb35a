/**
 * Timing for replay: capture time → wall time scaled by a speed factor, a bounded number of
 * tasks in flight, and a requests-per-second limit. Wall time is process.hrtime (monotonic).
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** `max`: as fast as possible (no waiting for capture time). */
export type Speed = number | 'max';

export function nowNs(): bigint {
  return process.hrtime.bigint();
}

/** Maps capture timestamps to wall-clock deadlines: wall = start + (ts − t0) / speed. */
export class Pacer {
  private readonly t0Ns: bigint;
  private readonly wall0Ns: bigint;
  private readonly speed: Speed;
  /** Waits that started after their deadline by more than 10 ms (the replay fell behind). */
  late = 0;

  /** Set by the caller's signal (Ctrl-C): waits end at once; callers check `stopped`. */
  private readonly signal: AbortSignal | undefined;

  constructor(t0Ns: bigint, speed: Speed, signal?: AbortSignal) {
    this.t0Ns = t0Ns;
    this.speed = speed;
    this.wall0Ns = nowNs();
    this.signal = signal;
  }

  /** The replay was asked to stop: start nothing new. */
  get stopped(): boolean {
    return this.signal?.aborted === true;
  }

  /** Resolves when the wall clock reaches capture time `tsNs`. */
  async until(tsNs: bigint): Promise<void> {
    if (this.speed === 'max') return;
    const rel = Number(tsNs - this.t0Ns) / this.speed;
    const due = this.wall0Ns + BigInt(Math.max(0, Math.round(rel)));
    const waitNs = Number(due - nowNs());
    if (this.stopped) return;
    if (waitNs > 1e6) await sleep(Math.floor(waitNs / 1e6), undefined, this.signal === undefined ? {} : { signal: this.signal }).catch(() => undefined);
    else if (waitNs < -10e6) this.late++;
  }
}

/** At most `limit` holders at once; waiters are served in order. */
export class Semaphore {
  private free: number;
  private readonly waiters: (() => void)[] = [];
  constructor(limit: number) {
    this.free = limit;
  }
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }
  release(): void {
    const w = this.waiters.shift();
    if (w !== undefined) w();
    else this.free++;
  }
}

/** Spaces calls to take() at least 1/rps apart (no bursts). */
export class RateLimiter {
  private nextNs: bigint;
  private readonly stepNs: bigint;
  constructor(rps: number) {
    this.stepNs = BigInt(Math.max(1, Math.round(1e9 / rps)));
    this.nextNs = nowNs();
  }
  async take(): Promise<void> {
    const now = nowNs();
    const slot = this.nextNs > now ? this.nextNs : now;
    this.nextNs = slot + this.stepNs;
    const waitMs = Number(slot - now) / 1e6;
    if (waitMs >= 1) await sleep(Math.floor(waitMs));
  }
}
