import t from 'tap';
import { Buffer } from 'node:buffer';
import { EPB_MAX_OVERHEAD, EPB_ZERO_COPY_MIN, encodeEpbBatch, epbBatchBytes } from '../../../agent/export/pcapng-batch.js';
import { CAPTURE_META_COLS } from '../../../native/index.js';
import { PcapngWriter } from '../../../packet/capfile/pcapng-writer.js';
import { TS_RESOLUTION_NANO, tsToTicks } from '../../../packet/capfile/timestamp.js';
import { readCaptureBuffer } from '../agent-helpers.js';

interface Frame {
  tsSec: number;
  tsNsec: number;
  wireLen: number;
  data: Buffer;
}

// Lengths 0..7 cover every padding; one frame is cut by the snap length; timestamps at the
// edges of the nanosecond field and past 2^32 seconds.
const FRAMES: Frame[] = [
  { tsSec: 1_700_000_000, tsNsec: 0, wireLen: 0, data: Buffer.alloc(0) },
  { tsSec: 1_700_000_000, tsNsec: 1, wireLen: 1, data: Buffer.from([0x01]) },
  { tsSec: 1_700_000_001, tsNsec: 999_999_999, wireLen: 2, data: Buffer.from([0x02, 0x03]) },
  { tsSec: 1_700_000_002, tsNsec: 123_456_789, wireLen: 3, data: Buffer.from('abc') },
  { tsSec: 1_700_000_002, tsNsec: 500_000_000, wireLen: 1500, data: Buffer.from('DDDD') },
  { tsSec: 4_294_967_296, tsNsec: 42, wireLen: 5, data: Buffer.from('EEEEE') },
  { tsSec: 0, tsNsec: 7, wireLen: 6, data: Buffer.from('FFFFFF') },
  { tsSec: 1_800_000_000, tsNsec: 999_000_000, wireLen: 7, data: Buffer.from('GGGGGGG') },
];

/** A batch as the native addon fills it: frames back to back, rows of five float64s. */
function batchOf(frames: Frame[], dataOffset = 0): { data: Buffer; meta: Float64Array } {
  const data = Buffer.alloc(dataOffset + frames.reduce((a, f) => a + f.data.length, 0) + 16, 0xa5);
  const meta = new Float64Array((frames.length + 2) * CAPTURE_META_COLS).fill(-1);
  let off = dataOffset;
  frames.forEach((f, i) => {
    f.data.copy(data, off);
    meta.set([off, f.data.length, f.wireLen, f.tsSec, f.tsNsec], i * CAPTURE_META_COLS);
    off += f.data.length;
  });
  return { data, meta };
}

t.test('encodes the same bytes as PcapngWriter.packet() without options, for every padding', async (t) => {
  const w = new PcapngWriter();
  w.sectionHeader();
  const { id } = w.addInterface({ linkType: 1, snapLen: 262144, tsResolPower: 9 });
  const expected = Buffer.concat(FRAMES.flatMap((f) => w.packet(id, { ...f, capLen: f.data.length })));
  const out = Buffer.alloc(epbBatchBytes(64, FRAMES.length), 0xa5); // dirty, as a reused arena is
  const counters = { truncated: 0 };
  const segments: Buffer[] = [Buffer.from('stale')];
  const len = encodeEpbBatch(batchOf(FRAMES, 3), FRAMES.length, id, out, counters, segments);
  t.equal(len, expected.length);
  t.equal(segments.length, 1, 'small frames: one segment');
  t.ok(Buffer.concat(segments).equals(expected), 'byte for byte');
  t.equal(counters.truncated, 1, 'the frame cut by the snap length is counted as truncated');
});

t.test('only the first n rows are written, for any interface id', async (t) => {
  const w = new PcapngWriter();
  w.sectionHeader();
  w.addInterface({ linkType: 1, snapLen: 262144 });
  const { id } = w.addInterface({ linkType: 1, snapLen: 262144 });
  const expected = Buffer.concat(FRAMES.slice(0, 3).flatMap((f) => w.packet(id, { ...f, capLen: f.data.length })));
  const segments: Buffer[] = [];
  encodeEpbBatch(batchOf(FRAMES), 3, id, Buffer.alloc(1024), { truncated: 0 }, segments);
  t.ok(Buffer.concat(segments).equals(expected));
});

t.test('a file of SHB + IDB + encoded batches reads back with the frames, times and lengths', async (t) => {
  const w = new PcapngWriter();
  const shb = w.sectionHeader({ userAppl: 'test' });
  const idb = w.addInterface({ linkType: 1, snapLen: 262144, name: 'veth0' }).block;
  const out = Buffer.alloc(epbBatchBytes(64, FRAMES.length));
  const segments: Buffer[] = [];
  encodeEpbBatch(batchOf(FRAMES), FRAMES.length, 0, out, { truncated: 0 }, segments);
  const file = readCaptureBuffer(Buffer.concat([shb, idb, ...segments]));
  t.equal(file.records.length, FRAMES.length);
  file.records.forEach((r, i) => {
    const f = FRAMES[i]!;
    t.same([r.tsSec, r.tsNsec, r.capLen, r.wireLen, r.ifaceName], [f.tsSec, f.tsNsec, f.data.length, f.wireLen, 'veth0'], `frame ${i}`);
    t.ok(r.data.equals(f.data));
  });
});

t.test('an output buffer that is too small is a RangeError, never an overrun', async (t) => {
  const out = Buffer.alloc(40);
  t.throws(() => encodeEpbBatch(batchOf(FRAMES), FRAMES.length, 0, out, { truncated: 0 }, []), RangeError);
  t.equal(EPB_MAX_OVERHEAD, 35);
  t.throws(() => encodeEpbBatch(batchOf(FRAMES), 100, 0, Buffer.alloc(1 << 16), { truncated: 0 }, []), RangeError, 'more rows than the batch holds');
});

t.test('large frames are written from the batch without a copy; the bytes stay the same', async (t) => {
  const big = (len: number, fill: number): Frame => ({ tsSec: 1_700_000_100, tsNsec: len, wireLen: len, data: Buffer.alloc(len, fill) });
  const frames = [FRAMES[3]!, big(EPB_ZERO_COPY_MIN, 0x41), FRAMES[4]!, big(65226, 0x42), big(EPB_ZERO_COPY_MIN + 3, 0x43), FRAMES[1]!];
  const w = new PcapngWriter();
  w.sectionHeader();
  const { id } = w.addInterface({ linkType: 1, snapLen: 262144 });
  const expected = Buffer.concat(frames.flatMap((f) => w.packet(id, { ...f, capLen: f.data.length })));
  const batch = batchOf(frames, 1);
  const segments: Buffer[] = [];
  const out = Buffer.alloc(epbBatchBytes(200, frames.length), 0xa5);
  const len = encodeEpbBatch(batch, frames.length, id, out, { truncated: 0 }, segments);
  t.equal(len, expected.length);
  t.ok(Buffer.concat(segments).equals(expected), 'byte for byte');
  const views = segments.filter((s) => s.buffer === batch.data.buffer);
  t.same(views.map((v) => v.length), [EPB_ZERO_COPY_MIN, 65226, EPB_ZERO_COPY_MIN + 3], 'the three large frames are views of the batch');
  t.ok(out.length < 65226, 'the arena never held the super-frame');
});

t.test('the inline nanosecond tick arithmetic equals tsToTicks over the whole range it serves', async (t) => {
  const secs = [0, 1, 65535, 65536, 1_700_000_000, 2 ** 32 - 1, 2 ** 32, 2 ** 33 - 1];
  let seed = 7;
  for (let i = 0; i < 2000; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    secs.push(Math.floor((seed / 2 ** 31) * 2 ** 33));
  }
  let bad = 0;
  const data = Buffer.alloc(0);
  const meta = new Float64Array(CAPTURE_META_COLS);
  const out = Buffer.alloc(64);
  const segments: Buffer[] = [];
  for (const sec of secs) {
    for (const nsec of [0, 1, 999_999_999, (sec * 7919) % 1_000_000_000]) {
      meta.set([0, 0, 0, sec, nsec]);
      encodeEpbBatch({ data, meta }, 1, 0, out, { truncated: 0 }, segments);
      const ref = { high: 0, low: 0 };
      tsToTicks(sec, nsec, TS_RESOLUTION_NANO, ref);
      if (out.readUInt32LE(12) !== ref.high || out.readUInt32LE(16) !== ref.low) bad++;
    }
  }
  t.equal(bad, 0, `${secs.length * 4} timestamps`);
});
