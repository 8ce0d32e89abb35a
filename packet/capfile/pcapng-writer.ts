import { Buffer } from 'node:buffer';
import { ERR, PodspanError } from '../errors.js';
import { PCAP_LT, maxSnapLenForLinkType } from './pcap.js';
import {
  PCAPNG_BLOCK,
  PCAPNG_BLOCK_HEADER_LEN,
  PCAPNG_BLOCK_TRAILER_LEN,
  PCAPNG_BYTE_ORDER_MAGIC,
  PCAPNG_DEFAULT_MAX_BLOCK_LEN,
  PCAPNG_EPB,
  PCAPNG_IDB,
  PCAPNG_ISB,
  PCAPNG_OPT,
  PCAPNG_OPTION_HEADER_LEN,
  PCAPNG_SHB,
  PCAPNG_VERSION_MAJOR,
  PCAPNG_VERSION_MINOR,
  pad4,
} from './pcapng.js';
import { TSRESOL_MAX_BINARY, TSRESOL_MAX_DECIMAL, TsResolution, tsToTicks } from './timestamp.js';
import type { InterfaceStats } from './types.js';

const OPTION_VALUE_MAX_LEN = 0xffff;

export interface PcapngSectionOptions {
  /** shb_userappl */
  userAppl?: string;
  /** shb_os */
  os?: string;
  /** shb_hardware */
  hardware?: string;
  /** opt_comment */
  comment?: string;
}

export interface PcapngInterfaceOptions {
  linkType: number;
  /** 0 means "no limit" in pcapng. */
  snapLen: number;
  /** if_name */
  name?: string;
  /** if_description */
  description?: string;
  /** Timestamp resolution exponent (if_tsresol); default 9 (nanoseconds). */
  tsResolPower?: number;
  /** 2^-tsResolPower instead of 10^-tsResolPower; default false. */
  tsResolBinary?: boolean;
  /** if_fcslen in bytes. */
  fcsLen?: number;
  /**
   * Allow an interface whose link type or (libpcap-adjusted) snaplen differs from the
   * file's first interface. libpcap, hence tcpdump and every libpcap-based tool, refuses
   * such files; only Wireshark-class readers open them. Default false.
   */
  allowMixedLinkTypes?: boolean;
}

export interface PcapngPacketOptions {
  /** opt_comment, one option each. */
  comments?: readonly string[];
  /** epb_flags (direction, reception type, FCS length, link-layer errors). */
  flags?: number;
}

/** What `packet()` needs of a packet; a PacketRecord from the reader fits. */
export interface PcapngRecordInput {
  tsSec: number;
  tsNsec: number;
  capLen: number;
  wireLen: number;
  /** At least `capLen` bytes; only the first `capLen` are written. */
  data: Buffer;
}

interface WriterInterface {
  linkType: number;
  snapLen: number;
  res: TsResolution;
}

/**
 * Writes pcapng (draft-ietf-opsawg-pcapng; layout in pcapng.ts). No I/O: it returns
 * Buffers to hand to a stream or `writev`.
 *
 * Fixed format choices: little-endian; SHB version 1.0 with section length -1 (unknown);
 * if_tsresol always written (default 9, nanoseconds); packets as Enhanced Packet Blocks.
 * Timestamps are converted to each interface's resolution with exact integer arithmetic.
 *
 * One link type and one snaplen per file unless `allowMixedLinkTypes` (see there):
 * tcpdump must be able to open what podspan writes.
 *
 * Allocation: each call returns new header/trailer Buffers the caller owns; packet data is
 * passed through as a view, not copied, and must stay unchanged until written.
 */
export class PcapngWriter {
  private ifaces: WriterInterface[] = [];
  private sectionStarted = false;
  /** The file's first interface: what the others must match. */
  private first: { linkType: number; snapLen: number } | undefined = undefined;
  private readonly ticks = { high: 0, low: 0 };

  /**
   * A Section Header Block. Starts a new section: interface ids restart at 0, so
   * interfaces must be added again after it.
   */
  sectionHeader(opts: PcapngSectionOptions = {}): Buffer {
    const options: Array<[number, Buffer]> = [];
    if (opts.comment !== undefined) options.push([PCAPNG_OPT.COMMENT, str(opts.comment)]);
    if (opts.hardware !== undefined) options.push([PCAPNG_OPT.SHB_HARDWARE, str(opts.hardware)]);
    if (opts.os !== undefined) options.push([PCAPNG_OPT.SHB_OS, str(opts.os)]);
    if (opts.userAppl !== undefined) options.push([PCAPNG_OPT.SHB_USERAPPL, str(opts.userAppl)]);
    const b = block(PCAPNG_BLOCK.SHB, PCAPNG_SHB.OPTIONS - PCAPNG_BLOCK_HEADER_LEN, options);
    b.writeUInt32LE(PCAPNG_BYTE_ORDER_MAGIC, PCAPNG_SHB.BYTE_ORDER_MAGIC);
    b.writeUInt16LE(PCAPNG_VERSION_MAJOR, PCAPNG_SHB.VERSION_MAJOR);
    b.writeUInt16LE(PCAPNG_VERSION_MINOR, PCAPNG_SHB.VERSION_MINOR);
    b.writeBigInt64LE(-1n, PCAPNG_SHB.SECTION_LENGTH);
    this.ifaces = [];
    this.sectionStarted = true;
    return b;
  }

  /**
   * An Interface Description Block and the id packets must use. Throws
   * CAPFILE_MIXED_LINKTYPES / CAPFILE_MIXED_SNAPLENS when the interface differs from the
   * file's first one (unless allowed), CAPFILE_UNREPRESENTABLE for a resolution beyond
   * 10^-19 / 2^-63.
   */
  addInterface(opts: PcapngInterfaceOptions): { id: number; block: Buffer } {
    if (!this.sectionStarted) throw new Error('PcapngWriter.addInterface() before sectionHeader()');
    const { linkType, snapLen } = opts;
    if (!Number.isInteger(linkType) || linkType < 0 || linkType > PCAP_LT.LINKTYPE_MASK) {
      throw new PodspanError(ERR.CAPFILE_UNREPRESENTABLE, `link type ${linkType} does not fit the 16 bits of a pcapng IDB`);
    }
    if (!Number.isInteger(snapLen) || snapLen < 0 || snapLen > 0xffffffff) {
      throw new PodspanError(ERR.CAPFILE_UNREPRESENTABLE, `snaplen ${snapLen} is not a 32-bit unsigned value`);
    }
    const power = opts.tsResolPower ?? 9;
    const binary = opts.tsResolBinary ?? false;
    if (!Number.isInteger(power) || power < 0 || power > (binary ? TSRESOL_MAX_BINARY : TSRESOL_MAX_DECIMAL)) {
      throw new PodspanError(ERR.CAPFILE_UNREPRESENTABLE, `timestamp resolution ${binary ? 2 : 10}^-${power} cannot be written`);
    }
    const first = this.first;
    if (first !== undefined && opts.allowMixedLinkTypes !== true) {
      if (linkType !== first.linkType) {
        throw new PodspanError(
          ERR.CAPFILE_MIXED_LINKTYPES,
          `interface link type ${linkType} differs from the file's first interface (${first.linkType}); tcpdump and other ` +
            `libpcap readers refuse such files: write one file per link type, or set allowMixedLinkTypes`,
          { linkType, firstLinkType: first.linkType },
        );
      }
      if (adjustSnapLen(linkType, snapLen) !== adjustSnapLen(first.linkType, first.snapLen)) {
        throw new PodspanError(
          ERR.CAPFILE_MIXED_SNAPLENS,
          `interface snaplen ${snapLen} differs from the file's first interface (${first.snapLen}); tcpdump and other ` +
            `libpcap readers refuse such files: use one snaplen per file, or set allowMixedLinkTypes`,
          { snapLen, firstSnapLen: first.snapLen },
        );
      }
    }
    const options: Array<[number, Buffer]> = [];
    if (opts.name !== undefined) options.push([PCAPNG_OPT.IF_NAME, str(opts.name)]);
    if (opts.description !== undefined) options.push([PCAPNG_OPT.IF_DESCRIPTION, str(opts.description)]);
    options.push([PCAPNG_OPT.IF_TSRESOL, Buffer.from([(binary ? 0x80 : 0) | power])]);
    if (opts.fcsLen !== undefined) {
      if (!Number.isInteger(opts.fcsLen) || opts.fcsLen < 0 || opts.fcsLen > 255) {
        throw new PodspanError(ERR.CAPFILE_UNREPRESENTABLE, `if_fcslen ${opts.fcsLen} does not fit one byte`);
      }
      options.push([PCAPNG_OPT.IF_FCSLEN, Buffer.from([opts.fcsLen])]);
    }
    const b = block(PCAPNG_BLOCK.IDB, PCAPNG_IDB.OPTIONS - PCAPNG_BLOCK_HEADER_LEN, options);
    b.writeUInt16LE(linkType, PCAPNG_IDB.LINK_TYPE);
    b.writeUInt16LE(0, PCAPNG_IDB.RESERVED);
    b.writeUInt32LE(snapLen, PCAPNG_IDB.SNAPLEN);
    if (this.first === undefined) this.first = { linkType, snapLen };
    const id = this.ifaces.length;
    this.ifaces.push({ linkType, snapLen, res: new TsResolution(power, binary) });
    return { id, block: b };
  }

  /**
   * One Enhanced Packet Block for a scatter write: [28-byte header, data view, padding +
   * options + trailer]. The data is NOT copied. Throws CAPFILE_NO_INTERFACE for an unknown
   * id, CAPFILE_UNREPRESENTABLE for a time that does not fit 64 bits at the interface's
   * resolution (or is negative).
   */
  packet(ifaceId: number, rec: PcapngRecordInput, opts: PcapngPacketOptions = {}): Buffer[] {
    const iface = this.iface(ifaceId);
    const { capLen, wireLen } = rec;
    if (!isU32(capLen) || !isU32(wireLen) || capLen > rec.data.length) {
      throw new PodspanError(
        ERR.CAPFILE_BAD_RECORD,
        `record has capLen ${capLen}, wireLen ${wireLen} and ${rec.data.length} bytes of data: capLen must be at most the data length`,
        { capLen, wireLen },
      );
    }
    const t = this.ticks;
    tsToTicks(rec.tsSec, rec.tsNsec, iface.res, t);
    const pad = pad4(capLen) - capLen;
    let optLen = 0;
    const comments = opts.comments;
    let commentBufs: Buffer[] | undefined;
    if (comments !== undefined && comments.length > 0) {
      commentBufs = comments.map(str);
      for (const c of commentBufs) optLen += PCAPNG_OPTION_HEADER_LEN + pad4(c.length);
    }
    if (opts.flags !== undefined) optLen += PCAPNG_OPTION_HEADER_LEN + 4;
    if (optLen > 0) optLen += PCAPNG_OPTION_HEADER_LEN; // opt_endofopt
    const total = PCAPNG_EPB.DATA + capLen + pad + optLen + PCAPNG_BLOCK_TRAILER_LEN;
    if (total > PCAPNG_DEFAULT_MAX_BLOCK_LEN) {
      throw new PodspanError(
        ERR.CAPFILE_TOO_LARGE,
        `a ${capLen}-byte packet makes a ${total}-byte block; pcapng readers (libpcap, podspan) refuse blocks over ${PCAPNG_DEFAULT_MAX_BLOCK_LEN}`,
        { capLen },
      );
    }
    const head = Buffer.allocUnsafe(PCAPNG_EPB.DATA);
    head.writeUInt32LE(PCAPNG_BLOCK.EPB, 0);
    head.writeUInt32LE(total, 4);
    head.writeUInt32LE(ifaceId, PCAPNG_EPB.INTERFACE_ID);
    head.writeUInt32LE(t.high, PCAPNG_EPB.TS_HIGH);
    head.writeUInt32LE(t.low, PCAPNG_EPB.TS_LOW);
    head.writeUInt32LE(capLen, PCAPNG_EPB.CAP_LEN);
    head.writeUInt32LE(wireLen, PCAPNG_EPB.WIRE_LEN);
    const tail = Buffer.alloc(pad + optLen + PCAPNG_BLOCK_TRAILER_LEN);
    let p = pad;
    if (commentBufs !== undefined) for (const c of commentBufs) p = putOption(tail, p, PCAPNG_OPT.COMMENT, c);
    if (opts.flags !== undefined) {
      if (!isU32(opts.flags)) throw new PodspanError(ERR.CAPFILE_UNREPRESENTABLE, `epb_flags ${opts.flags} is not a 32-bit value`);
      tail.writeUInt16LE(PCAPNG_OPT.EPB_FLAGS, p);
      tail.writeUInt16LE(4, p + 2);
      tail.writeUInt32LE(opts.flags, p + 4);
      p += 8;
    }
    // opt_endofopt is the zero bytes already there; the trailer ends the block.
    tail.writeUInt32LE(total, tail.length - PCAPNG_BLOCK_TRAILER_LEN);
    return [head, rec.data.subarray(0, capLen), tail];
  }

  /**
   * An Interface Statistics Block with the options that are set (counters, start/end
   * times, comments). `s.ifaceId` is an id returned by `addInterface` in this section.
   */
  stats(s: InterfaceStats): Buffer {
    const iface = this.iface(s.ifaceId);
    const options: Array<[number, Buffer]> = [];
    for (const c of s.comments) options.push([PCAPNG_OPT.COMMENT, str(c)]);
    if (s.startTsSec !== undefined) options.push([PCAPNG_OPT.ISB_STARTTIME, this.tsOption(s.startTsSec, s.startTsNsec ?? 0, iface)]);
    if (s.endTsSec !== undefined) options.push([PCAPNG_OPT.ISB_ENDTIME, this.tsOption(s.endTsSec, s.endTsNsec ?? 0, iface)]);
    const counters: Array<[number, bigint | undefined]> = [
      [PCAPNG_OPT.ISB_IFRECV, s.ifRecv],
      [PCAPNG_OPT.ISB_IFDROP, s.ifDrop],
      [PCAPNG_OPT.ISB_FILTERACCEPT, s.filterAccept],
      [PCAPNG_OPT.ISB_OSDROP, s.osDrop],
      [PCAPNG_OPT.ISB_USRDELIV, s.usrDeliv],
    ];
    for (const [code, v] of counters) {
      if (v === undefined) continue;
      if (v < 0n || v > 0xffffffffffffffffn) throw new PodspanError(ERR.CAPFILE_UNREPRESENTABLE, `statistics counter ${v} is not a 64-bit unsigned value`);
      const b = Buffer.allocUnsafe(8);
      b.writeBigUInt64LE(v);
      options.push([code, b]);
    }
    const b = block(PCAPNG_BLOCK.ISB, PCAPNG_ISB.OPTIONS - PCAPNG_BLOCK_HEADER_LEN, options);
    const t = this.ticks;
    tsToTicks(s.tsSec, s.tsNsec, iface.res, t);
    b.writeUInt32LE(s.ifaceId, PCAPNG_ISB.INTERFACE_ID);
    b.writeUInt32LE(t.high, PCAPNG_ISB.TS_HIGH);
    b.writeUInt32LE(t.low, PCAPNG_ISB.TS_LOW);
    return b;
  }

  private tsOption(tsSec: number, tsNsec: number, iface: WriterInterface): Buffer {
    const t = this.ticks;
    tsToTicks(tsSec, tsNsec, iface.res, t);
    const b = Buffer.allocUnsafe(8);
    b.writeUInt32LE(t.high, 0);
    b.writeUInt32LE(t.low, 4);
    return b;
  }

  private iface(id: number): WriterInterface {
    const iface = this.ifaces[id];
    if (iface === undefined) {
      throw new PodspanError(
        ERR.CAPFILE_NO_INTERFACE,
        `interface ${id} was not added in this section (${this.ifaces.length} interface(s)): call addInterface() first`,
        { ifaceId: id },
      );
    }
    return iface;
  }
}

/** libpcap's pcap_adjust_snapshot: 0 or oversize means the link type's maximum. */
function adjustSnapLen(linkType: number, snapLen: number): number {
  const max = maxSnapLenForLinkType(linkType);
  return snapLen === 0 || snapLen > max ? max : snapLen;
}

function isU32(x: number): boolean {
  return Number.isInteger(x) && x >= 0 && x <= 0xffffffff;
}

function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  if (b.length > OPTION_VALUE_MAX_LEN) {
    throw new PodspanError(ERR.CAPFILE_UNREPRESENTABLE, `a ${b.length}-byte string does not fit a pcapng option (at most 65535 bytes)`);
  }
  return b;
}

function putOption(b: Buffer, p: number, code: number, value: Buffer): number {
  b.writeUInt16LE(code, p);
  b.writeUInt16LE(value.length, p + 2);
  value.copy(b, p + PCAPNG_OPTION_HEADER_LEN);
  return p + PCAPNG_OPTION_HEADER_LEN + pad4(value.length);
}

/**
 * A whole block with a zeroed fixed part of `fixedLen` body bytes, then `options` and
 * opt_endofopt (when there are options), then the trailer. The caller fills the fixed part.
 */
function block(type: number, fixedLen: number, options: ReadonlyArray<[number, Buffer]>): Buffer {
  let optLen = 0;
  for (const [, v] of options) optLen += PCAPNG_OPTION_HEADER_LEN + pad4(v.length);
  if (optLen > 0) optLen += PCAPNG_OPTION_HEADER_LEN;
  const total = PCAPNG_BLOCK_HEADER_LEN + fixedLen + optLen + PCAPNG_BLOCK_TRAILER_LEN;
  const b = Buffer.alloc(total);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(total, 4);
  let p = PCAPNG_BLOCK_HEADER_LEN + fixedLen;
  for (const [code, v] of options) p = putOption(b, p, code, v);
  b.writeUInt32LE(total, total - PCAPNG_BLOCK_TRAILER_LEN);
  return b;
}
