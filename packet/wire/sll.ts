/**
 * Linux "cooked" capture header v1, LINKTYPE_LINUX_SLL (113),
 * https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Packet type          |        ARPHRD_ type           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Link-layer address length     |                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
 * |             Link-layer address (8 octets, zero padded)        |
 * +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                               |        Protocol type          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * Protocol type is an EtherType for most ARPHRD_ types (values below 0x0600 name special
 * framings such as 802.2 LLC; the decoder stops there as unsupported).
 */

export const SLL_OFF = { PACKET_TYPE: 0, ARPHRD: 2, ADDR_LEN: 4, ADDR: 6, PROTOCOL: 14 } as const;
export const SLL_HEADER_LEN = 16;
export const SLL_ADDR_MAX = 8;

/** Packet types (sll_pkttype / PACKET_* in linux/if_packet.h). */
export const SLL_PACKET_TYPE = { HOST: 0, BROADCAST: 1, MULTICAST: 2, OTHERHOST: 3, OUTGOING: 4 } as const;

/** Plain header, for building frames and for tests. `addr` is hex without separators, up to 8 bytes. */
export interface SllHeader {
  packetType: number;
  arphrd: number;
  addrLen: number;
  addr: string;
  protocol: number;
}

/** Reads an SLL header; the caller has checked SLL_HEADER_LEN bytes. */
export class SllView {
  buf: Buffer = Buffer.alloc(0);
  off = 0;

  bind(buf: Buffer, off: number): this {
    this.buf = buf;
    this.off = off;
    return this;
  }
  get packetType(): number {
    return this.buf.readUInt16BE(this.off + SLL_OFF.PACKET_TYPE);
  }
  get arphrd(): number {
    return this.buf.readUInt16BE(this.off + SLL_OFF.ARPHRD);
  }
  get addrLen(): number {
    return this.buf.readUInt16BE(this.off + SLL_OFF.ADDR_LEN);
  }
  get protocol(): number {
    return this.buf.readUInt16BE(this.off + SLL_OFF.PROTOCOL);
  }
  toHeader(): SllHeader {
    const n = Math.min(this.addrLen, SLL_ADDR_MAX);
    const a = this.off + SLL_OFF.ADDR;
    return {
      packetType: this.packetType,
      arphrd: this.arphrd,
      addrLen: this.addrLen,
      addr: this.buf.toString('hex', a, a + n),
      protocol: this.protocol,
    };
  }
}

/** Writes a 16-byte SLL header at `off`; returns the offset after it. */
export function emitSll(h: SllHeader, buf: Buffer, off: number): number {
  buf.writeUInt16BE(h.packetType, off + SLL_OFF.PACKET_TYPE);
  buf.writeUInt16BE(h.arphrd, off + SLL_OFF.ARPHRD);
  buf.writeUInt16BE(h.addrLen, off + SLL_OFF.ADDR_LEN);
  buf.fill(0, off + SLL_OFF.ADDR, off + SLL_OFF.ADDR + SLL_ADDR_MAX);
  Buffer.from(h.addr, 'hex').copy(buf, off + SLL_OFF.ADDR, 0, SLL_ADDR_MAX);
  buf.writeUInt16BE(h.protocol, off + SLL_OFF.PROTOCOL);
  return off + SLL_HEADER_LEN;
}
