import { Buffer } from 'node:buffer';
import { ERR, PodspanError } from '../errors.js';
import {
  PCAP_FILE_HEADER_LEN,
  PCAP_HDR,
  PCAP_LT,
  PCAP_MAGIC_MICRO,
  PCAP_MAGIC_NANO,
  PCAP_RECORD_HEADER_LEN,
  PCAP_REC,
  PCAP_VERSION_DGUX,
  PCAP_VERSION_MAJOR,
  PCAP_VERSION_MINOR,
} from './pcap.js';

const U32_MAX = 0xffffffff;

export interface PcapWriterOptions {
  /** LINKTYPE_* value, 0..65535. */
  linkType: number;
  snapLen: number;
  /** Nanosecond magic (a1b23c4d) when true (default); microsecond magic otherwise. */
  nanosecond?: boolean;
  /** Big-endian header and records; default false (little-endian). */
  bigEndian?: boolean;
  /** Default 2.4. 2.0-2.2 (and 543.0) write the two length fields in their old, swapped order. */
  versionMajor?: number;
  versionMinor?: number;
  /** Header `thiszone`, default 0 (only set it to reproduce a file). */
  thisZone?: number;
  /** Header `sigfigs`, default 0. */
  sigFigs?: number;
  /** FCS length in bytes (even, 0..30) recorded in the link-type field; default: not recorded. */
  fcsLen?: number;
  /**
   * The whole 32-bit link-type field, to reproduce a file exactly (a reader's
   * `pcapLinkTypeField`). Its low 16 bits must equal `linkType` and its reserved bits
   * (0x03FF0000) be zero; it overrides `fcsLen`.
   */
  linkTypeField?: number;
}

/** What `record()` needs of a packet; a PacketRecord from the reader fits. */
export interface PcapRecordInput {
  tsSec: number;
  tsNsec: number;
  capLen: number;
  wireLen: number;
  /** At least `capLen` bytes; only the first `capLen` are written. */
  data: Buffer;
}

/**
 * Writes classic pcap (draft-ietf-opsawg-pcap; layout in pcap.ts). No I/O: it returns
 * Buffers to hand to a stream or `writev`.
 *
 * Given the header fields a reader reports (CaptureInterface: pcapVersionMajor/Minor,
 * bigEndian, snapLen, pcapThisZone, pcapSigFigs, pcapLinkTypeField) and the records, it
 * reproduces a pcap file byte for byte. Exception: a 2.3 file whose records store the
 * lengths in the pre-2.3 order comes back in the 2.4 order.
 *
 * Timestamps: the microsecond writer rounds nanoseconds down (tsNsec / 1000). Raw values
 * a reader marked `tsInvalid` (ns >= 1e9) are written back as they are when they fit 32 bits.
 */
export class PcapWriter {
  readonly nanosecond: boolean;
  readonly bigEndian: boolean;
  private readonly opts: PcapWriterOptions;
  private readonly versionMajor: number;
  private readonly versionMinor: number;
  /** Old files (before 2.3, and DG/UX 543.0) store len before caplen. */
  private readonly swapLengths: boolean;

  constructor(opts: PcapWriterOptions) {
    this.opts = opts;
    this.nanosecond = opts.nanosecond ?? true;
    this.bigEndian = opts.bigEndian ?? false;
    this.versionMajor = opts.versionMajor ?? PCAP_VERSION_MAJOR;
    this.versionMinor = opts.versionMinor ?? PCAP_VERSION_MINOR;
    const ma = this.versionMajor;
    const mi = this.versionMinor;
    if (!((ma === PCAP_VERSION_MAJOR && mi >= 0 && mi <= PCAP_VERSION_MINOR) || (ma === PCAP_VERSION_DGUX && mi === 0))) {
      throw new PodspanError(ERR.CAPFILE_BAD_VERSION, `cannot write pcap version ${ma}.${mi}: readers accept 2.0-2.4`, {
        versionMajor: ma,
        versionMinor: mi,
      });
    }
    this.swapLengths = ma === PCAP_VERSION_DGUX || mi < 3;
    if (!Number.isInteger(opts.linkType) || opts.linkType < 0 || opts.linkType > PCAP_LT.LINKTYPE_MASK) {
      throw new PodspanError(ERR.CAPFILE_UNREPRESENTABLE, `link type ${opts.linkType} does not fit the 16 bits of a pcap header`);
    }
    if (!isU32(opts.snapLen)) throw new PodspanError(ERR.CAPFILE_UNREPRESENTABLE, `snaplen ${opts.snapLen} is not a 32-bit unsigned value`);
    const fcs = opts.fcsLen;
    if (fcs !== undefined && (!Number.isInteger(fcs) || fcs < 0 || fcs > 30 || fcs % 2 !== 0)) {
      throw new PodspanError(ERR.CAPFILE_UNREPRESENTABLE, `FCS length ${fcs} cannot be recorded in pcap: it holds 0-30 bytes in 16-bit words`);
    }
    const field = opts.linkTypeField;
    if (field !== undefined && (!isU32(field) || (field & PCAP_LT.LINKTYPE_MASK) !== opts.linkType || (field & PCAP_LT.RESERVED1_MASK) !== 0)) {
      throw new PodspanError(
        ERR.CAPFILE_UNREPRESENTABLE,
        `link-type field 0x${field.toString(16)} must hold link type ${opts.linkType} in its low 16 bits and no reserved bits`,
      );
    }
  }

  /** Size of the file header. */
  static readonly HEADER_LEN = PCAP_FILE_HEADER_LEN;
  /** Size of a record header. */
  static readonly RECORD_HEADER_LEN = PCAP_RECORD_HEADER_LEN;

  /** The 24-byte file header, in a new Buffer (caller owns it). */
  header(): Buffer {
    const b = Buffer.allocUnsafe(PCAP_FILE_HEADER_LEN);
    this.encodeHeader(b, 0);
    return b;
  }

  /** Writes the file header into `target` at `offset`; returns the bytes written (24). */
  encodeHeader(target: Buffer, offset: number): number {
    const be = this.bigEndian;
    const o = this.opts;
    const magic = this.nanosecond ? PCAP_MAGIC_NANO : PCAP_MAGIC_MICRO;
    let lt = o.linkType;
    if (o.linkTypeField !== undefined) lt = o.linkTypeField;
    else if (o.fcsLen !== undefined) lt = (lt | PCAP_LT.FCS_PRESENT | ((o.fcsLen / 2) << PCAP_LT.FCS_LEN_SHIFT)) >>> 0;
    w32(target, offset + PCAP_HDR.MAGIC, magic, be);
    w16(target, offset + PCAP_HDR.VERSION_MAJOR, this.versionMajor, be);
    w16(target, offset + PCAP_HDR.VERSION_MINOR, this.versionMinor, be);
    if (be) target.writeInt32BE(o.thisZone ?? 0, offset + PCAP_HDR.THISZONE);
    else target.writeInt32LE(o.thisZone ?? 0, offset + PCAP_HDR.THISZONE);
    w32(target, offset + PCAP_HDR.SIGFIGS, o.sigFigs ?? 0, be);
    w32(target, offset + PCAP_HDR.SNAPLEN, o.snapLen, be);
    w32(target, offset + PCAP_HDR.LINKTYPE, lt, be);
    return PCAP_FILE_HEADER_LEN;
  }

  /**
   * One record for a scatter write: [16-byte header (new Buffer), data view]. The data is
   * NOT copied: `rec.data` must stay unchanged until the write completes. Throws
   * CAPFILE_UNREPRESENTABLE when the time does not fit classic pcap (seconds beyond
   * 2^32 - 1, i.e. after 2106-02-07, or negative).
   */
  record(rec: PcapRecordInput): Buffer[] {
    const h = Buffer.allocUnsafe(PCAP_RECORD_HEADER_LEN);
    this.encodeRecordHeader(rec, h, 0);
    return [h, rec.data.subarray(0, rec.capLen)];
  }

  /** Writes a record header into `target` at `offset`; returns the bytes written (16). */
  encodeRecordHeader(rec: PcapRecordInput, target: Buffer, offset: number): number {
    const { tsSec, tsNsec, capLen, wireLen } = rec;
    if (!isU32(tsSec)) {
      throw new PodspanError(
        ERR.CAPFILE_UNREPRESENTABLE,
        `timestamp ${tsSec}.${String(tsNsec).padStart(9, '0')} cannot be written to classic pcap, whose seconds are 32-bit ` +
          `unsigned (1970 to 2106-02-07): write pcapng instead`,
        { tsSec, tsNsec },
      );
    }
    const frac = this.nanosecond ? tsNsec : Math.floor(tsNsec / 1000);
    if (!isU32(frac)) {
      throw new PodspanError(ERR.CAPFILE_UNREPRESENTABLE, `sub-second timestamp ${tsNsec} ns does not fit a pcap record`, { tsSec, tsNsec });
    }
    if (!isU32(capLen) || !isU32(wireLen) || capLen > rec.data.length) {
      throw new PodspanError(
        ERR.CAPFILE_BAD_RECORD,
        `record has capLen ${capLen}, wireLen ${wireLen} and ${rec.data.length} bytes of data: capLen must be at most the data length`,
        { capLen, wireLen },
      );
    }
    const be = this.bigEndian;
    w32(target, offset + PCAP_REC.TS_SEC, tsSec, be);
    w32(target, offset + PCAP_REC.TS_FRAC, frac, be);
    w32(target, offset + PCAP_REC.CAP_LEN, this.swapLengths ? wireLen : capLen, be);
    w32(target, offset + PCAP_REC.WIRE_LEN, this.swapLengths ? capLen : wireLen, be);
    return PCAP_RECORD_HEADER_LEN;
  }
}

function isU32(x: number): boolean {
  return Number.isInteger(x) && x >= 0 && x <= U32_MAX;
}

function w32(b: Buffer, off: number, v: number, be: boolean): void {
  if (be) b.writeUInt32BE(v, off);
  else b.writeUInt32LE(v, off);
}

function w16(b: Buffer, off: number, v: number, be: boolean): void {
  if (be) b.writeUInt16BE(v, off);
  else b.writeUInt16LE(v, off);
}
