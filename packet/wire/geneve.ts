/**
 * Geneve, RFC 8926 §3.4. Carried in UDP, destination port 6081.
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Ver|  Opt Len  |O|C|    Rsvd.  |          Protocol Type        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |        Virtual Network Identifier (VNI)       |    Reserved   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Variable-Length Options                    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * Opt Len is in 4-octet units (options skipped as one block). Version must be 0 (§3.4).
 * Protocol Type is an EtherType: 0x6558 for Ethernet, 0x0800/0x86DD for IP.
 */

export const GENEVE_OFF = { VER_OPTLEN: 0, FLAGS: 1, PROTOCOL: 2, VNI: 4, RESERVED: 7, OPTIONS: 8 } as const;
export const GENEVE_HEADER_LEN = 8;
export const GENEVE_PORT = 6081;
export const GENEVE_FLAG = { OAM: 0x80, CRITICAL: 0x40 } as const;

/** Plain header, for building frames and for tests. */
export interface GeneveHeader {
  version: number;
  /** O and C bits plus the 6 reserved bits: GENEVE_FLAG. */
  flags: number;
  protocol: number;
  vni: number;
  /** Options as hex (a multiple of 4 bytes, at most 252). */
  options?: string;
  reserved?: number;
}

/** Reads a Geneve header; the caller has checked GENEVE_HEADER_LEN bytes (options not included). */
export class GeneveView {
  buf: Buffer = Buffer.alloc(0);
  off = 0;
  bind(buf: Buffer, off: number): this {
    this.buf = buf;
    this.off = off;
    return this;
  }
  get version(): number {
    return this.buf.readUInt8(this.off) >>> 6;
  }
  /** Header length including options, in bytes. */
  get headerLen(): number {
    return GENEVE_HEADER_LEN + (this.buf.readUInt8(this.off) & 0x3f) * 4;
  }
  get flags(): number {
    return this.buf.readUInt8(this.off + GENEVE_OFF.FLAGS);
  }
  get protocol(): number {
    return this.buf.readUInt16BE(this.off + GENEVE_OFF.PROTOCOL);
  }
  get vni(): number {
    return this.buf.readUInt32BE(this.off + GENEVE_OFF.VNI) >>> 8;
  }
  toHeader(): GeneveHeader {
    const h: GeneveHeader = { version: this.version, flags: this.flags, protocol: this.protocol, vni: this.vni };
    if (this.headerLen > GENEVE_HEADER_LEN) h.options = this.buf.toString('hex', this.off + GENEVE_OFF.OPTIONS, this.off + this.headerLen);
    const r = this.buf.readUInt8(this.off + GENEVE_OFF.RESERVED);
    if (r !== 0) h.reserved = r;
    return h;
  }
}

/** Writes the Geneve header and options at `off`; returns the offset after them. */
export function emitGeneve(h: GeneveHeader, buf: Buffer, off: number): number {
  const optLen = h.options === undefined ? 0 : h.options.length / 2;
  if (optLen % 4 !== 0 || optLen > 63 * 4) throw new RangeError(`Geneve options must be a multiple of 4 bytes, at most 252; got ${optLen}`);
  buf.writeUInt8(((h.version & 3) << 6) | (optLen / 4), off + GENEVE_OFF.VER_OPTLEN);
  buf.writeUInt8(h.flags & 0xff, off + GENEVE_OFF.FLAGS);
  buf.writeUInt16BE(h.protocol, off + GENEVE_OFF.PROTOCOL);
  buf.writeUInt32BE((((h.vni & 0xffffff) << 8) | ((h.reserved ?? 0) & 0xff)) >>> 0, off + GENEVE_OFF.VNI);
  if (h.options !== undefined && optLen > 0) buf.write(h.options, off + GENEVE_OFF.OPTIONS, optLen, 'hex');
  return off + GENEVE_HEADER_LEN + optLen;
}
