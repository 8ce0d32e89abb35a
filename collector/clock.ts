/**
 * Receive timestamps for ingest paths that get none from the kernel (UDP through
 * node:dgram). Date.now() has millisecond resolution only; process.hrtime.bigint() has
 * nanoseconds but no epoch. The clock anchors the monotonic counter to the wall clock once,
 * at construction:
 *
 *   now = Date.now() at start (ms, as ns) + (hrtime now - hrtime at start)
 *
 * so timestamps are exact nanoseconds relative to each other; the anchor is taken when
 * Date.now() ticks, so they are within tens of microseconds of the wall clock. A wall-clock step after start (NTP, an
 * operator) is not followed: timestamps stay monotonic.
 */

/** Where `now()` writes the time. */
export interface TimeTarget {
  tsSec: number;
  tsNsec: number;
}

const NS_PER_MS = 1_000_000n;
const NS_PER_SEC = 1_000_000_000n;

export class ReceiveClock {
  private readonly baseNs: bigint;
  private readonly hr0: bigint;

  constructor() {
    // Wait for Date.now() to tick (at most ~1 ms, once): at that instant the wall clock is
    // exactly on a millisecond boundary, so the anchor is good to microseconds, not to 1 ms.
    const t0 = Date.now();
    let t1 = t0;
    for (let i = 0; i < 50_000_000 && t1 === t0; i++) t1 = Date.now();
    this.hr0 = process.hrtime.bigint();
    this.baseNs = BigInt(t1) * NS_PER_MS;
  }

  /** Nanoseconds since the epoch. */
  nowNs(): bigint {
    return this.baseNs + (process.hrtime.bigint() - this.hr0);
  }

  /** Sets `out` to the current time as (seconds, nanoseconds). */
  now(out: TimeTarget): void {
    const ns = this.nowNs();
    const sec = ns / NS_PER_SEC;
    out.tsSec = Number(sec);
    out.tsNsec = Number(ns - sec * NS_PER_SEC);
  }
}
