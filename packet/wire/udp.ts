/**
 * UDP, RFC 768 (checksum over the IPv6 pseudo-header: RFC 8200 §8.1).
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Source Port          |       Destination Port        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |            Length             |           Checksum            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * Length counts header and data. Length 0 appears in IPv6 jumbograms (RFC 2675 §4) and in
 * captures of Linux UDP GSO super-packets: the length is then the IP payload's.
 */
import { IP_PROTO } from './ip-proto.js';
import { l4Checksum, type L4ChecksumOptions } from './l4-checksum.js';

export const UDP_OFF = { SPORT: 0, DPORT: 2, LENGTH: 4, CHECKSUM: 6 } as const;
export const UDP_HEADER_LEN = 8;

/** Plain header, for building frames and for tests. */
export interface UdpHeader {
  sport: number;
  dport: number;
  /** Header + data. */
  length: number;
  /** When absent, emitUdp computes it if given an IP header location, else writes 0 (no checksum). */
  checksum?: number;
}

/** Reads a UDP header; the caller has checked UDP_HEADER_LEN bytes. */
export class UdpView {
  buf: Buffer = Buffer.alloc(0);
  off = 0;
  bind(buf: Buffer, off: number): this {
    this.buf = buf;
    this.off = off;
    return this;
  }
  get sport(): number {
    return this.buf.readUInt16BE(this.off + UDP_OFF.SPORT);
  }
  get dport(): number {
    return this.buf.readUInt16BE(this.off + UDP_OFF.DPORT);
  }
  get length(): number {
    return this.buf.readUInt16BE(this.off + UDP_OFF.LENGTH);
  }
  get checksum(): number {
    return this.buf.readUInt16BE(this.off + UDP_OFF.CHECKSUM);
  }
  toHeader(): UdpHeader {
    return { sport: this.sport, dport: this.dport, length: this.length, checksum: this.checksum };
  }
}

/**
 * Writes the UDP header at `off`; returns the offset after it. With `opts.ipOffset` and no
 * `h.checksum`, computes the checksum (payload and IP length field must be in place); a
 * computed 0 is sent as 0xffff (RFC 768).
 */
export function emitUdp(h: UdpHeader, buf: Buffer, off: number, opts?: L4ChecksumOptions): number {
  buf.writeUInt16BE(h.sport, off + UDP_OFF.SPORT);
  buf.writeUInt16BE(h.dport, off + UDP_OFF.DPORT);
  buf.writeUInt16BE(h.length, off + UDP_OFF.LENGTH);
  buf.writeUInt16BE(0, off + UDP_OFF.CHECKSUM);
  let sum = h.checksum;
  if (sum === undefined && opts !== undefined) {
    sum = l4Checksum(buf, opts.ipOffset, off, IP_PROTO.UDP);
    if (sum === 0) sum = 0xffff;
  }
  buf.writeUInt16BE(sum ?? 0, off + UDP_OFF.CHECKSUM);
  return off + UDP_HEADER_LEN;
}
