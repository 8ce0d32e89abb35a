import { setFlagsFromString } from 'node:v8';

/**
 * Lets V8's old generation grow to at most twice what survived the last full GC (its default
 * grows up to four times when collecting is cheap, as it is for reassembly state: a few
 * tens of MB live and many short-lived connections). Measured on 150k half-open connections
 * with `--memcap 32M`: peak RSS 230 MB by default, 160 MB with this, with no measurable
 * cost on `bench/reassembly`. Process-wide; consulted at each GC, so it works after start-up.
 */
export function limitHeapGrowth(): void {
  setFlagsFromString('--heap-growing-percent=100');
}
