import t from 'tap';
import { TsResolution, ticksToTs, tsToTicks } from '../../../packet/capfile/timestamp.js';
import { ERR } from '../../../packet/errors.js';
import { prng } from './capfile-helpers.js';

// The fast path (plain numbers, 16-bit limbs) and the BigInt path must both equal exact
// BigInt arithmetic for every 64-bit tick count.

const RESOLUTIONS: Array<[number, boolean]> = [
  [0, false],
  [3, false],
  [6, false],
  [9, false],
  [12, false],
  [19, false],
  [1, true],
  [10, true],
  [30, true],
  [32, true],
  [63, true],
];

function reference(ticks: bigint, res: TsResolution, offsetSec: number): { sec: bigint; nsec: bigint } {
  const sec = ticks / res.unitsBig;
  const rem = ticks % res.unitsBig;
  return { sec: sec + BigInt(offsetSec), nsec: (rem * 1_000_000_000n) / res.unitsBig };
}

t.test('64-bit tick counts convert to (sec, nsec) exactly at every resolution', async (t) => {
  const rnd = prng(42);
  const u32 = (): number => Math.floor(rnd() * 2 ** 32);
  const out = { tsSec: 0, tsNsec: 0, tsInvalid: false };
  for (const [power, binary] of RESOLUTIONS) {
    const res = new TsResolution(power, binary);
    const bad: string[] = [];
    const samples: Array<[number, number]> = [
      [0, 0],
      [0, 1],
      [0xffffffff, 0xffffffff],
      [0x7fffffff, 0xffffffff],
      [0, 999_999_999],
    ];
    for (let i = 0; i < 3000; i++) samples.push([rnd() < 0.3 ? u32() >>> Math.floor(rnd() * 32) : u32(), u32()]);
    for (const [hi, lo] of samples) {
      const offset = rnd() < 0.2 ? Math.floor(rnd() * 2000) - 1000 : 0;
      ticksToTs(hi, lo, res, offset, out);
      const want = reference((BigInt(hi) << 32n) | BigInt(lo), res, offset);
      const safe = want.sec <= BigInt(Number.MAX_SAFE_INTEGER) && want.sec >= -BigInt(Number.MAX_SAFE_INTEGER);
      if (safe) {
        if (BigInt(out.tsSec) !== want.sec || BigInt(out.tsNsec) !== want.nsec || out.tsInvalid) {
          bad.push(`${hi}:${lo} -> ${out.tsSec}.${out.tsNsec} want ${want.sec}.${want.nsec}`);
        }
      } else if (!out.tsInvalid) {
        bad.push(`${hi}:${lo} -> ${out.tsSec} should be marked invalid (beyond 2^53 s)`);
      }
    }
    t.same(bad.slice(0, 5), [], `${binary ? 2 : 10}^-${power}: ${samples.length} tick counts`);
  }
});

t.test('(sec, nsec) converts to ticks exactly, truncating below one tick, and back', async (t) => {
  const rnd = prng(7);
  const ticks = { high: 0, low: 0 };
  const back = { tsSec: 0, tsNsec: 0, tsInvalid: false };
  for (const [power, binary] of RESOLUTIONS) {
    const res = new TsResolution(power, binary);
    const maxSec = Number((2n ** 64n - 1n) / res.unitsBig) - 1;
    const bad: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const sec = Math.floor(rnd() * Math.min(maxSec, 2 ** 40));
      const nsec = Math.floor(rnd() * 1e9);
      tsToTicks(sec, nsec, res, ticks);
      const want = BigInt(sec) * res.unitsBig + (BigInt(nsec) * res.unitsBig) / 1_000_000_000n;
      const got = (BigInt(ticks.high) << 32n) | BigInt(ticks.low);
      if (got !== want) bad.push(`${sec}.${nsec} -> ${got} want ${want}`);
      ticksToTs(ticks.high, ticks.low, res, 0, back);
      // Back to (sec, nsec): exact when a tick is at most 1 ns, else the start of the tick.
      const wantBack = reference(want, res, 0);
      if (BigInt(back.tsSec) !== wantBack.sec || BigInt(back.tsNsec) !== wantBack.nsec) bad.push(`${sec}.${nsec} round trip ${back.tsSec}.${back.tsNsec}`);
      if (!binary && power >= 9 && (back.tsSec !== sec || back.tsNsec !== nsec)) bad.push(`${sec}.${nsec} not exact at 10^-${power}`);
    }
    t.same(bad.slice(0, 5), [], `${binary ? 2 : 10}^-${power}`);
  }
});

t.test('times that do not fit 64 bits, or are negative, are CAPFILE_UNREPRESENTABLE', async (t) => {
  const ticks = { high: 0, low: 0 };
  const ns = new TsResolution(9, false);
  tsToTicks(18446744073, 709551615, ns, ticks);
  t.same(ticks, { high: 0xffffffff, low: 0xffffffff }, 'the last representable nanosecond');
  t.throws(() => tsToTicks(18446744073, 709551616, ns, ticks), { code: ERR.CAPFILE_UNREPRESENTABLE });
  t.throws(() => tsToTicks(-1, 0, ns, ticks), { code: ERR.CAPFILE_UNREPRESENTABLE });
  t.throws(() => tsToTicks(2 ** 40, 0, new TsResolution(30, true), ticks), { code: ERR.CAPFILE_UNREPRESENTABLE });
  tsToTicks(1, 1_500_000_000, new TsResolution(6, false), ticks);
  t.same(ticks, { high: 0, low: 2_500_000 }, 'an invalid raw nsec >= 1e9 carries into the seconds');
});
