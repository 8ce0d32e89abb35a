import { Buffer } from 'node:buffer';
import { CapfileReader } from '../../../packet/capfile/reader.js';
import { PcapWriter } from '../../../packet/capfile/pcap-writer.js';
import type { PcapWriterOptions } from '../../../packet/capfile/pcap-writer.js';
import type { CapfileReaderOptions } from '../../../packet/capfile/reader.js';
import { isPodspanError } from '../../../packet/errors.js';
import type { PodspanError } from '../../../packet/errors.js';
import type { CaptureInterface, InterfaceStats, SectionInfo } from '../../../packet/capfile/types.js';

/** A record copied out of the reader's reused object. */
export interface RecordCopy {
  n: number;
  ifaceId: number;
  section: number;
  linkType: number;
  tsSec: number;
  tsNsec: number;
  tsInvalid: boolean;
  capLen: number;
  wireLen: number;
  data: Buffer;
  comments: string[];
  flags: number | undefined;
  /** reader.offset right after the record: the file offset of its end. */
  endOffset: number;
}

export interface ReadResult {
  format: string | undefined;
  records: RecordCopy[];
  interfaces: CaptureInterface[];
  stats: InterfaceStats[];
  sections: SectionInfo[];
  /** The PodspanError that ended the read, if any (other exceptions propagate). */
  error: PodspanError | undefined;
}

/** Splits a buffer into chunks: sizes come from `sizeAt(i)`. */
export function chunked(buf: Buffer, sizeAt: (i: number) => number): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0, i = 0; off < buf.length; i++) {
    const n = Math.max(1, sizeAt(i));
    out.push(buf.subarray(off, Math.min(buf.length, off + n)));
    off += n;
  }
  return out;
}


/**
 * Feeds `chunks` to a fresh reader, calling next() after every push (as a streaming user
 * would), then end() and drains it. Records are copied.
 */
export function readChunks(chunks: readonly Buffer[], opts: CapfileReaderOptions = {}): ReadResult {
  const r = new CapfileReader(opts);
  const res: ReadResult = { format: undefined, records: [], interfaces: r.interfaces, stats: r.stats, sections: [], error: undefined };
  r.onSection = (s) => res.sections.push(s);
  const drain = (): void => {
    for (let rec = r.next(); rec !== null; rec = r.next()) {
      res.records.push({
        n: rec.n,
        ifaceId: rec.iface.id,
        section: rec.iface.section,
        linkType: rec.iface.linkType,
        tsSec: rec.tsSec,
        tsNsec: rec.tsNsec,
        tsInvalid: rec.tsInvalid,
        capLen: rec.capLen,
        wireLen: rec.wireLen,
        data: Buffer.from(rec.data),
        comments: [...rec.comments],
        flags: rec.flags,
        endOffset: r.offset,
      });
    }
  };
  try {
    for (const c of chunks) {
      r.push(c);
      drain();
    }
    r.end();
    drain();
  } catch (e) {
    if (!isPodspanError(e)) throw e;
    res.error = e;
  }
  res.format = r.format;
  return res;
}

/** Reads a whole file image in one push. */
export function readAll(buf: Buffer, opts: CapfileReaderOptions = {}): ReadResult {
  return readChunks([buf], opts);
}

/** A Buffer holding `content` at offset 10 of a larger buffer pre-filled with 0xa5. */
export function atOffset10(content: Buffer): Buffer {
  const big = Buffer.alloc(content.length + 20, 0xa5);
  content.copy(big, 10);
  return big.subarray(10, 10 + content.length);
}

/** Hand-built pcapng pieces for tests (the writer only makes what podspan writes). */
export const ng = {
  /** An option: code, length, value padded to 32 bits. */
  opt(code: number, value: Buffer | string, be = false): Buffer {
    const v = typeof value === 'string' ? Buffer.from(value) : value;
    const b = Buffer.alloc(4 + ((v.length + 3) & ~3));
    if (be) {
      b.writeUInt16BE(code, 0);
      b.writeUInt16BE(v.length, 2);
    } else {
      b.writeUInt16LE(code, 0);
      b.writeUInt16LE(v.length, 2);
    }
    v.copy(b, 4);
    return b;
  },
  endOpt(): Buffer {
    return Buffer.alloc(4);
  },
  /** A block: type, total length, body padded to 32 bits, total length. */
  block(type: number, body: Buffer, be = false): Buffer {
    const padded = (body.length + 3) & ~3;
    const total = 12 + padded;
    const b = Buffer.alloc(total);
    if (be) {
      b.writeUInt32BE(type >>> 0, 0);
      b.writeUInt32BE(total, 4);
      b.writeUInt32BE(total, total - 4);
    } else {
      b.writeUInt32LE(type >>> 0, 0);
      b.writeUInt32LE(total, 4);
      b.writeUInt32LE(total, total - 4);
    }
    body.copy(b, 8);
    return b;
  },
  u32(...vals: number[]): Buffer {
    const b = Buffer.alloc(vals.length * 4);
    vals.forEach((v, i) => b.writeUInt32LE(v >>> 0, i * 4));
    return b;
  },
  u32be(...vals: number[]): Buffer {
    const b = Buffer.alloc(vals.length * 4);
    vals.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4));
    return b;
  },
  shb(opts: { be?: boolean; major?: number; minor?: number; options?: Buffer[] } = {}): Buffer {
    const be = opts.be ?? false;
    const body = Buffer.alloc(16);
    if (be) {
      body.writeUInt32BE(0x1a2b3c4d, 0);
      body.writeUInt16BE(opts.major ?? 1, 4);
      body.writeUInt16BE(opts.minor ?? 0, 6);
    } else {
      body.writeUInt32LE(0x1a2b3c4d, 0);
      body.writeUInt16LE(opts.major ?? 1, 4);
      body.writeUInt16LE(opts.minor ?? 0, 6);
    }
    body.writeBigInt64LE(-1n, 8);
    return ng.block(0x0a0d0d0a, Buffer.concat([body, ...(opts.options ?? [])]), be);
  },
  idb(linkType: number, snapLen: number, options: Buffer[] = [], be = false): Buffer {
    const body = Buffer.alloc(8);
    if (be) {
      body.writeUInt16BE(linkType, 0);
      body.writeUInt32BE(snapLen, 4);
    } else {
      body.writeUInt16LE(linkType, 0);
      body.writeUInt32LE(snapLen, 4);
    }
    return ng.block(1, Buffer.concat([body, ...options]), be);
  },
  epb(ifaceId: number, tsHigh: number, tsLow: number, data: Buffer, opts: { wireLen?: number; options?: Buffer[]; be?: boolean } = {}): Buffer {
    const be = opts.be ?? false;
    const head = (be ? ng.u32be : ng.u32)(ifaceId, tsHigh, tsLow, data.length, opts.wireLen ?? data.length);
    const padded = Buffer.alloc((data.length + 3) & ~3);
    data.copy(padded);
    return ng.block(6, Buffer.concat([head, padded, ...(opts.options ?? [])]), be);
  },
};

/** Writer options that reproduce the header a reader reported. */
export function sameHeader(i: CaptureInterface): PcapWriterOptions {
  return {
    linkType: i.linkType,
    snapLen: i.snapLen,
    nanosecond: i.tsResolPower === 9,
    bigEndian: i.bigEndian,
    versionMajor: i.pcapVersionMajor,
    versionMinor: i.pcapVersionMinor,
    ...(i.pcapThisZone !== undefined ? { thisZone: i.pcapThisZone } : {}),
    ...(i.pcapSigFigs !== undefined ? { sigFigs: i.pcapSigFigs } : {}),
    ...(i.pcapLinkTypeField !== undefined ? { linkTypeField: i.pcapLinkTypeField } : {}),
  };
}

export function writePcap(opts: PcapWriterOptions, records: readonly RecordCopy[]): Buffer {
  const w = new PcapWriter(opts);
  return Buffer.concat([w.header(), ...records.flatMap((r) => w.record(r))]);
}

/** Deterministic, so a failing chunking can be replayed from its seed. */
export { prng } from '../../../packet/synth/prng.js';
