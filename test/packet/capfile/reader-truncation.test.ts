import t from 'tap';
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { PcapWriter } from '../../../packet/capfile/pcap-writer.js';
import { CapfileReader } from '../../../packet/capfile/reader.js';
import { PcapngWriter } from '../../../packet/capfile/pcapng-writer.js';
import { ERR, isPodspanError } from '../../../packet/errors.js';
import type { PodspanError } from '../../../packet/errors.js';
import { CORPUS_DIR, corpusFiles, requireCorpus } from '../../helpers/corpus.js';
import { chunked, ng, prng, readAll, readChunks } from './capfile-helpers.js';

// A cut-off file yields every complete record, then CAPFILE_TRUNCATED with the count in
// details.records (tcpdump prints the packets, then "truncated dump file"). A cut exactly
// at a block or record boundary is a clean end: a capture still being written looks so.

interface Layout {
  file: Buffer;
  /** Where the file header (pcap) or first SHB (pcapng) ends. */
  headerEnd: number;
  /** Offsets at which the input may end cleanly. */
  boundaries: number[];
  /** End offsets of the packet records, in order. */
  packetEnds: number[];
}

function pcapLayout(): Layout {
  const w = new PcapWriter({ linkType: 1, snapLen: 65535, nanosecond: true });
  const parts: Buffer[] = [w.header()];
  const boundaries = [24];
  const packetEnds: number[] = [];
  let off = 24;
  for (const len of [60, 0, 1, 1514, 3]) {
    const rec = w.record({ tsSec: 1000 + len, tsNsec: len, capLen: len, wireLen: len, data: Buffer.alloc(len, len & 0xff) });
    for (const b of rec) {
      parts.push(b);
      off += b.length;
    }
    boundaries.push(off);
    packetEnds.push(off);
  }
  return { file: Buffer.concat(parts), headerEnd: 24, boundaries, packetEnds };
}

function pcapngLayout(): Layout {
  const w = new PcapngWriter();
  const blocks: Array<{ bytes: Buffer[]; packet: boolean }> = [];
  const add = (b: Buffer | Buffer[], packet = false): void => {
    blocks.push({ bytes: Array.isArray(b) ? b : [b], packet });
  };
  add(w.sectionHeader({ userAppl: 'podspan', os: 'linux', comment: 'truncation test' }));
  const { id, block } = w.addInterface({ linkType: 1, snapLen: 0, name: 'veth0' });
  add(block);
  add(w.packet(id, { tsSec: 1, tsNsec: 1, capLen: 61, wireLen: 61, data: Buffer.alloc(61, 1) }, { comments: ['first'] }), true);
  add(w.stats({ ifaceId: id, tsSec: 2, tsNsec: 0, ifRecv: 10n, ifDrop: 0n, filterAccept: undefined, osDrop: undefined, usrDeliv: undefined, comments: [] }));
  add(ng.block(0x00000bad, Buffer.concat([ng.u32(32473), Buffer.from('custom')])));
  add(ng.block(3, Buffer.concat([ng.u32(5), Buffer.from('spb!!\0\0\0')])), true);
  add(w.packet(id, { tsSec: 3, tsNsec: 0, capLen: 0, wireLen: 0, data: Buffer.alloc(0) }), true);
  add(ng.block(4, Buffer.alloc(4)));
  add(w.sectionHeader());
  add(w.addInterface({ linkType: 1, snapLen: 0 }).block);
  add(w.packet(0, { tsSec: 4, tsNsec: 0, capLen: 1500, wireLen: 1500, data: Buffer.alloc(1500, 4) }, { flags: 1 }), true);
  const boundaries: number[] = [];
  const packetEnds: number[] = [];
  let off = 0;
  for (const b of blocks) {
    for (const x of b.bytes) off += x.length;
    boundaries.push(off);
    if (b.packet) packetEnds.push(off);
  }
  return { file: Buffer.concat(blocks.flatMap((b) => b.bytes)), headerEnd: boundaries[0]!, boundaries, packetEnds };
}

for (const [name, layout] of [
  ['pcap', pcapLayout()],
  ['pcapng', pcapngLayout()],
] as const) {
  t.test(`a ${name} file cut at every byte offset gives its complete records, then CAPFILE_TRUNCATED with their count`, async (t) => {
    const { file, headerEnd, boundaries, packetEnds } = layout;
    const whole = readAll(file);
    t.equal(whole.error, undefined);
    t.equal(whole.records.length, packetEnds.length);
    const rnd = prng(file.length);
    const bad: string[] = [];
    for (let cut = 0; cut <= file.length; cut++) {
      const input = file.subarray(0, cut);
      // Alternate whole pushes and random chunking: the cut must not depend on chunking.
      const r = cut % 2 === 0 ? readAll(input) : readChunks(chunked(input, () => 1 + Math.floor(rnd() * 40)));
      const complete = packetEnds.filter((e) => e <= cut).length;
      const lastBoundary = Math.max(0, ...boundaries.filter((b) => b <= cut));
      let want: string;
      if (cut === 0) want = `0 ${ERR.CAPFILE_EMPTY}`;
      else if (cut < headerEnd) want = `0 ${ERR.CAPFILE_TRUNCATED} 0`;
      else if (boundaries.includes(cut)) want = `${complete} none`;
      else want = `${complete} ${ERR.CAPFILE_TRUNCATED} ${complete}@${lastBoundary}`;
      let got = `${r.records.length} ${r.error?.code ?? 'none'}`;
      if (r.error?.code === ERR.CAPFILE_TRUNCATED) got += cut < headerEnd ? ` ${r.error.details.records}` : ` ${r.error.details.records}@${r.error.details.offset}`;
      if (got !== want) bad.push(`cut ${cut}: got ${got}, want ${want}`);
      if (r.error?.code === ERR.CAPFILE_TRUNCATED && cut >= headerEnd) {
        const m = new RegExp(`^capture file cut off after ${complete} complete records \\(partial (record|block) at byte offset ${lastBoundary}`);
        if (!m.test(r.error.message)) bad.push(`cut ${cut}: message "${r.error.message}"`);
      }
      for (let i = 0; i < r.records.length; i++) {
        if (!r.records[i]!.data.equals(whole.records[i]!.data)) bad.push(`cut ${cut}: record ${i + 1} data differs`);
      }
    }
    t.same(bad.slice(0, 10), [], `${file.length + 1} cuts`);
  });
}

/** Counts the records of `input` without copying them; stops at the first PodspanError. */
function countRecords(input: Buffer): { records: number; error: PodspanError | undefined } {
  const r = new CapfileReader();
  r.push(input);
  r.end();
  try {
    while (r.next() !== null);
    return { records: r.records, error: undefined };
  } catch (e) {
    if (!isPodspanError(e)) throw e;
    return { records: r.records, error: e };
  }
}

t.test('corpus captures cut at many offsets give the complete records before the cut, then CAPFILE_TRUNCATED', async (t) => {
  if (!requireCorpus(t)) return;
  const rnd = prng(0xc07);
  let cuts = 0;
  for (const f of corpusFiles()) {
    const buf = readFileSync(f);
    const whole = readAll(buf);
    if (whole.error) continue; // files the reader refuses (libpcap's must-reject set)
    const ends = whole.records.map((r) => r.endOffset);
    const offsets = new Set<number>();
    if (buf.length <= 2048) for (let c = 0; c < buf.length; c++) offsets.add(c);
    else {
      for (let k = 0; k < 40; k++) offsets.add(Math.floor(rnd() * buf.length));
      for (const e of ends.slice(0, 20)) for (const d of [-1, 0, 1]) if (e + d >= 0 && e + d < buf.length) offsets.add(e + d);
    }
    const bad: string[] = [];
    for (const cut of offsets) {
      const r = countRecords(buf.subarray(0, cut));
      const complete = ends.filter((e) => e <= cut).length;
      if (r.records !== complete) bad.push(`cut ${cut}: ${r.records} records, want ${complete}`);
      const code = r.error?.code;
      if (cut === 0 ? code !== ERR.CAPFILE_EMPTY : code !== undefined && code !== ERR.CAPFILE_TRUNCATED) bad.push(`cut ${cut}: ${code}`);
      if (code === ERR.CAPFILE_TRUNCATED && r.error!.details.records !== complete) bad.push(`cut ${cut}: details.records ${r.error!.details.records}`);
      // A pcap can end cleanly only at a record boundary (pcapng also between other blocks).
      if (code === undefined && cut > 0 && whole.format === 'pcap' && cut !== 24 && !ends.includes(cut)) bad.push(`cut ${cut}: clean end mid-record`);
      cuts++;
    }
    t.same(bad.slice(0, 5), [], `${relative(CORPUS_DIR, f)}: ${offsets.size} cuts`);
  }
  t.ok(cuts > 10000, `${cuts} cuts in all`);
});
