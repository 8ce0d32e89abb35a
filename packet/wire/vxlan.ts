/**
 * VXLAN, RFC 7348 §5. Carried in UDP, destination port 4789 (IANA); Linux's legacy default
 * is 8472. An Ethernet frame (no FCS) follows the header.
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |R|R|R|R|I|R|R|R|            Reserved                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                VXLAN Network Identifier (VNI) |   Reserved    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * The I flag MUST be 1 for a valid VNI; reserved bits are sent as zero and ignored on
 * receipt (RFC 7348 §5), so non-zero reserved fields (Linux "reserved_bits", GBP, GPE
 * extensions) are tolerated.
 */

export const VXLAN_OFF = { FLAGS: 0, RESERVED1: 1, VNI: 4, RESERVED2: 7 } as const;
export const VXLAN_HEADER_LEN = 8;
/** I flag, RFC 7348 §5. */
export const VXLAN_FLAG_I = 0x08;
export const VXLAN_PORT = 4789;
/** Linux vxlan driver's pre-IANA default. */
export const VXLAN_PORT_LINUX = 8472;
export const VXLAN_VNI_MAX = 0xffffff;

/** Plain header, for building frames and for tests. */
export interface VxlanHeader {
  /** Flag octet; VXLAN_FLAG_I for a valid VNI. */
  flags: number;
  vni: number;
  /** 24 reserved bits after the flags; 0 unless reproducing a captured header. */
  reserved1?: number;
  /** 8 reserved bits after the VNI. */
  reserved2?: number;
}

/** Reads a VXLAN header; the caller has checked VXLAN_HEADER_LEN bytes. */
export class VxlanView {
  buf: Buffer = Buffer.alloc(0);
  off = 0;
  bind(buf: Buffer, off: number): this {
    this.buf = buf;
    this.off = off;
    return this;
  }
  get flags(): number {
    return this.buf.readUInt8(this.off + VXLAN_OFF.FLAGS);
  }
  /** I flag, RFC 7348 §5. */
  get vniValid(): boolean {
    return (this.flags & VXLAN_FLAG_I) !== 0;
  }
  get vni(): number {
    return this.buf.readUInt32BE(this.off + VXLAN_OFF.VNI) >>> 8;
  }
  get reserved1(): number {
    return this.buf.readUInt32BE(this.off) & 0xffffff;
  }
  get reserved2(): number {
    return this.buf.readUInt8(this.off + VXLAN_OFF.RESERVED2);
  }
  toHeader(): VxlanHeader {
    const h: VxlanHeader = { flags: this.flags, vni: this.vni };
    if (this.reserved1 !== 0) h.reserved1 = this.reserved1;
    if (this.reserved2 !== 0) h.reserved2 = this.reserved2;
    return h;
  }
}

/** Writes the 8-byte VXLAN header at `off`; returns the offset after it. */
export function emitVxlan(h: VxlanHeader, buf: Buffer, off: number): number {
  buf.writeUInt32BE((((h.flags & 0xff) << 24) | ((h.reserved1 ?? 0) & 0xffffff)) >>> 0, off);
  buf.writeUInt32BE((((h.vni & VXLAN_VNI_MAX) << 8) | ((h.reserved2 ?? 0) & 0xff)) >>> 0, off + VXLAN_OFF.VNI);
  return off + VXLAN_HEADER_LEN;
}
