/**
 * A capture batch as pcapng Enhanced Packet Blocks (draft-ietf-opsawg-pcapng §4.3), encoded
 * back to back into one Buffer for one write:
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +---------------------------------------------------------------+
 *   |                    Block Type = 0x00000006                    |
 *   |                      Block Total Length                       |
 *   |                         Interface ID                          |
 *   |                        Timestamp (High)                       |
 *   |                        Timestamp (Low)                        |
 *   |                    Captured Packet Length                     |
 *   |                    Original Packet Length                     |
 *   /                 Packet Data, padded to 32 bits                /
 *   |                      Block Total Length                       |
 *   +---------------------------------------------------------------+
 *
 * The same bytes as `PcapngWriter.packet()` without options (little-endian; the interface
 * must have been added with if_tsresol = 9, nanoseconds), without its per-packet Buffers:
 * small frames are copied behind their header into one reused buffer, large ones are
 * written from the batch as they are.
 *
 * The agent's `-w` path no longer calls this: its captures use LiveCapture's layout 'epb',
 * where the capture thread writes these same bytes around each frame, and a batch goes out
 * with one write (test/native/live-capture-epb-netns.test.ts checks the two byte for byte).
 * This encoder stays the JavaScript reference, for batches in the plain layout.
 */
import { Buffer } from 'node:buffer';

import { CAPTURE_META, CAPTURE_META_COLS } from '../../native/index.js';
import { PCAPNG_BLOCK, PCAPNG_BLOCK_TRAILER_LEN, PCAPNG_EPB } from '../../packet/capfile/pcapng.js';
import { TS_RESOLUTION_NANO, tsToTicks, type TicksTarget } from '../../packet/capfile/timestamp.js';

/** Most bytes an EPB adds around its data: 28-byte header, up to 3 bytes of padding, trailer. */
export const EPB_MAX_OVERHEAD = PCAPNG_EPB.DATA + 3 + PCAPNG_BLOCK_TRAILER_LEN;

/** What encodeEpbBatch reads of a batch (a native CaptureBatch fits). */
export interface EpbBatchInput {
  readonly data: Buffer;
  readonly meta: Float64Array;
}

/** Counters encodeEpbBatch adds to. */
export interface EpbBatchCounters {
  /** Frames cut by the snap length (capLen < wireLen): not a drop, the file says so. */
  truncated: number;
}

/** Bytes `out` needs for `rows` frames holding `dataBytes` bytes in all. */
export function epbBatchBytes(dataBytes: number, rows: number): number {
  return dataBytes + rows * EPB_MAX_OVERHEAD;
}

/**
 * Frames at least this long are not copied: their segment is a view of the batch data
 * (one memcpy less for GSO super-frames; below this a copy is cheaper than a view).
 */
export const EPB_ZERO_COPY_MIN = 1024;

const NS_PER_SEC = 1_000_000_000;
const TWO_16 = 0x10000;
const TWO_32 = 0x100000000;
/** Beyond this the limb arithmetic below would lose precision: fall back to tsToTicks. */
const FAST_TS_SEC_MAX = 2 ** 33;
const ticks: TicksTarget = { high: 0, low: 0 };

/**
 * Writes rows [0, n) of `batch` (rows `[offset, capLen, wireLen, tsSec, tsNsec]`, see
 * CAPTURE_META) as EPBs for interface `ifaceId`, replacing the contents of `segments` with
 * the Buffers to write, in order; returns their total length. Headers, trailers and frames
 * shorter than EPB_ZERO_COPY_MIN are written into `out`; longer frames are views of
 * `batch.data`, so the batch must stay unchanged until the segments are written (the agent
 * holds it until then). Allocates only those views and the segment views of `out`.
 * Throws RangeError when `out` is too small (size it with epbBatchBytes).
 */
export function encodeEpbBatch(batch: EpbBatchInput, n: number, ifaceId: number, out: Buffer, counters: EpbBatchCounters, segments: Buffer[]): number {
  const { data, meta } = batch;
  if (n * CAPTURE_META_COLS > meta.length) throw new RangeError(`batch has ${meta.length / CAPTURE_META_COLS} rows, asked for ${n}`);
  segments.length = 0;
  const dv = new DataView(out.buffer, out.byteOffset, out.length);
  let p = 0; // write position in `out`
  let segStart = 0; // start of the `out` bytes not yet in `segments`
  let total = 0;
  let truncated = 0;
  for (let i = 0; i < n; i++) {
    const r = i * CAPTURE_META_COLS;
    const off = meta[r + CAPTURE_META.OFFSET]!;
    const capLen = meta[r + CAPTURE_META.CAP_LEN]!;
    const wireLen = meta[r + CAPTURE_META.WIRE_LEN]!;
    const sec = meta[r + CAPTURE_META.TS_SEC]!;
    const nsec = meta[r + CAPTURE_META.TS_NSEC]!;
    const pad = (4 - (capLen & 3)) & 3;
    const blockLen = PCAPNG_EPB.DATA + capLen + pad + PCAPNG_BLOCK_TRAILER_LEN;
    const zeroCopy = capLen >= EPB_ZERO_COPY_MIN;
    const inOut = zeroCopy ? blockLen - capLen : blockLen;
    if (p + inOut > out.length) throw new RangeError(`EPB batch buffer of ${out.length} bytes too small at frame ${i}`);
    if (off + capLen > data.length) throw new RangeError(`frame ${i} runs past the batch data`);
    // Ticks of 1 ns: sec * 1e9 + nsec as two 32-bit halves, by 16-bit limbs so every
    // intermediate stays below 2^53 (exact in a double).
    if (sec >= 0 && sec < FAST_TS_SEC_MAX && nsec >= 0 && nsec < NS_PER_SEC) {
      const secLo = sec % TWO_16;
      const hp = ((sec - secLo) / TWO_16) * NS_PER_SEC; // × 2^16
      const hpLo = hp % TWO_16;
      const mid = hpLo * TWO_16 + secLo * NS_PER_SEC + nsec;
      const low = mid % TWO_32;
      ticks.low = low;
      ticks.high = (hp - hpLo) / TWO_16 + (mid - low) / TWO_32;
    } else {
      tsToTicks(sec, nsec, TS_RESOLUTION_NANO, ticks); // throws for what pcapng cannot hold
    }
    dv.setUint32(p, PCAPNG_BLOCK.EPB, true);
    dv.setUint32(p + 4, blockLen, true);
    dv.setUint32(p + PCAPNG_EPB.INTERFACE_ID, ifaceId, true);
    dv.setUint32(p + PCAPNG_EPB.TS_HIGH, ticks.high, true);
    dv.setUint32(p + PCAPNG_EPB.TS_LOW, ticks.low, true);
    dv.setUint32(p + PCAPNG_EPB.CAP_LEN, capLen, true);
    dv.setUint32(p + PCAPNG_EPB.WIRE_LEN, wireLen, true);
    p += PCAPNG_EPB.DATA;
    if (zeroCopy) {
      segments.push(out.subarray(segStart, p), data.subarray(off, off + capLen));
      segStart = p;
    } else {
      data.copy(out, p, off, off + capLen);
      p += capLen;
    }
    // Padding must be zero; `out` is reused, so write it (at most 3 bytes).
    for (let k = 0; k < pad; k++) out[p + k] = 0;
    p += pad;
    dv.setUint32(p, blockLen, true);
    p += PCAPNG_BLOCK_TRAILER_LEN;
    total += blockLen;
    if (capLen < wireLen) truncated++;
  }
  if (p > segStart) segments.push(out.subarray(segStart, p));
  counters.truncated += truncated;
  return total;
}
