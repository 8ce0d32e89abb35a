/**
 * ICMP for IPv4, RFC 792. The decoder reads type and code only; it does not descend into
 * the IP header quoted by error messages.
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Type      |     Code      |          Checksum             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Rest of header (identifier/sequence, unused, MTU, ...)    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 */
import { IP_PROTO } from './ip-proto.js';
import { l4Checksum, type L4ChecksumOptions } from './l4-checksum.js';

export const ICMP_OFF = { TYPE: 0, CODE: 1, CHECKSUM: 2, REST: 4 } as const;
export const ICMP_HEADER_LEN = 8;
export const ICMP_TYPE = { ECHO_REPLY: 0, DEST_UNREACH: 3, REDIRECT: 5, ECHO_REQUEST: 8, TIME_EXCEEDED: 11 } as const;

/** Plain header (ICMP and ICMPv6 share the shape), for building frames and for tests. */
export interface IcmpHeader {
  type: number;
  code: number;
  /** When absent, the emitter computes it if given an IP header location, else writes 0. */
  checksum?: number;
  /** The 32-bit "rest of header" word. */
  rest: number;
}

/** Reads an ICMP/ICMPv6 header; the caller has checked ICMP_HEADER_LEN bytes. */
export class IcmpView {
  buf: Buffer = Buffer.alloc(0);
  off = 0;
  bind(buf: Buffer, off: number): this {
    this.buf = buf;
    this.off = off;
    return this;
  }
  get type(): number {
    return this.buf.readUInt8(this.off + ICMP_OFF.TYPE);
  }
  get code(): number {
    return this.buf.readUInt8(this.off + ICMP_OFF.CODE);
  }
  get checksum(): number {
    return this.buf.readUInt16BE(this.off + ICMP_OFF.CHECKSUM);
  }
  get rest(): number {
    return this.buf.readUInt32BE(this.off + ICMP_OFF.REST);
  }
  toHeader(): IcmpHeader {
    return { type: this.type, code: this.code, checksum: this.checksum, rest: this.rest };
  }
}

/** @internal shared by emitIcmp and emitIcmpv6. */
export function emitIcmpCommon(h: IcmpHeader, buf: Buffer, off: number, proto: number, opts: L4ChecksumOptions | undefined): number {
  buf.writeUInt8(h.type, off + ICMP_OFF.TYPE);
  buf.writeUInt8(h.code, off + ICMP_OFF.CODE);
  buf.writeUInt16BE(0, off + ICMP_OFF.CHECKSUM);
  buf.writeUInt32BE(h.rest >>> 0, off + ICMP_OFF.REST);
  let sum = h.checksum;
  if (sum === undefined) sum = opts === undefined ? 0 : l4Checksum(buf, opts.ipOffset, off, proto);
  buf.writeUInt16BE(sum, off + ICMP_OFF.CHECKSUM);
  return off + ICMP_HEADER_LEN;
}

/** Writes the 8-byte ICMP header at `off`; returns the offset after it. Checksum as emitUdp. */
export function emitIcmp(h: IcmpHeader, buf: Buffer, off: number, opts?: L4ChecksumOptions): number {
  return emitIcmpCommon(h, buf, off, IP_PROTO.ICMP, opts);
}
