/**
 * Capture-time arithmetic for the reassemblers: (sec, nsec) pairs, never floats. Time only
 * ever comes from capture timestamps passed in by the caller, so a replayed capture gives
 * the same answer every time. Nothing here allocates.
 */

export const NSEC_PER_SEC = 1_000_000_000;

/** (aSec, aNsec) is strictly before (bSec, bNsec). */
export function tsBefore(aSec: number, aNsec: number, bSec: number, bNsec: number): boolean {
  return aSec < bSec || (aSec === bSec && aNsec < bNsec);
}

/** Whole seconds of a non-negative duration in seconds (may be fractional). */
export function durSec(d: number): number {
  return Math.floor(d);
}

/** Nanoseconds part of a non-negative duration in seconds (may be fractional). */
export function durNsec(d: number): number {
  return Math.round((d - Math.floor(d)) * NSEC_PER_SEC);
}
