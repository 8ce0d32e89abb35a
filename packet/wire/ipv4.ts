/**
 * IPv4, RFC 791 §3.1 (DSCP/ECN, RFC 2474 / RFC 3168).
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version|  IHL  |    DSCP   |ECN|          Total Length         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Identification        |Flags|      Fragment Offset    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Time to Live |    Protocol   |         Header Checksum       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       Source Address                          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Destination Address                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Options                    |    Padding    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * Flags: bit 0 reserved (evil bit, RFC 3514), DF, MF. IHL is in 32-bit words, >= 5.
 * Total Length 0 does not occur on the wire, but a capture taken before segmentation
 * (Linux GSO/TSO, and BIG TCP for lengths over 64 KiB) shows it: the length is then the
 * rest of the frame.
 */
import { checksumAdd, checksumFinish } from './checksum.js';
import { formatIPv4, writeIPv4 } from './ip-addr.js';

export const IPV4_OFF = {
  VER_IHL: 0,
  TOS: 1,
  TOTAL_LEN: 2,
  ID: 4,
  FLAGS_FRAG: 6,
  TTL: 8,
  PROTO: 9,
  CHECKSUM: 10,
  SRC: 12,
  DST: 16,
  OPTIONS: 20,
} as const;
export const IPV4_MIN_HEADER_LEN = 20;
export const IPV4_MAX_HEADER_LEN = 60;
export const IPV4_ADDR_LEN = 4;
/** Flag bits in the 3-bit flags field. */
export const IPV4_FLAG = { RESERVED: 4, DF: 2, MF: 1 } as const;
/** Bits of the 16-bit flags/fragment-offset word. */
export const IPV4_FRAG_MASK = { MF: 0x2000, DF: 0x4000, OFFSET: 0x1fff } as const;

/** Plain header, for building frames and for tests. */
export interface Ipv4Header {
  /** DSCP << 2 | ECN. */
  tos: number;
  totalLength: number;
  id: number;
  /** 3 bits: IPV4_FLAG.DF, IPV4_FLAG.MF. */
  flags: number;
  /** In 8-octet units. */
  fragOffset: number;
  ttl: number;
  proto: number;
  /** When absent, emitIpv4 computes it. */
  checksum?: number;
  src: string;
  dst: string;
  /** Options as hex, a multiple of 4 bytes (pad with 00 = End of Option List). */
  options?: string;
}

/** Reads an IPv4 header; the caller has checked that the IHL*4 header bytes are present. */
export class Ipv4View {
  buf: Buffer = Buffer.alloc(0);
  off = 0;
  bind(buf: Buffer, off: number): this {
    this.buf = buf;
    this.off = off;
    return this;
  }
  get version(): number {
    return this.buf.readUInt8(this.off) >>> 4;
  }
  get headerLen(): number {
    return (this.buf.readUInt8(this.off) & 0x0f) * 4;
  }
  get tos(): number {
    return this.buf.readUInt8(this.off + IPV4_OFF.TOS);
  }
  get totalLength(): number {
    return this.buf.readUInt16BE(this.off + IPV4_OFF.TOTAL_LEN);
  }
  get id(): number {
    return this.buf.readUInt16BE(this.off + IPV4_OFF.ID);
  }
  get flags(): number {
    return this.buf.readUInt16BE(this.off + IPV4_OFF.FLAGS_FRAG) >>> 13;
  }
  get fragOffset(): number {
    return this.buf.readUInt16BE(this.off + IPV4_OFF.FLAGS_FRAG) & IPV4_FRAG_MASK.OFFSET;
  }
  /** MF set or offset non-zero. */
  get isFragment(): boolean {
    return (this.buf.readUInt16BE(this.off + IPV4_OFF.FLAGS_FRAG) & (IPV4_FRAG_MASK.MF | IPV4_FRAG_MASK.OFFSET)) !== 0;
  }
  get ttl(): number {
    return this.buf.readUInt8(this.off + IPV4_OFF.TTL);
  }
  get proto(): number {
    return this.buf.readUInt8(this.off + IPV4_OFF.PROTO);
  }
  get checksum(): number {
    return this.buf.readUInt16BE(this.off + IPV4_OFF.CHECKSUM);
  }
  /** True when the header checksum verifies (RFC 1071: the sum over the header is 0xffff). */
  checksumValid(): boolean {
    return checksumFinish(checksumAdd(0, this.buf, this.off, this.headerLen)) === 0;
  }
  toHeader(): Ipv4Header {
    const h: Ipv4Header = {
      tos: this.tos,
      totalLength: this.totalLength,
      id: this.id,
      flags: this.flags,
      fragOffset: this.fragOffset,
      ttl: this.ttl,
      proto: this.proto,
      checksum: this.checksum,
      src: formatIPv4(this.buf, this.off + IPV4_OFF.SRC),
      dst: formatIPv4(this.buf, this.off + IPV4_OFF.DST),
    };
    if (this.headerLen > IPV4_MIN_HEADER_LEN) {
      h.options = this.buf.toString('hex', this.off + IPV4_OFF.OPTIONS, this.off + this.headerLen);
    }
    return h;
  }
}

/** Writes the IPv4 header at `off` (computing the checksum unless given); returns the offset after it. */
export function emitIpv4(h: Ipv4Header, buf: Buffer, off: number): number {
  const optLen = h.options === undefined ? 0 : h.options.length / 2;
  if (optLen % 4 !== 0 || optLen > IPV4_MAX_HEADER_LEN - IPV4_MIN_HEADER_LEN) {
    throw new RangeError(`IPv4 options must be a multiple of 4 bytes, at most 40; got ${optLen}`);
  }
  const hl = IPV4_MIN_HEADER_LEN + optLen;
  buf.writeUInt8(0x40 | (hl >>> 2), off + IPV4_OFF.VER_IHL);
  buf.writeUInt8(h.tos & 0xff, off + IPV4_OFF.TOS);
  buf.writeUInt16BE(h.totalLength, off + IPV4_OFF.TOTAL_LEN);
  buf.writeUInt16BE(h.id, off + IPV4_OFF.ID);
  buf.writeUInt16BE(((h.flags & 7) << 13) | (h.fragOffset & IPV4_FRAG_MASK.OFFSET), off + IPV4_OFF.FLAGS_FRAG);
  buf.writeUInt8(h.ttl, off + IPV4_OFF.TTL);
  buf.writeUInt8(h.proto, off + IPV4_OFF.PROTO);
  buf.writeUInt16BE(0, off + IPV4_OFF.CHECKSUM);
  writeIPv4(h.src, buf, off + IPV4_OFF.SRC);
  writeIPv4(h.dst, buf, off + IPV4_OFF.DST);
  if (h.options !== undefined && optLen > 0) buf.write(h.options, off + IPV4_OFF.OPTIONS, optLen, 'hex');
  const sum = h.checksum ?? checksumFinish(checksumAdd(0, buf, off, hl));
  buf.writeUInt16BE(sum, off + IPV4_OFF.CHECKSUM);
  return off + hl;
}
