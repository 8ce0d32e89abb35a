import { ERR, PodspanError } from '../errors.js';

/**
 * Exact conversion between pcapng 64-bit tick counts and (tsSec, tsNsec).
 *
 * A pcapng timestamp is an unsigned 64-bit count of ticks of 10^-p or 2^-p seconds
 * (if_tsresol, draft-ietf-opsawg-pcapng §4.2). Doubles hold integers only to 2^53, and
 * nanosecond ticks since 1970 are already ~2^61, so:
 * - decimal resolutions up to nanoseconds (the common case: µs and ns) use long division
 *   by 16-bit limbs in plain numbers: every intermediate stays below 2^47, exact, and
 *   nothing is allocated;
 * - binary resolutions and decimal ones finer than 1 ns use BigInt (exact; allocates).
 * Sub-nanosecond ticks are truncated toward zero (floor), as Wireshark does.
 */

const LIMB = 65536;
const NS_PER_SEC = 1_000_000_000;
const NS_PER_SEC_BIG = 1_000_000_000n;
const TWO_POW_64 = 1n << 64n;

/** Largest if_tsresol exponents libpcap accepts: 10^-19 and 2^-63. */
export const TSRESOL_MAX_DECIMAL = 19;
export const TSRESOL_MAX_BINARY = 63;

/** A timestamp resolution prepared for conversions. Immutable; share it. */
export class TsResolution {
  readonly power: number;
  readonly binary: boolean;
  /** Ticks per second when the limb fast path applies (decimal, power <= 9), else 0. */
  readonly units: number;
  /** Nanoseconds per tick on the fast path. */
  readonly nsPerTick: number;
  readonly unitsBig: bigint;

  constructor(power: number, binary: boolean) {
    this.power = power;
    this.binary = binary;
    this.unitsBig = binary ? 1n << BigInt(power) : 10n ** BigInt(power);
    const fast = !binary && power <= 9;
    this.units = fast ? 10 ** power : 0;
    this.nsPerTick = fast ? 10 ** (9 - power) : 0;
  }

  /** Resolution of a pcapng if_tsresol byte (bit 7: binary; bits 0-6: exponent). */
  static fromTsresolByte(b: number): TsResolution {
    return new TsResolution(b & 0x7f, (b & 0x80) !== 0);
  }
}

export const TS_RESOLUTION_MICRO = new TsResolution(6, false);
export const TS_RESOLUTION_NANO = new TsResolution(9, false);

/** Where conversions write their result (the reader passes its reused record). */
export interface TsTarget {
  tsSec: number;
  tsNsec: number;
  tsInvalid: boolean;
}

/**
 * Sets `out` to the time of `high:low` ticks plus `offsetSec` seconds. Exact; does not
 * allocate on the fast path. `tsInvalid` is set when the seconds exceed 2^53 (only
 * possible with resolutions coarser than 1/2048 s) and the value is then approximate.
 */
export function ticksToTs(high: number, low: number, res: TsResolution, offsetSec: number, out: TsTarget): void {
  const u = res.units;
  if (u !== 0) {
    // Long division of the 64-bit tick count, 16 bits at a time: r < u <= 1e9 < 2^30,
    // so r * 2^16 + limb < 2^46 and every step is exact in a double.
    let x = high >>> 16;
    const q3 = Math.floor(x / u);
    let r = x - q3 * u;
    x = r * LIMB + (high & 0xffff);
    const q2 = Math.floor(x / u);
    r = x - q2 * u;
    x = r * LIMB + (low >>> 16);
    const q1 = Math.floor(x / u);
    r = x - q1 * u;
    x = r * LIMB + (low & 0xffff);
    const q0 = Math.floor(x / u);
    r = x - q0 * u;
    const sec = ((q3 * LIMB + q2) * LIMB + q1) * LIMB + q0 + offsetSec;
    out.tsSec = sec;
    out.tsNsec = r * res.nsPerTick;
    out.tsInvalid = !Number.isSafeInteger(sec) || q3 >= 32;
    return;
  }
  const ticks = (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);
  const secBig = ticks / res.unitsBig;
  const rem = ticks - secBig * res.unitsBig;
  const sec = Number(secBig) + offsetSec;
  out.tsSec = sec;
  out.tsNsec = Number((rem * NS_PER_SEC_BIG) / res.unitsBig);
  out.tsInvalid = !Number.isSafeInteger(sec) || secBig > BigInt(Number.MAX_SAFE_INTEGER);
}

/** Where `tsToTicks` writes the two 32-bit halves. */
export interface TicksTarget {
  high: number;
  low: number;
}

/**
 * Sets `out` to the tick count of (tsSec, tsNsec) in resolution `res`, truncating below
 * one tick. `tsNsec` may exceed 999_999_999 (a raw invalid pcap value); it carries into
 * the seconds. Throws CAPFILE_UNREPRESENTABLE for negative times and for times that need
 * more than 64 bits. Does not allocate on the fast path.
 */
export function tsToTicks(tsSec: number, tsNsec: number, res: TsResolution, out: TicksTarget): void {
  if (!Number.isSafeInteger(tsSec) || tsSec < 0 || !Number.isSafeInteger(tsNsec) || tsNsec < 0) {
    throw new PodspanError(
      ERR.CAPFILE_UNREPRESENTABLE,
      `timestamp ${tsSec}.${tsNsec} cannot be written: pcapng holds non-negative times only`,
      { tsSec, tsNsec },
    );
  }
  const u = res.units;
  if (u !== 0 && tsNsec < NS_PER_SEC * LIMB) {
    // tsSec * u + floor(tsNsec / nsPerTick), by 16-bit limbs: each product < 2^46.
    let s = tsSec;
    const s0 = s % LIMB;
    s = (s - s0) / LIMB;
    const s1 = s % LIMB;
    s = (s - s1) / LIMB;
    const s2 = s % LIMB;
    const s3 = (s - s2) / LIMB;
    let p = s0 * u + Math.floor(tsNsec / res.nsPerTick);
    const l0 = p % LIMB;
    p = s1 * u + (p - l0) / LIMB;
    const l1 = p % LIMB;
    p = s2 * u + (p - l1) / LIMB;
    const l2 = p % LIMB;
    p = s3 * u + (p - l2) / LIMB;
    const l3 = p % LIMB;
    if (p >= LIMB) throw tooLate(tsSec, tsNsec, res);
    out.high = l3 * LIMB + l2;
    out.low = l1 * LIMB + l0;
    return;
  }
  const ticks = BigInt(tsSec) * res.unitsBig + (BigInt(tsNsec) * res.unitsBig) / NS_PER_SEC_BIG;
  if (ticks >= TWO_POW_64) throw tooLate(tsSec, tsNsec, res);
  out.high = Number(ticks >> 32n);
  out.low = Number(ticks & 0xffffffffn);
}

function tooLate(tsSec: number, tsNsec: number, res: TsResolution): PodspanError {
  return new PodspanError(
    ERR.CAPFILE_UNREPRESENTABLE,
    `timestamp ${tsSec}.${tsNsec} does not fit a 64-bit pcapng timestamp at resolution ` +
      `${res.binary ? 2 : 10}^-${res.power} s: use a coarser if_tsresol`,
    { tsSec, tsNsec },
  );
}
