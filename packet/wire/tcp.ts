/**
 * TCP, RFC 9293 §3.1 (ECN flags RFC 3168; the former NS bit, RFC 3540 (historic), is the
 * AE bit of Accurate ECN).
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Source Port          |       Destination Port        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                        Sequence Number                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Acknowledgment Number                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Data |     |A|C|E|U|A|P|R|S|F|                               |
 * | Offset| Rsv |E|W|C|R|C|S|S|Y|I|            Window             |
 * |       |     | |R|E|G|K|H|T|N|N|                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           Checksum            |         Urgent Pointer        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Options                    |    Padding    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * Data Offset is in 32-bit words, >= 5.
 */
import { IP_PROTO } from './ip-proto.js';
import { l4Checksum, type L4ChecksumOptions } from './l4-checksum.js';

export const TCP_OFF = { SPORT: 0, DPORT: 2, SEQ: 4, ACK: 8, DOFF: 12, FLAGS: 13, WINDOW: 14, CHECKSUM: 16, URGENT: 18, OPTIONS: 20 } as const;
export const TCP_MIN_HEADER_LEN = 20;
export const TCP_MAX_HEADER_LEN = 60;

export const TCP_OPT = { EOL: 0, NOP: 1, MSS: 2, WSCALE: 3, SACK_PERMITTED: 4, SACK: 5, TIMESTAMP: 8 } as const;

export { TCP_FLAG, tcpFlagsString } from './tcp-flags.js';

/** Plain header, for building frames and for tests. */
export interface TcpHeader {
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  /** TCP_FLAG bits, AE as 0x100. */
  flags: number;
  window: number;
  /** When absent, emitTcp computes it if given an IP header location, else writes 0. */
  checksum?: number;
  urgent: number;
  /** Options as hex, a multiple of 4 bytes. */
  options?: string;
}

/** Reads a TCP header; the caller has checked dataOffset*4 bytes (at least 20). */
export class TcpView {
  buf: Buffer = Buffer.alloc(0);
  off = 0;
  bind(buf: Buffer, off: number): this {
    this.buf = buf;
    this.off = off;
    return this;
  }
  get sport(): number {
    return this.buf.readUInt16BE(this.off + TCP_OFF.SPORT);
  }
  get dport(): number {
    return this.buf.readUInt16BE(this.off + TCP_OFF.DPORT);
  }
  get seq(): number {
    return this.buf.readUInt32BE(this.off + TCP_OFF.SEQ);
  }
  get ack(): number {
    return this.buf.readUInt32BE(this.off + TCP_OFF.ACK);
  }
  get headerLen(): number {
    return (this.buf.readUInt8(this.off + TCP_OFF.DOFF) >>> 4) * 4;
  }
  get flags(): number {
    return this.buf.readUInt8(this.off + TCP_OFF.FLAGS) | ((this.buf.readUInt8(this.off + TCP_OFF.DOFF) & 1) << 8);
  }
  get window(): number {
    return this.buf.readUInt16BE(this.off + TCP_OFF.WINDOW);
  }
  get checksum(): number {
    return this.buf.readUInt16BE(this.off + TCP_OFF.CHECKSUM);
  }
  get urgent(): number {
    return this.buf.readUInt16BE(this.off + TCP_OFF.URGENT);
  }
  toHeader(): TcpHeader {
    const h: TcpHeader = {
      sport: this.sport,
      dport: this.dport,
      seq: this.seq,
      ack: this.ack,
      flags: this.flags,
      window: this.window,
      checksum: this.checksum,
      urgent: this.urgent,
    };
    if (this.headerLen > TCP_MIN_HEADER_LEN) h.options = this.buf.toString('hex', this.off + TCP_OFF.OPTIONS, this.off + this.headerLen);
    return h;
  }
}

/**
 * Finds option `kind` in the TCP header at `off` whose header length (dataOffset*4) is
 * `headerLen` and fully present. Returns the offset of the option's kind octet, or -1.
 * Stops at EOL or at an option whose length is < 2 or runs past the header; each step
 * advances, so it ends within 40 steps. Does not allocate.
 */
export function findTcpOption(buf: Buffer, off: number, headerLen: number, kind: number): number {
  const end = off + headerLen;
  let p = off + TCP_MIN_HEADER_LEN;
  while (p < end) {
    const k = buf.readUInt8(p);
    if (k === TCP_OPT.EOL) return -1;
    if (k === TCP_OPT.NOP) {
      p += 1;
      continue;
    }
    if (p + 2 > end) return -1;
    const len = buf.readUInt8(p + 1);
    if (len < 2 || p + len > end) return -1;
    if (k === kind) return p;
    p += len;
  }
  return -1;
}

/**
 * Writes the TCP header at `off`; returns the offset after it. With `opts.ipOffset` and no
 * `h.checksum`, computes the checksum over the pseudo-header, header and payload (the
 * payload and the IP length field must already be in place).
 */
export function emitTcp(h: TcpHeader, buf: Buffer, off: number, opts?: L4ChecksumOptions): number {
  const optLen = h.options === undefined ? 0 : h.options.length / 2;
  if (optLen % 4 !== 0 || optLen > TCP_MAX_HEADER_LEN - TCP_MIN_HEADER_LEN) {
    throw new RangeError(`TCP options must be a multiple of 4 bytes, at most 40; got ${optLen}`);
  }
  const hl = TCP_MIN_HEADER_LEN + optLen;
  buf.writeUInt16BE(h.sport, off + TCP_OFF.SPORT);
  buf.writeUInt16BE(h.dport, off + TCP_OFF.DPORT);
  buf.writeUInt32BE(h.seq >>> 0, off + TCP_OFF.SEQ);
  buf.writeUInt32BE(h.ack >>> 0, off + TCP_OFF.ACK);
  buf.writeUInt8(((hl >>> 2) << 4) | ((h.flags >>> 8) & 1), off + TCP_OFF.DOFF);
  buf.writeUInt8(h.flags & 0xff, off + TCP_OFF.FLAGS);
  buf.writeUInt16BE(h.window, off + TCP_OFF.WINDOW);
  buf.writeUInt16BE(0, off + TCP_OFF.CHECKSUM);
  buf.writeUInt16BE(h.urgent, off + TCP_OFF.URGENT);
  if (h.options !== undefined && optLen > 0) buf.write(h.options, off + TCP_OFF.OPTIONS, optLen, 'hex');
  let sum = h.checksum;
  if (sum === undefined) sum = opts === undefined ? 0 : l4Checksum(buf, opts.ipOffset, off, IP_PROTO.TCP);
  buf.writeUInt16BE(sum, off + TCP_OFF.CHECKSUM);
  return off + hl;
}
