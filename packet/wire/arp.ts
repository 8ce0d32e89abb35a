/**
 * ARP, RFC 826 (and RARP, RFC 903, same format).
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |        Hardware type          |        Protocol type          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  HW addr len  | Proto addr len|          Operation            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | sender HW addr, sender proto addr, target HW addr, target proto addr (variable)
 * +-+-+-+-...
 * ```
 */
import { formatMac, writeMac } from './ethernet.js';
import { formatIPv4, writeIPv4 } from './ip-addr.js';

export const ARP_OFF = { HTYPE: 0, PTYPE: 2, HLEN: 4, PLEN: 5, OPER: 6, ADDRS: 8 } as const;
export const ARP_FIXED_LEN = 8;
/** Length of an Ethernet/IPv4 ARP packet. */
export const ARP_ETH_IPV4_LEN = 28;
export const ARP_OPER = { REQUEST: 1, REPLY: 2, RARP_REQUEST: 3, RARP_REPLY: 4 } as const;

/** Total ARP length implied by the fixed part at `off`; the caller has checked ARP_FIXED_LEN bytes. */
export function arpLength(buf: Buffer, off: number): number {
  return ARP_FIXED_LEN + 2 * (buf.readUInt8(off + ARP_OFF.HLEN) + buf.readUInt8(off + ARP_OFF.PLEN));
}

/** Plain Ethernet/IPv4 ARP packet, for building frames and for tests. */
export interface ArpHeader {
  oper: number;
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

/** Reads an Ethernet/IPv4 ARP packet; the caller has checked ARP_ETH_IPV4_LEN bytes. */
export class ArpView {
  buf: Buffer = Buffer.alloc(0);
  off = 0;
  bind(buf: Buffer, off: number): this {
    this.buf = buf;
    this.off = off;
    return this;
  }
  get htype(): number {
    return this.buf.readUInt16BE(this.off + ARP_OFF.HTYPE);
  }
  get ptype(): number {
    return this.buf.readUInt16BE(this.off + ARP_OFF.PTYPE);
  }
  get hlen(): number {
    return this.buf.readUInt8(this.off + ARP_OFF.HLEN);
  }
  get plen(): number {
    return this.buf.readUInt8(this.off + ARP_OFF.PLEN);
  }
  get oper(): number {
    return this.buf.readUInt16BE(this.off + ARP_OFF.OPER);
  }
  toHeader(): ArpHeader {
    const a = this.off + ARP_OFF.ADDRS;
    return {
      oper: this.oper,
      senderMac: formatMac(this.buf, a),
      senderIp: formatIPv4(this.buf, a + 6),
      targetMac: formatMac(this.buf, a + 10),
      targetIp: formatIPv4(this.buf, a + 16),
    };
  }
}

/** Writes a 28-byte Ethernet/IPv4 ARP packet at `off`; returns the offset after it. */
export function emitArp(h: ArpHeader, buf: Buffer, off: number): number {
  buf.writeUInt16BE(1, off + ARP_OFF.HTYPE);
  buf.writeUInt16BE(0x0800, off + ARP_OFF.PTYPE);
  buf.writeUInt8(6, off + ARP_OFF.HLEN);
  buf.writeUInt8(4, off + ARP_OFF.PLEN);
  buf.writeUInt16BE(h.oper, off + ARP_OFF.OPER);
  const a = off + ARP_OFF.ADDRS;
  writeMac(h.senderMac, buf, a);
  writeIPv4(h.senderIp, buf, a + 6);
  writeMac(h.targetMac, buf, a + 10);
  writeIPv4(h.targetIp, buf, a + 16);
  return off + ARP_ETH_IPV4_LEN;
}
