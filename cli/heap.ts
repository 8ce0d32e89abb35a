import { getHeapStatistics, setFlagsFromString } from 'node:v8';

/** Below this heap limit V8 already grows the old generation by at most 1.3-2x; the flag would raise that. */
const LARGE_HEAP_LIMIT_BYTES = 2 * 1024 ** 3;

/**
 * Lets V8's old generation grow to at most twice what survived the last full GC. With a
 * large heap limit (V8 picks 4 GiB on machines with 16 GiB or more) its default grows up to
 * four times when collecting is cheap, as it is for reassembly state: a few tens of MB live
 * and many short-lived connections. Measured on 150k half-open connections with
 * `--memcap 32M`: peak RSS 230 MB by default, 160-190 MB with this. The flag replaces V8's whole growth choice, including the smaller
 * factors it uses near a small limit, so it is only set when the limit is large.
 *
 * Process-wide, consulted at each GC, so it works when set late; and it should be set late:
 * after a V8 flag changes, loading modules and starting a Worker cost more CPU (measured:
 * +15 ms for three core modules, +22 ms for a Worker; apparently the code caches built with
 * the default flags are no longer used), which was 0.06 CPU-seconds on `bench/reassembly`.
 * `podspan streams` sets it at the first eviction from a full connection table, the churn
 * that makes the old generation grow.
 */
export function limitHeapGrowth(): void {
  if (done) return;
  done = true;
  if (getHeapStatistics().heap_size_limit >= LARGE_HEAP_LIMIT_BYTES) setFlagsFromString('--heap-growing-percent=100');
}

let done = false;
