/**
 * Linux "cooked" capture header v2, LINKTYPE_LINUX_SLL2 (276),
 * https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Protocol type         |       Reserved (MBZ)          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       Interface index                         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          ARPHRD_ type         |  Packet type  | Addr. length  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           Link-layer address (8 octets, zero padded)          |
 * +                                                               +
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 */

export const SLL2_OFF = { PROTOCOL: 0, RESERVED: 2, IFINDEX: 4, ARPHRD: 8, PACKET_TYPE: 10, ADDR_LEN: 11, ADDR: 12 } as const;
export const SLL2_HEADER_LEN = 20;
export const SLL2_ADDR_MAX = 8;

/** Plain header, for building frames and for tests. `addr` is hex without separators, up to 8 bytes. */
export interface Sll2Header {
  protocol: number;
  ifindex: number;
  arphrd: number;
  packetType: number;
  addrLen: number;
  addr: string;
}

/** Reads an SLL2 header; the caller has checked SLL2_HEADER_LEN bytes. */
export class Sll2View {
  buf: Buffer = Buffer.alloc(0);
  off = 0;

  bind(buf: Buffer, off: number): this {
    this.buf = buf;
    this.off = off;
    return this;
  }
  get protocol(): number {
    return this.buf.readUInt16BE(this.off + SLL2_OFF.PROTOCOL);
  }
  get ifindex(): number {
    return this.buf.readUInt32BE(this.off + SLL2_OFF.IFINDEX);
  }
  get arphrd(): number {
    return this.buf.readUInt16BE(this.off + SLL2_OFF.ARPHRD);
  }
  get packetType(): number {
    return this.buf.readUInt8(this.off + SLL2_OFF.PACKET_TYPE);
  }
  get addrLen(): number {
    return this.buf.readUInt8(this.off + SLL2_OFF.ADDR_LEN);
  }
  toHeader(): Sll2Header {
    const n = Math.min(this.addrLen, SLL2_ADDR_MAX);
    const a = this.off + SLL2_OFF.ADDR;
    return {
      protocol: this.protocol,
      ifindex: this.ifindex,
      arphrd: this.arphrd,
      packetType: this.packetType,
      addrLen: this.addrLen,
      addr: this.buf.toString('hex', a, a + n),
    };
  }
}

/** Writes a 20-byte SLL2 header at `off`; returns the offset after it. */
export function emitSll2(h: Sll2Header, buf: Buffer, off: number): number {
  buf.writeUInt16BE(h.protocol, off + SLL2_OFF.PROTOCOL);
  buf.writeUInt16BE(0, off + SLL2_OFF.RESERVED);
  buf.writeUInt32BE(h.ifindex >>> 0, off + SLL2_OFF.IFINDEX);
  buf.writeUInt16BE(h.arphrd, off + SLL2_OFF.ARPHRD);
  buf.writeUInt8(h.packetType, off + SLL2_OFF.PACKET_TYPE);
  buf.writeUInt8(h.addrLen, off + SLL2_OFF.ADDR_LEN);
  buf.fill(0, off + SLL2_OFF.ADDR, off + SLL2_OFF.ADDR + SLL2_ADDR_MAX);
  Buffer.from(h.addr, 'hex').copy(buf, off + SLL2_OFF.ADDR, 0, SLL2_ADDR_MAX);
  return off + SLL2_HEADER_LEN;
}
