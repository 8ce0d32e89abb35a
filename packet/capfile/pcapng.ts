/**
 * pcapng: draft-ietf-opsawg-pcapng (General Block Structure §3.1, Options §3.5, SHB §4.1,
 * IDB §4.2, EPB §4.3, SPB §4.4, NRB §4.5, ISB §4.6, Custom Block §4.8, DSB §4.7,
 * obsolete Packet Block Appendix A).
 *
 *  Every block, in the byte order of its section (fixed by the SHB's byte-order magic):
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |                          Block Type                           |  0
 *  +---------------------------------------------------------------+
 *  |                      Block Total Length                       |  4
 *  +---------------------------------------------------------------+
 *  /                          Block Body                           /  8
 *  /              variable length, padded to 32 bits               /
 *  +---------------------------------------------------------------+
 *  |                      Block Total Length                       |  total - 4
 *  +---------------------------------------------------------------+
 *
 *  Options (at the end of most bodies), each padded to 32 bits, ended by code 0:
 *  |      Option Code              |         Option Length         |
 *  /                       Option Value (padded)                   /
 *
 *  SHB body: byte-order magic 1A2B3C4D | major u16 | minor u16 | section length i64 | options
 *  IDB body: link type u16 | reserved u16 | snaplen u32 | options
 *  EPB body: interface id | ts high | ts low | captured len | original len | data (padded) | options
 *  SPB body: original len | data (padded); captured len = min(original, snaplen of interface 0)
 *  ISB body: interface id | ts high | ts low | options
 *
 * Policy:
 * - SHB versions 1.0 and 1.2 are read (libpcap and Wireshark both treat 1.2 as 1.0, and
 *   both refuse 0.1 and 1.1); anything else is CAPFILE_BAD_VERSION.
 * - Block total lengths must be >= 12, a multiple of 4, at most `maxBlockLen` (16 MiB by
 *   default, as libpcap) and equal in header and trailer; options must fit their block.
 * - Sections may switch byte order; interface ids restart at 0 in each section.
 * - Unlike libpcap, IDBs with different link types or snaplens are read (as Wireshark),
 *   and an EPB caplen above its interface's snaplen is delivered whole (it is bounded by
 *   the block anyway).
 * - A packet block for an interface its section has not described is CAPFILE_NO_INTERFACE
 *   (Wireshark refuses it too); an ISB for one is still reported, with µs times.
 * - Timestamps: see timestamp.ts (exact; sub-nanosecond ticks truncated).
 * - Name resolution, decryption secrets, custom (0x00000BAD, 0x40000BAD), systemd journal
 *   and unknown blocks are skipped whole, by their validated total length.
 */
import type { Buffer } from 'node:buffer';
import { ERR, PodspanError } from '../errors.js';
import type { ByteQueue } from './byte-queue.js';
import { TSRESOL_MAX_BINARY, TSRESOL_MAX_DECIMAL, TS_RESOLUTION_MICRO, TsResolution, ticksToTs } from './timestamp.js';
import type { CaptureInterface, InterfaceStats, PacketRecord, SectionInfo } from './types.js';

/** Block types (the draft's Block Type Codes registry). */
export const PCAPNG_BLOCK = {
  SHB: 0x0a0d0d0a,
  IDB: 0x00000001,
  /** Obsolete Packet Block (16-bit interface id); still read. */
  PB: 0x00000002,
  SPB: 0x00000003,
  NRB: 0x00000004,
  ISB: 0x00000005,
  EPB: 0x00000006,
  SJE: 0x00000009,
  DSB: 0x0000000a,
  CB_COPY: 0x00000bad,
  CB_NO_COPY: 0x40000bad,
} as const;

/** SHB byte-order magic as written. */
export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
export const PCAPNG_VERSION_MAJOR = 1;
export const PCAPNG_VERSION_MINOR = 0;

/** Block header (type + total length) and trailer (total length). */
export const PCAPNG_BLOCK_HEADER_LEN = 8;
export const PCAPNG_BLOCK_TRAILER_LEN = 4;
export const PCAPNG_MIN_BLOCK_LEN = 12;
export const PCAPNG_SHB_BODY_LEN = 16;
export const PCAPNG_IDB_BODY_LEN = 8;
export const PCAPNG_EPB_BODY_LEN = 20;
export const PCAPNG_PB_BODY_LEN = 20;
export const PCAPNG_SPB_BODY_LEN = 4;
export const PCAPNG_ISB_BODY_LEN = 12;
export const PCAPNG_OPTION_HEADER_LEN = 4;

/** libpcap's INITIAL_MAX_BLOCKSIZE: the default cap on one block. */
export const PCAPNG_DEFAULT_MAX_BLOCK_LEN = 16 * 1024 * 1024;

/** Body field offsets (relative to the block start, i.e. including the 8-byte header). */
export const PCAPNG_SHB = { BYTE_ORDER_MAGIC: 8, VERSION_MAJOR: 12, VERSION_MINOR: 14, SECTION_LENGTH: 16, OPTIONS: 24 } as const;
export const PCAPNG_IDB = { LINK_TYPE: 8, RESERVED: 10, SNAPLEN: 12, OPTIONS: 16 } as const;
export const PCAPNG_EPB = { INTERFACE_ID: 8, TS_HIGH: 12, TS_LOW: 16, CAP_LEN: 20, WIRE_LEN: 24, DATA: 28 } as const;
export const PCAPNG_PB = { INTERFACE_ID: 8, DROPS_COUNT: 10, TS_HIGH: 12, TS_LOW: 16, CAP_LEN: 20, WIRE_LEN: 24, DATA: 28 } as const;
export const PCAPNG_SPB = { WIRE_LEN: 8, DATA: 12 } as const;
export const PCAPNG_ISB = { INTERFACE_ID: 8, TS_HIGH: 12, TS_LOW: 16, OPTIONS: 20 } as const;

/** Option codes; the same number means different options in different blocks (§3.5, §4). */
export const PCAPNG_OPT = {
  END_OF_OPT: 0,
  COMMENT: 1,
  SHB_HARDWARE: 2,
  SHB_OS: 3,
  SHB_USERAPPL: 4,
  IF_NAME: 2,
  IF_DESCRIPTION: 3,
  IF_TSRESOL: 9,
  IF_FCSLEN: 13,
  IF_TSOFFSET: 14,
  EPB_FLAGS: 2,
  ISB_STARTTIME: 2,
  ISB_ENDTIME: 3,
  ISB_IFRECV: 4,
  ISB_IFDROP: 5,
  ISB_FILTERACCEPT: 6,
  ISB_OSDROP: 7,
  ISB_USRDELIV: 8,
} as const;

/** Rounds a length up to the 32-bit boundary every pcapng field is padded to. */
export function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** What the decoder reports besides packets (CapfileReader implements it). */
export interface PcapngEvents {
  section(info: SectionInfo): void;
  interface(iface: CaptureInterface): void;
  stats(stats: InterfaceStats): void;
}

/** Walks the options of one block without allocating. */
class OptionCursor {
  private buf: Buffer | undefined = undefined;
  private pos = 0;
  private end = 0;
  private be = false;
  private what = '';
  private offset = 0;
  code = 0;
  start = 0;
  len = 0;

  reset(buf: Buffer, pos: number, end: number, be: boolean, what: string, offset: number): void {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    this.be = be;
    this.what = what;
    this.offset = offset;
  }

  /** Moves to the next option; false at opt_endofopt or the end of the options area. */
  next(): boolean {
    const b = this.buf!;
    const left = this.end - this.pos;
    if (left <= 0) return false;
    if (left < PCAPNG_OPTION_HEADER_LEN) {
      throw badBlock(`${this.what} at byte offset ${this.offset} ends with ${left} stray bytes where an option header belongs`, this.offset);
    }
    this.code = this.be ? b.readUInt16BE(this.pos) : b.readUInt16LE(this.pos);
    this.len = this.be ? b.readUInt16BE(this.pos + 2) : b.readUInt16LE(this.pos + 2);
    if (this.code === PCAPNG_OPT.END_OF_OPT) {
      this.pos = this.end;
      return false;
    }
    if (this.len > left - PCAPNG_OPTION_HEADER_LEN) {
      throw badBlock(
        `${this.what} at byte offset ${this.offset} has option ${this.code} of length ${this.len}, ` +
          `which runs past the end of the block (${left - PCAPNG_OPTION_HEADER_LEN} bytes left)`,
        this.offset,
      );
    }
    this.start = this.pos + PCAPNG_OPTION_HEADER_LEN;
    // The last option's padding may be missing; never step past the end.
    this.pos = Math.min(this.start + pad4(this.len), this.end);
    return true;
  }

  string(): string {
    let e = this.start + this.len;
    const b = this.buf!;
    // Some writers NUL-terminate strings; the spec's strings are not.
    while (e > this.start && b[e - 1] === 0) e--;
    return b.toString('utf8', this.start, e);
  }

  u32(): number {
    return this.be ? this.buf!.readUInt32BE(this.start) : this.buf!.readUInt32LE(this.start);
  }

  u64(): bigint {
    return this.be ? this.buf!.readBigUInt64BE(this.start) : this.buf!.readBigUInt64LE(this.start);
  }

  i64(): bigint {
    return this.be ? this.buf!.readBigInt64BE(this.start) : this.buf!.readBigInt64LE(this.start);
  }

  /** A 64-bit timestamp option (isb_starttime/endtime): high word first, in section order. */
  tsHigh(): number {
    return this.u32();
  }

  tsLow(): number {
    return this.be ? this.buf!.readUInt32BE(this.start + 4) : this.buf!.readUInt32LE(this.start + 4);
  }

  byte(): number {
    return this.buf!.readUInt8(this.start);
  }
}

function badBlock(message: string, offset: number): PodspanError {
  return new PodspanError(ERR.CAPFILE_BAD_BLOCK, message, { offset });
}

export interface PcapngDecoderLimits {
  maxBlockLen: number;
  maxInterfaces: number;
}

/**
 * Decodes a pcapng stream from a ByteQueue into a reused PacketRecord. Used by
 * CapfileReader; one instance per file (all its sections).
 */
export class PcapngDecoder {
  /** What a cut-off leaves behind, for the truncation message. */
  readonly unit = 'block';
  /** Index of the current section; -1 before the first SHB. */
  section = -1;
  private be = false;
  /** Interfaces of the current section, by id. */
  private ifaces: CaptureInterface[] = [];
  private resolutions: TsResolution[] = [];
  private interfaceCount = 0;
  private readonly opt = new OptionCursor();
  private readonly limits: PcapngDecoderLimits;
  private readonly events: PcapngEvents;
  /** Scratch target for ISB time conversions. */
  private readonly ts = { tsSec: 0, tsNsec: 0, tsInvalid: false };

  constructor(limits: PcapngDecoderLimits, events: PcapngEvents) {
    this.limits = limits;
    this.events = events;
  }

  get headerDone(): boolean {
    return this.section >= 0;
  }

  /**
   * Fills `rec` with the next packet (EPB, SPB or PB) and returns true, handling every
   * other block on the way; returns false when the queue holds less than a whole block.
   * Throws PodspanError on invalid input.
   */
  next(q: ByteQueue, rec: PacketRecord): boolean {
    for (;;) {
      // ensure() instead of peek(): no view object for the block header.
      if (!q.ensure(PCAPNG_MIN_BLOCK_LEN)) return false;
      const h = q.buf;
      const p = q.pos;
      const offset = q.offset;
      let be = this.be;
      const type = be ? h.readUInt32BE(p) : h.readUInt32LE(p);
      if (type === PCAPNG_BLOCK.SHB) {
        // The type is a palindrome; the byte-order magic decides how to read the rest.
        const bom = h.readUInt32BE(p + PCAPNG_SHB.BYTE_ORDER_MAGIC);
        if (bom === PCAPNG_BYTE_ORDER_MAGIC) be = true;
        else if (bom === 0x4d3c2b1a) be = false;
        else {
          throw new PodspanError(
            ERR.CAPFILE_BAD_MAGIC,
            `pcapng section header at byte offset ${offset} has byte-order magic 0x${bom.toString(16).padStart(8, '0')}, not 0x1a2b3c4d: the file is damaged`,
            { offset },
          );
        }
      } else if (this.section < 0) {
        throw new PodspanError(ERR.CAPFILE_BAD_MAGIC, 'not a pcapng file: it does not start with a section header block', { offset });
      }
      const totalLen = be ? h.readUInt32BE(p + 4) : h.readUInt32LE(p + 4);
      if (totalLen < PCAPNG_MIN_BLOCK_LEN || totalLen % 4 !== 0) {
        throw badBlock(
          `pcapng block of type 0x${type.toString(16)} at byte offset ${offset} has total length ${totalLen}: ` +
            `a block is at least 12 bytes and a multiple of 4`,
          offset,
        );
      }
      if (totalLen > this.limits.maxBlockLen) {
        throw new PodspanError(
          ERR.CAPFILE_TOO_LARGE,
          `pcapng block of type 0x${type.toString(16)} at byte offset ${offset} is ${totalLen} bytes, more than the reader's limit of ` +
            `${this.limits.maxBlockLen}: the file is damaged (no packet needs a block that large; tshark's limit is the same order)`,
          { offset, blockLen: totalLen },
        );
      }
      const b = q.peek(totalLen);
      if (b === null) return false;
      const trailer = be ? b.readUInt32BE(totalLen - 4) : b.readUInt32LE(totalLen - 4);
      if (trailer !== totalLen) {
        throw badBlock(
          `pcapng block of type 0x${type.toString(16)} at byte offset ${offset}: total length in header (${totalLen}) ` +
            `and trailer (${trailer}) don't match`,
          offset,
        );
      }
      const end = totalLen - PCAPNG_BLOCK_TRAILER_LEN;
      let got = false;
      switch (type) {
        case PCAPNG_BLOCK.SHB:
          this.readSection(b, end, be, offset);
          break;
        case PCAPNG_BLOCK.IDB:
          this.readInterface(b, end, offset);
          break;
        case PCAPNG_BLOCK.EPB:
          this.readEnhancedPacket(b, end, offset, rec);
          got = true;
          break;
        case PCAPNG_BLOCK.SPB:
          this.readSimplePacket(b, end, offset, rec);
          got = true;
          break;
        case PCAPNG_BLOCK.PB:
          this.readObsoletePacket(b, end, offset, rec);
          got = true;
          break;
        case PCAPNG_BLOCK.ISB:
          this.readStats(b, end, offset);
          break;
        default:
          // NRB, DSB, custom, systemd journal and unknown blocks: skipped whole.
          break;
      }
      q.skip(totalLen);
      if (got) return true;
    }
  }

  private readSection(b: Buffer, end: number, be: boolean, offset: number): void {
    if (end - PCAPNG_BLOCK_HEADER_LEN < PCAPNG_SHB_BODY_LEN) {
      throw badBlock(`pcapng section header at byte offset ${offset} is too short (${end + 4} bytes)`, offset);
    }
    const major = be ? b.readUInt16BE(PCAPNG_SHB.VERSION_MAJOR) : b.readUInt16LE(PCAPNG_SHB.VERSION_MAJOR);
    const minor = be ? b.readUInt16BE(PCAPNG_SHB.VERSION_MINOR) : b.readUInt16LE(PCAPNG_SHB.VERSION_MINOR);
    if (!(major === 1 && (minor === 0 || minor === 2))) {
      throw new PodspanError(
        ERR.CAPFILE_BAD_VERSION,
        `unsupported pcapng section version ${major}.${minor} at byte offset ${offset}; podspan reads 1.0 (and 1.2), as libpcap and Wireshark do`,
        { offset, versionMajor: major, versionMinor: minor },
      );
    }
    const info: SectionInfo = {
      index: this.section + 1,
      bigEndian: be,
      versionMajor: major,
      versionMinor: minor,
      sectionLength: be ? b.readBigInt64BE(PCAPNG_SHB.SECTION_LENGTH) : b.readBigInt64LE(PCAPNG_SHB.SECTION_LENGTH),
      hardware: undefined,
      os: undefined,
      userAppl: undefined,
      comments: [],
    };
    const o = this.opt;
    o.reset(b, PCAPNG_SHB.OPTIONS, end, be, 'pcapng section header', offset);
    while (o.next()) {
      if (o.code === PCAPNG_OPT.COMMENT) info.comments.push(o.string());
      else if (o.code === PCAPNG_OPT.SHB_HARDWARE) info.hardware = o.string();
      else if (o.code === PCAPNG_OPT.SHB_OS) info.os = o.string();
      else if (o.code === PCAPNG_OPT.SHB_USERAPPL) info.userAppl = o.string();
    }
    this.section++;
    this.be = be;
    this.ifaces = [];
    this.resolutions = [];
    this.events.section(info);
  }

  private readInterface(b: Buffer, end: number, offset: number): void {
    const be = this.be;
    if (end - PCAPNG_BLOCK_HEADER_LEN < PCAPNG_IDB_BODY_LEN) {
      throw badBlock(`pcapng interface description at byte offset ${offset} is too short`, offset);
    }
    if (this.interfaceCount >= this.limits.maxInterfaces) {
      throw new PodspanError(
        ERR.CAPFILE_TOO_LARGE,
        `pcapng file defines more than ${this.limits.maxInterfaces} interfaces (at byte offset ${offset}): the file is damaged, or raise maxInterfaces`,
        { offset },
      );
    }
    const iface: CaptureInterface = {
      id: this.ifaces.length,
      section: this.section,
      linkType: be ? b.readUInt16BE(PCAPNG_IDB.LINK_TYPE) : b.readUInt16LE(PCAPNG_IDB.LINK_TYPE),
      snapLen: be ? b.readUInt32BE(PCAPNG_IDB.SNAPLEN) : b.readUInt32LE(PCAPNG_IDB.SNAPLEN),
      tsResolPower: 6,
      tsResolBinary: false,
      tsOffsetSec: 0,
      name: undefined,
      description: undefined,
      pcapVersionMajor: 2,
      pcapVersionMinor: 4,
      bigEndian: be,
      pcapThisZone: undefined,
      pcapSigFigs: undefined,
      pcapLinkTypeField: undefined,
      fcsLen: undefined,
    };
    let res = TS_RESOLUTION_MICRO;
    const o = this.opt;
    o.reset(b, PCAPNG_IDB.OPTIONS, end, be, 'pcapng interface description', offset);
    while (o.next()) {
      switch (o.code) {
        case PCAPNG_OPT.IF_NAME:
          iface.name = o.string();
          break;
        case PCAPNG_OPT.IF_DESCRIPTION:
          iface.description = o.string();
          break;
        case PCAPNG_OPT.IF_TSRESOL: {
          if (o.len !== 1) throw badBlock(`pcapng interface description at byte offset ${offset} has if_tsresol of length ${o.len}, not 1`, offset);
          const v = o.byte();
          // MSB set: a negative power of 2, else of 10; exponent in the low 7 bits (§4.2 if_tsresol).
          const binary = (v & 0x80) !== 0;
          const power = v & 0x7f;
          if (power > (binary ? TSRESOL_MAX_BINARY : TSRESOL_MAX_DECIMAL)) {
            throw badBlock(
              `pcapng interface description at byte offset ${offset} has timestamp resolution ${binary ? 2 : 10}^-${power}, finer than podspan (and libpcap) can hold`,
              offset,
            );
          }
          res = new TsResolution(power, binary);
          iface.tsResolPower = power;
          iface.tsResolBinary = binary;
          break;
        }
        case PCAPNG_OPT.IF_TSOFFSET:
          // Signed seconds added to every timestamp of the interface (§4.2 if_tsoffset).
          if (o.len !== 8) throw badBlock(`pcapng interface description at byte offset ${offset} has if_tsoffset of length ${o.len}, not 8`, offset);
          iface.tsOffsetSec = Number(o.i64());
          break;
        case PCAPNG_OPT.IF_FCSLEN:
          if (o.len === 1) iface.fcsLen = o.byte();
          break;
        default:
          break;
      }
    }
    this.ifaces.push(iface);
    this.resolutions.push(res);
    this.interfaceCount++;
    this.events.interface(iface);
  }

  private interfaceFor(id: number, what: string, offset: number): CaptureInterface {
    const iface = this.ifaces[id];
    if (iface === undefined) {
      throw new PodspanError(
        ERR.CAPFILE_NO_INTERFACE,
        `${what} at byte offset ${offset} refers to interface ${id}, but section ${this.section} defines ` +
          `${this.ifaces.length} interface(s) before it: the file is damaged`,
        { offset, ifaceId: id },
      );
    }
    return iface;
  }

  private readEnhancedPacket(b: Buffer, end: number, offset: number, rec: PacketRecord): void {
    const be = this.be;
    const bodyLen = end - PCAPNG_BLOCK_HEADER_LEN;
    if (bodyLen < PCAPNG_EPB_BODY_LEN) throw badBlock(`pcapng enhanced packet block at byte offset ${offset} is too short`, offset);
    const id = be ? b.readUInt32BE(PCAPNG_EPB.INTERFACE_ID) : b.readUInt32LE(PCAPNG_EPB.INTERFACE_ID);
    const tsHigh = be ? b.readUInt32BE(PCAPNG_EPB.TS_HIGH) : b.readUInt32LE(PCAPNG_EPB.TS_HIGH);
    const tsLow = be ? b.readUInt32BE(PCAPNG_EPB.TS_LOW) : b.readUInt32LE(PCAPNG_EPB.TS_LOW);
    const capLen = be ? b.readUInt32BE(PCAPNG_EPB.CAP_LEN) : b.readUInt32LE(PCAPNG_EPB.CAP_LEN);
    const wireLen = be ? b.readUInt32BE(PCAPNG_EPB.WIRE_LEN) : b.readUInt32LE(PCAPNG_EPB.WIRE_LEN);
    if (capLen > bodyLen - PCAPNG_EPB_BODY_LEN) {
      throw badBlock(
        `pcapng enhanced packet block at byte offset ${offset} claims ${capLen} captured bytes but holds only ${bodyLen - PCAPNG_EPB_BODY_LEN}`,
        offset,
      );
    }
    const iface = this.interfaceFor(id, 'pcapng enhanced packet block', offset);
    ticksToTs(tsHigh, tsLow, this.resolutions[id]!, iface.tsOffsetSec, rec);
    rec.iface = iface;
    rec.capLen = capLen;
    rec.wireLen = wireLen;
    rec.data = b.subarray(PCAPNG_EPB.DATA, PCAPNG_EPB.DATA + capLen);
    if (rec.comments.length !== 0) rec.comments.length = 0;
    rec.flags = undefined;
    const optStart = PCAPNG_EPB.DATA + pad4(capLen);
    if (optStart < end) {
      const o = this.opt;
      o.reset(b, optStart, end, be, 'pcapng enhanced packet block', offset);
      while (o.next()) {
        if (o.code === PCAPNG_OPT.COMMENT) rec.comments.push(o.string());
        else if (o.code === PCAPNG_OPT.EPB_FLAGS && o.len === 4) rec.flags = o.u32();
      }
    }
  }

  private readObsoletePacket(b: Buffer, end: number, offset: number, rec: PacketRecord): void {
    const be = this.be;
    const bodyLen = end - PCAPNG_BLOCK_HEADER_LEN;
    if (bodyLen < PCAPNG_PB_BODY_LEN) throw badBlock(`pcapng packet block at byte offset ${offset} is too short`, offset);
    const id = be ? b.readUInt16BE(PCAPNG_PB.INTERFACE_ID) : b.readUInt16LE(PCAPNG_PB.INTERFACE_ID);
    const tsHigh = be ? b.readUInt32BE(PCAPNG_PB.TS_HIGH) : b.readUInt32LE(PCAPNG_PB.TS_HIGH);
    const tsLow = be ? b.readUInt32BE(PCAPNG_PB.TS_LOW) : b.readUInt32LE(PCAPNG_PB.TS_LOW);
    const capLen = be ? b.readUInt32BE(PCAPNG_PB.CAP_LEN) : b.readUInt32LE(PCAPNG_PB.CAP_LEN);
    const wireLen = be ? b.readUInt32BE(PCAPNG_PB.WIRE_LEN) : b.readUInt32LE(PCAPNG_PB.WIRE_LEN);
    if (capLen > bodyLen - PCAPNG_PB_BODY_LEN) {
      throw badBlock(`pcapng packet block at byte offset ${offset} claims ${capLen} captured bytes but holds only ${bodyLen - PCAPNG_PB_BODY_LEN}`, offset);
    }
    const iface = this.interfaceFor(id, 'pcapng packet block', offset);
    ticksToTs(tsHigh, tsLow, this.resolutions[id]!, iface.tsOffsetSec, rec);
    rec.iface = iface;
    rec.capLen = capLen;
    rec.wireLen = wireLen;
    rec.data = b.subarray(PCAPNG_PB.DATA, PCAPNG_PB.DATA + capLen);
    if (rec.comments.length !== 0) rec.comments.length = 0;
    rec.flags = undefined;
    const optStart = PCAPNG_PB.DATA + pad4(capLen);
    if (optStart < end) {
      const o = this.opt;
      o.reset(b, optStart, end, be, 'pcapng packet block', offset);
      while (o.next()) {
        if (o.code === PCAPNG_OPT.COMMENT) rec.comments.push(o.string());
        else if (o.code === PCAPNG_OPT.EPB_FLAGS && o.len === 4) rec.flags = o.u32();
      }
    }
  }

  private readSimplePacket(b: Buffer, end: number, offset: number, rec: PacketRecord): void {
    const bodyLen = end - PCAPNG_BLOCK_HEADER_LEN;
    if (bodyLen < PCAPNG_SPB_BODY_LEN) throw badBlock(`pcapng simple packet block at byte offset ${offset} is too short`, offset);
    const wireLen = this.be ? b.readUInt32BE(PCAPNG_SPB.WIRE_LEN) : b.readUInt32LE(PCAPNG_SPB.WIRE_LEN);
    // SPBs belong to the section's first interface (§4.4).
    const iface = this.interfaceFor(0, 'pcapng simple packet block', offset);
    let capLen = Math.min(wireLen, bodyLen - PCAPNG_SPB_BODY_LEN);
    // snaplen 0 means "no limit" in pcapng.
    if (iface.snapLen !== 0 && capLen > iface.snapLen) capLen = iface.snapLen;
    // No timestamp in an SPB: 0, as libpcap and Wireshark report it.
    rec.tsSec = 0;
    rec.tsNsec = 0;
    rec.tsInvalid = false;
    rec.iface = iface;
    rec.capLen = capLen;
    rec.wireLen = wireLen;
    rec.data = b.subarray(PCAPNG_SPB.DATA, PCAPNG_SPB.DATA + capLen);
    if (rec.comments.length !== 0) rec.comments.length = 0;
    rec.flags = undefined;
  }

  private readStats(b: Buffer, end: number, offset: number): void {
    const be = this.be;
    if (end - PCAPNG_BLOCK_HEADER_LEN < PCAPNG_ISB_BODY_LEN) {
      throw badBlock(`pcapng interface statistics block at byte offset ${offset} is too short`, offset);
    }
    const id = be ? b.readUInt32BE(PCAPNG_ISB.INTERFACE_ID) : b.readUInt32LE(PCAPNG_ISB.INTERFACE_ID);
    // Statistics for an interface the section has not defined are still reported, with
    // microsecond timestamps (the pcapng default), as Wireshark reads them; only packets
    // need their interface.
    const res = this.resolutions[id] ?? TS_RESOLUTION_MICRO;
    const tsOffsetSec = this.ifaces[id]?.tsOffsetSec ?? 0;
    const ts = this.ts;
    ticksToTs(
      be ? b.readUInt32BE(PCAPNG_ISB.TS_HIGH) : b.readUInt32LE(PCAPNG_ISB.TS_HIGH),
      be ? b.readUInt32BE(PCAPNG_ISB.TS_LOW) : b.readUInt32LE(PCAPNG_ISB.TS_LOW),
      res,
      tsOffsetSec,
      ts,
    );
    const stats: InterfaceStats = {
      ifaceId: id,
      tsSec: ts.tsSec,
      tsNsec: ts.tsNsec,
      ifRecv: undefined,
      ifDrop: undefined,
      filterAccept: undefined,
      osDrop: undefined,
      usrDeliv: undefined,
      comments: [],
      section: this.section,
      startTsSec: undefined,
      startTsNsec: undefined,
      endTsSec: undefined,
      endTsNsec: undefined,
    };
    const o = this.opt;
    o.reset(b, PCAPNG_ISB.OPTIONS, end, be, 'pcapng interface statistics block', offset);
    while (o.next()) {
      if (o.code === PCAPNG_OPT.COMMENT) {
        stats.comments.push(o.string());
        continue;
      }
      if (o.len !== 8) continue;
      switch (o.code) {
        case PCAPNG_OPT.ISB_STARTTIME:
          ticksToTs(o.tsHigh(), o.tsLow(), res, tsOffsetSec, ts);
          stats.startTsSec = ts.tsSec;
          stats.startTsNsec = ts.tsNsec;
          break;
        case PCAPNG_OPT.ISB_ENDTIME:
          ticksToTs(o.tsHigh(), o.tsLow(), res, tsOffsetSec, ts);
          stats.endTsSec = ts.tsSec;
          stats.endTsNsec = ts.tsNsec;
          break;
        case PCAPNG_OPT.ISB_IFRECV:
          stats.ifRecv = o.u64();
          break;
        case PCAPNG_OPT.ISB_IFDROP:
          stats.ifDrop = o.u64();
          break;
        case PCAPNG_OPT.ISB_FILTERACCEPT:
          stats.filterAccept = o.u64();
          break;
        case PCAPNG_OPT.ISB_OSDROP:
          stats.osDrop = o.u64();
          break;
        case PCAPNG_OPT.ISB_USRDELIV:
          stats.usrDeliv = o.u64();
          break;
        default:
          break;
      }
    }
    this.events.stats(stats);
  }
}
