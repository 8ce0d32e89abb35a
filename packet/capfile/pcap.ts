/**
 * Classic pcap ("libpcap format"): draft-ietf-opsawg-pcap (File Header §4, Packet Record §5),
 * with libpcap's savefile rules (sf-pcap.c) for what is accepted.
 *
 *  File header, 24 bytes, in the byte order the magic reveals:
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |          magic: A1B2C3D4 (µs) or A1B23C4D (ns)                |  0
 *  |        major version (2)      |        minor version (4)      |  4
 *  |                thiszone (reserved, 0)                         |  8
 *  |                sigfigs  (reserved, 0)                         | 12
 *  |                            snaplen                            | 16
 *  |FCS len|R|P|     reserved (0)  |           link type           | 20
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  Record header, 16 bytes, then `captured length` bytes of packet data:
 *  |                   timestamp (seconds, unsigned)               |  0
 *  |          timestamp (microseconds or nanoseconds)              |  4
 *  |                     captured packet length                    |  8
 *  |                     original packet length                    | 12
 *
 * Policy (libpcap's, where libpcap and Wireshark disagree):
 * - versions 2.0-2.4 and 543.0 (DG/UX) are read; major < 2 is "archaic" and 2.5+, 3.x are
 *   refused (tshark 4.0 reads 2.5 and 3.0; libpcap does not).
 * - before 2.3 (and in 543.0) the two length fields are swapped; 2.3 files are swapped only
 *   when caplen > len (both tools do this).
 * - the link-type field's reserved bits (LT_RESERVED1, 0x03FF0000) must be zero.
 * - a record whose caplen exceeds the maximum snaplen for its link type (262144, more for
 *   D-Bus, EBHSCR, USBPcap) is refused as damaged. A caplen above the header snaplen but
 *   within that maximum is delivered whole (Wireshark); libpcap would cut it to snaplen.
 * - timestamps are kept raw: a µs field >= 1e6 or ns field >= 1e9 sets `tsInvalid`.
 */
import type { Buffer } from 'node:buffer';
import { ERR, PodspanError } from '../errors.js';
import type { ByteQueue } from './byte-queue.js';
import type { CaptureInterface, PacketRecord } from './types.js';

/** File magics as read big-endian (§4): microsecond and nanosecond timestamps. */
export const PCAP_MAGIC_MICRO = 0xa1b2c3d4;
export const PCAP_MAGIC_NANO = 0xa1b23c4d;
/** Alexey Kuznetzov's "modified" pcap (24-byte record headers): recognised to name it. */
export const PCAP_MAGIC_MODIFIED = 0xa1b2cd34;

export const PCAP_FILE_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;

/** File header field offsets. */
export const PCAP_HDR = {
  MAGIC: 0,
  VERSION_MAJOR: 4,
  VERSION_MINOR: 6,
  THISZONE: 8,
  SIGFIGS: 12,
  SNAPLEN: 16,
  LINKTYPE: 20,
} as const;

/** Record header field offsets. */
export const PCAP_REC = { TS_SEC: 0, TS_FRAC: 4, CAP_LEN: 8, WIRE_LEN: 12 } as const;

/** The link-type field (libpcap pcap/pcap.h LT_* macros). */
export const PCAP_LT = {
  LINKTYPE_MASK: 0x0000ffff,
  RESERVED1_MASK: 0x03ff0000,
  FCS_PRESENT: 0x04000000,
  FCS_LEN_SHIFT: 28,
} as const;

export const PCAP_VERSION_MAJOR = 2;
export const PCAP_VERSION_MINOR = 4;
/** DG/UX tcpdump wrote version 543.0, with lengths in the pre-2.3 order. */
export const PCAP_VERSION_DGUX = 543;

/** libpcap MAXIMUM_SNAPLEN. */
export const PCAP_MAXIMUM_SNAPLEN = 262144;

const LINKTYPE_DBUS = 231;
const LINKTYPE_USBPCAP = 249;
const LINKTYPE_EBHSCR = 279;

/** The largest packet libpcap considers sane for a link type (pcap-common.c max_snaplen_for_dlt). */
export function maxSnapLenForLinkType(linkType: number): number {
  switch (linkType) {
    case LINKTYPE_DBUS:
      return 128 * 1024 * 1024;
    case LINKTYPE_EBHSCR:
      return 8 * 1024 * 1024;
    case LINKTYPE_USBPCAP:
      return 1024 * 1024;
    default:
      return PCAP_MAXIMUM_SNAPLEN;
  }
}

/** How the two length fields of a record are ordered (libpcap `lengths_swapped`). */
const LENGTHS = { NOT_SWAPPED: 0, SWAPPED: 1, MAYBE_SWAPPED: 2 } as const;
type Lengths = (typeof LENGTHS)[keyof typeof LENGTHS];

/** True for the file's first four bytes of a classic pcap (either byte order, µs or ns). */
export function isPcapMagic(m: number): boolean {
  return m === PCAP_MAGIC_MICRO || m === PCAP_MAGIC_NANO || swap32(m) === PCAP_MAGIC_MICRO || swap32(m) === PCAP_MAGIC_NANO;
}

export function swap32(x: number): number {
  return (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;
}

/**
 * Decodes a classic pcap stream from a ByteQueue into a reused PacketRecord. Used by
 * CapfileReader; one instance per file.
 */
export class PcapDecoder {
  iface: CaptureInterface | undefined = undefined;
  private bigEndian = false;
  private nano = false;
  private lengths: Lengths = LENGTHS.NOT_SWAPPED;
  /** Largest caplen accepted: libpcap's per-link-type maximum, bounded by the reader's cap. */
  private maxCapLen = PCAP_MAXIMUM_SNAPLEN;
  private readonly maxRecordLen: number;
  private readonly onInterface: (iface: CaptureInterface) => void;

  constructor(maxRecordLen: number, onInterface: (iface: CaptureInterface) => void) {
    this.maxRecordLen = maxRecordLen;
    this.onInterface = onInterface;
  }

  /** What a cut-off leaves behind, for the truncation message. */
  readonly unit = 'record';

  get headerDone(): boolean {
    return this.iface !== undefined;
  }

  /**
   * Fills `rec` with the next record and returns true, or returns false when the queue
   * holds less than a whole record. Throws PodspanError on an invalid header or record.
   */
  next(q: ByteQueue, rec: PacketRecord): boolean {
    if (this.iface === undefined) {
      const h = q.peek(PCAP_FILE_HEADER_LEN);
      if (h === null) return false;
      this.iface = this.parseHeader(h);
      q.skip(PCAP_FILE_HEADER_LEN);
      this.onInterface(this.iface);
    }
    // ensure() instead of peek(): no view object per record header.
    if (!q.ensure(PCAP_RECORD_HEADER_LEN)) return false;
    const h = q.buf;
    const p = q.pos;
    const be = this.bigEndian;
    const tsSec = be ? h.readUInt32BE(p + PCAP_REC.TS_SEC) : h.readUInt32LE(p + PCAP_REC.TS_SEC);
    const tsFrac = be ? h.readUInt32BE(p + PCAP_REC.TS_FRAC) : h.readUInt32LE(p + PCAP_REC.TS_FRAC);
    let capLen = be ? h.readUInt32BE(p + PCAP_REC.CAP_LEN) : h.readUInt32LE(p + PCAP_REC.CAP_LEN);
    let wireLen = be ? h.readUInt32BE(p + PCAP_REC.WIRE_LEN) : h.readUInt32LE(p + PCAP_REC.WIRE_LEN);
    if (this.lengths === LENGTHS.SWAPPED || (this.lengths === LENGTHS.MAYBE_SWAPPED && capLen > wireLen)) {
      const t = capLen;
      capLen = wireLen;
      wireLen = t;
    }
    if (capLen > this.maxCapLen) {
      const iface = this.iface;
      if (capLen <= maxSnapLenForLinkType(iface.linkType)) {
        throw new PodspanError(
          ERR.CAPFILE_TOO_LARGE,
          `pcap record at byte offset ${q.offset} holds ${capLen} bytes, more than the reader's limit of ${this.maxRecordLen}: raise maxRecordLen`,
          { offset: q.offset, capLen },
        );
      }
      throw new PodspanError(
        ERR.CAPFILE_BAD_RECORD,
        `pcap record at byte offset ${q.offset} claims ${capLen} captured bytes, more than the ${maxSnapLenForLinkType(iface.linkType)} ` +
          `any capture of link type ${iface.linkType} holds (snaplen ${iface.snapLen}): the file is damaged`,
        { offset: q.offset, capLen },
      );
    }
    const total = PCAP_RECORD_HEADER_LEN + capLen;
    if (!q.ensure(total)) return false;
    const start = q.pos + PCAP_RECORD_HEADER_LEN;
    rec.iface = this.iface;
    rec.tsSec = tsSec;
    rec.tsNsec = this.nano ? tsFrac : tsFrac * 1000;
    rec.tsInvalid = this.nano ? tsFrac >= 1_000_000_000 : tsFrac >= 1_000_000;
    rec.capLen = capLen;
    rec.wireLen = wireLen;
    rec.data = q.buf.subarray(start, start + capLen);
    if (rec.comments.length !== 0) rec.comments.length = 0;
    rec.flags = undefined;
    q.skip(total);
    return true;
  }

  private parseHeader(h: Buffer): CaptureInterface {
    const m = h.readUInt32BE(PCAP_HDR.MAGIC);
    const be = m === PCAP_MAGIC_MICRO || m === PCAP_MAGIC_NANO;
    const mm = be ? m : swap32(m);
    if (mm !== PCAP_MAGIC_MICRO && mm !== PCAP_MAGIC_NANO) {
      throw new PodspanError(ERR.CAPFILE_BAD_MAGIC, `not a pcap file: magic 0x${m.toString(16).padStart(8, '0')}`);
    }
    this.bigEndian = be;
    this.nano = mm === PCAP_MAGIC_NANO;
    const major = be ? h.readUInt16BE(PCAP_HDR.VERSION_MAJOR) : h.readUInt16LE(PCAP_HDR.VERSION_MAJOR);
    const minor = be ? h.readUInt16BE(PCAP_HDR.VERSION_MINOR) : h.readUInt16LE(PCAP_HDR.VERSION_MINOR);
    if (major < PCAP_VERSION_MAJOR) {
      throw new PodspanError(
        ERR.CAPFILE_BAD_VERSION,
        `archaic pcap savefile format (version ${major}.${minor}); podspan reads versions 2.0-2.4, as libpcap does`,
        { versionMajor: major, versionMinor: minor },
      );
    }
    if (!((major === PCAP_VERSION_MAJOR && minor <= PCAP_VERSION_MINOR) || (major === PCAP_VERSION_DGUX && minor === 0))) {
      throw new PodspanError(
        ERR.CAPFILE_BAD_VERSION,
        `unsupported pcap savefile version ${major}.${minor}; podspan reads versions 2.0-2.4, as libpcap does`,
        { versionMajor: major, versionMinor: minor },
      );
    }
    if (major === PCAP_VERSION_DGUX || minor < 3) this.lengths = LENGTHS.SWAPPED;
    else if (minor === 3) this.lengths = LENGTHS.MAYBE_SWAPPED;
    else this.lengths = LENGTHS.NOT_SWAPPED;
    const ltField = be ? h.readUInt32BE(PCAP_HDR.LINKTYPE) : h.readUInt32LE(PCAP_HDR.LINKTYPE);
    const reserved = (ltField & PCAP_LT.RESERVED1_MASK) >>> 0;
    if (reserved !== 0) {
      throw new PodspanError(
        ERR.CAPFILE_BAD_HEADER,
        `pcap header link-type field has reserved bits set (0x${reserved.toString(16).padStart(8, '0')}): the file is damaged`,
        { linkTypeField: ltField },
      );
    }
    const linkType = ltField & PCAP_LT.LINKTYPE_MASK;
    const snapLen = be ? h.readUInt32BE(PCAP_HDR.SNAPLEN) : h.readUInt32LE(PCAP_HDR.SNAPLEN);
    this.maxCapLen = Math.min(maxSnapLenForLinkType(linkType), this.maxRecordLen);
    return {
      id: 0,
      section: 0,
      linkType,
      snapLen,
      tsResolPower: this.nano ? 9 : 6,
      tsResolBinary: false,
      tsOffsetSec: 0,
      name: undefined,
      description: undefined,
      pcapVersionMajor: major,
      pcapVersionMinor: minor,
      bigEndian: be,
      pcapThisZone: be ? h.readInt32BE(PCAP_HDR.THISZONE) : h.readInt32LE(PCAP_HDR.THISZONE),
      pcapSigFigs: be ? h.readUInt32BE(PCAP_HDR.SIGFIGS) : h.readUInt32LE(PCAP_HDR.SIGFIGS),
      pcapLinkTypeField: ltField,
      // The FCS length field counts 16-bit words (draft-ietf-opsawg-pcap §4, LinkType and additional information).
      fcsLen: (ltField & PCAP_LT.FCS_PRESENT) !== 0 ? (ltField >>> PCAP_LT.FCS_LEN_SHIFT) * 2 : undefined,
    };
  }
}
