import t from 'tap';

import { encodeEpbBatch, epbBatchBytes } from '../../agent/export/pcapng-batch.js';
import { CAPTURE_META, CAPTURE_META_COLS, LiveCapture, NATIVE_ERR, epbPrefixBytes, type CaptureBatch, type CaptureOptions } from '../../native/index.js';
import { PcapngWriter } from '../../packet/capfile/pcapng-writer.js';
import { CapfileReader } from '../../packet/capfile/reader.js';
import { makeVethPair, sendUdp } from './netns-fixture.js';

// Layout 'epb': the capture thread writes every frame as a complete pcapng Enhanced Packet
// Block. Two captures of the same traffic on the same veth, one plain and one 'epb': every
// batch's used bytes parse with packet/capfile's reader (behind an SHB and IDBs), each block
// carries the row's lengths and timestamp, the frames are byte-identical to the plain
// layout's, the blocks are byte-identical to what the JS encoder (encodeEpbBatch) makes of
// the same rows, and every prefix of n blocks (what -c writes) parses to exactly n packets.

const PORT = 40011;
const SNAP_LEN = 600; // datagrams are 1..1400 bytes: some cut, every padding length
const IFACE_ID = 1;

interface Seen {
  frames: Buffer[];
  truncatedByNative: number;
  truncatedByRows: number;
  batches: number;
  problems: string[];
  prefixChecks: number;
}

let prefix: Buffer | undefined;
function pcapngPrefix(): Buffer {
  if (prefix !== undefined) return prefix;
  const w = new PcapngWriter();
  const parts = [w.sectionHeader({ userAppl: 'test' })];
  for (let i = 0; i <= IFACE_ID; i++) parts.push(w.addInterface({ linkType: 1, snapLen: SNAP_LEN, name: `if${i}`, tsResolPower: 9 }).block);
  prefix = Buffer.concat(parts);
  return prefix;
}

/** Parses `blocks` (EPBs only) after an SHB and IDBs; returns the records (copied). */
function readEpbs(blocks: Buffer): Array<{ iface: number; tsSec: number; tsNsec: number; capLen: number; wireLen: number; data: Buffer }> {
  const r = new CapfileReader();
  r.push(pcapngPrefix());
  r.push(blocks);
  r.end();
  const out = [];
  for (let rec = r.next(); rec !== null && rec !== undefined; rec = r.next()) {
    out.push({ iface: rec.iface.id, tsSec: rec.tsSec, tsNsec: rec.tsNsec, capLen: rec.capLen, wireLen: rec.wireLen, data: Buffer.from(rec.data) });
  }
  return out;
}

function checkEpbBatch(b: CaptureBatch, seen: Seen): void {
  seen.batches++;
  seen.truncatedByNative += b.truncated;
  const used = b.data.subarray(0, b.bytes);
  const recs = readEpbs(used);
  if (recs.length !== b.count) seen.problems.push(`batch ${seen.batches}: ${recs.length} blocks parsed, ${b.count} rows`);
  let end = 0;
  for (let i = 0; i < b.count; i++) {
    const r = i * CAPTURE_META_COLS;
    const off = b.meta[r + CAPTURE_META.OFFSET]!;
    const capLen = b.meta[r + CAPTURE_META.CAP_LEN]!;
    const wireLen = b.meta[r + CAPTURE_META.WIRE_LEN]!;
    const pad = (4 - (capLen % 4)) % 4;
    if (off !== end + 28) seen.problems.push(`row ${i}: frame at ${off}, block at ${end}`);
    if (b.data.readUInt32LE(end) !== 6) seen.problems.push(`row ${i}: block type ${b.data.readUInt32LE(end)}`);
    const blockLen = b.data.readUInt32LE(end + 4);
    if (blockLen !== 28 + capLen + pad + 4) seen.problems.push(`row ${i}: block length ${blockLen}, capLen ${capLen}`);
    if (b.data.readUInt32LE(end + blockLen - 4) !== blockLen) seen.problems.push(`row ${i}: trailing length differs`);
    for (let k = 0; k < pad; k++) if (b.data[off + capLen + k] !== 0) seen.problems.push(`row ${i}: padding byte ${k} not zero`);
    if (capLen < wireLen) seen.truncatedByRows++;
    const frame = b.data.subarray(off, off + capLen);
    seen.frames.push(Buffer.from(frame));
    const rec = recs[i];
    if (rec === undefined) continue;
    if (rec.iface !== IFACE_ID) seen.problems.push(`row ${i}: interface ${rec.iface}`);
    if (rec.tsSec !== b.meta[r + CAPTURE_META.TS_SEC]! || rec.tsNsec !== b.meta[r + CAPTURE_META.TS_NSEC]!) {
      seen.problems.push(`row ${i}: block time ${rec.tsSec}.${rec.tsNsec}, row ${b.meta[r + CAPTURE_META.TS_SEC]!}.${b.meta[r + CAPTURE_META.TS_NSEC]!}`);
    }
    if (rec.capLen !== capLen || rec.wireLen !== wireLen) seen.problems.push(`row ${i}: block lengths ${rec.capLen}/${rec.wireLen}, row ${capLen}/${wireLen}`);
    if (!rec.data.equals(frame)) seen.problems.push(`row ${i}: block data differs from the row's frame`);
    end += blockLen;
  }
  if (end !== b.bytes) seen.problems.push(`batch ${seen.batches}: blocks end at ${end}, bytes ${b.bytes}`);
  // The JS encoder, fed the same rows, writes the same bytes.
  const out = Buffer.alloc(epbBatchBytes(b.bytes, b.count));
  const segments: Buffer[] = [];
  encodeEpbBatch(b, b.count, IFACE_ID, out, { truncated: 0 }, segments);
  if (!Buffer.concat(segments).equals(used)) seen.problems.push(`batch ${seen.batches}: differs from encodeEpbBatch`);
  // A prefix of n blocks (what -c COUNT writes of a cut batch) is n whole blocks.
  for (const n of [1, b.count >> 1, b.count - 1]) {
    if (n <= 0 || n >= b.count) continue;
    const got = readEpbs(b.data.subarray(0, epbPrefixBytes(b, n))).length;
    if (got !== n) seen.problems.push(`batch ${seen.batches}: prefix of ${n} parses to ${got}`);
    seen.prefixChecks++;
  }
}

for (const [name, extra] of [
  ['large slots', {}],
  ['large slots, batches coalesced for 30 ms', { coalesceMs: 30 }],
  ['data-bound slots (2 KiB: frames spill and open the next slot)', { batchBytes: 2048 }],
  ['row-bound slots (7 rows)', { batchRows: 7 }],
] as const) {
  t.test(`real netns veth, ${name}: layout 'epb' slots are valid pcapng EPBs with the plain layout's frames`, async (t) => {
    const pair = await makeVethPair(t, 'psl-ep-', 70);
    const filter = `udp and dst port ${PORT}`;
    const base: CaptureOptions = { iface: pair.ifB, netns: pair.nsB, filter, timeoutMs: 5, snapLen: SNAP_LEN, ...extra };
    const plain = LiveCapture.open(base);
    t.teardown(() => plain.close());
    const epb = LiveCapture.open({ ...base, layout: 'epb', epbInterfaceId: 7 });
    t.teardown(() => epb.close());
    t.equal(plain.layout, 'plain');
    t.equal(epb.layout, 'epb');
    epb.setEpbInterfaceId(IFACE_ID); // what the agent does once its IDB is written

    const plainFrames: Buffer[] = [];
    plain.onBatch((b) => {
      for (let i = 0; i < b.count; i++) {
        const r = i * CAPTURE_META_COLS;
        const off = b.meta[r + CAPTURE_META.OFFSET]!;
        plainFrames.push(Buffer.from(b.data.subarray(off, off + b.meta[r + CAPTURE_META.CAP_LEN]!)));
      }
    });
    const seen: Seen = { frames: [], truncatedByNative: 0, truncatedByRows: 0, batches: 0, problems: [], prefixChecks: 0 };
    epb.onBatch((b) => checkEpbBatch(b, seen));
    plain.start();
    epb.start();
    t.throws(() => epb.setEpbInterfaceId(2), { code: NATIVE_ERR.NATIVE_STATE }, 'the interface id is fixed once started');

    const sent = await sendUdp(pair.nsA, pair.ipB, PORT, 1500, 20_000);
    // Small slots mean hundreds of batches, each checked at length here: allow time on a busy machine.
    const deadline = Date.now() + 20_000;
    while ((seen.frames.length < sent || plainFrames.length < sent) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const s = epb.stats();
    await Promise.all([plain.close(), epb.close()]);

    t.equal(seen.frames.length, sent, `every frame in an EPB (${seen.batches} batches)`);
    t.equal(plainFrames.length, sent, 'the plain capture saw them all too');
    t.same(seen.problems.slice(0, 10), [], 'every block right: type, lengths, zero padding, interface, timestamp, frame, same bytes as encodeEpbBatch');
    t.equal(
      seen.frames.findIndex((f, i) => !f.equals(plainFrames[i]!)),
      -1,
      'frames byte-identical to the plain layout, same order',
    );
    t.ok(seen.truncatedByRows > 0 && seen.truncatedByRows < sent, `some frames cut by the snap length (${seen.truncatedByRows})`);
    t.equal(seen.truncatedByNative, seen.truncatedByRows, 'batch.truncated counts the rows with capLen < wireLen');
    t.ok(seen.prefixChecks > 0 || seen.batches === sent, `prefixes checked (${seen.prefixChecks})`);
    t.equal(s.ringFull, 0);
  });
}

t.test("layout and epbInterfaceId are checked before anything opens", async (t) => {
  t.throws(() => LiveCapture.open({ iface: 'lo', layout: 'pcap' as 'epb' }), { code: NATIVE_ERR.NATIVE_ARG });
  t.throws(() => LiveCapture.open({ iface: 'lo', layout: 'epb', epbInterfaceId: -1 }), { code: NATIVE_ERR.NATIVE_ARG });
  t.throws(() => LiveCapture.open({ iface: 'lo', layout: 'epb', epbInterfaceId: 2 ** 32 }), { code: NATIVE_ERR.NATIVE_ARG });
  const cap = LiveCapture.open({ iface: 'lo', layout: 'epb', snapLen: 100 });
  t.teardown(() => cap.close());
  t.throws(() => cap.setEpbInterfaceId(1.5), { code: NATIVE_ERR.NATIVE_ARG });
  t.equal(cap.layout, 'epb');
});
