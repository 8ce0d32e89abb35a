/**
 * GRE: RFC 2784 §2 (version 0), with the Key and Sequence Number extensions of RFC 2890 §2,
 * the RFC 1701 §2 routing fields (R bit, Source Route Entries) still seen in captures, and
 * version 1, PPTP's enhanced GRE (RFC 2637 §4.1).
 * ```
 * Version 0:
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |C|R|K|S|s|Recur|  Flags  | Ver |         Protocol Type         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      Checksum (optional)      |  Offset / Reserved1 (optional)|  present if C or R
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         Key (optional)                        |  present if K
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Sequence Number (optional)                    |  present if S
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         Routing (optional, SREs)              |  present if R
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Version 1 (PPTP), protocol type 0x880B, K always set:
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |C|R|K|S|s|Recur|A| Flags | Ver |         Protocol Type         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |    Key (HW) Payload Length    |       Key (LW) Call ID        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                  Sequence Number (Optional)                   |  present if S
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |               Acknowledgment Number (Optional)                |  present if A
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Source Route Entry (RFC 1701 §2.1), list ends with Address Family 0 and SRE Length 0:
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |       Address Family          |  SRE Offset   |  SRE Length   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                        Routing Information ...
 * ```
 * The checksum covers the GRE header and payload (RFC 2784 §2.5).
 */
import { checksumAdd, checksumFinish } from './checksum.js';

export const GRE_OFF = { FLAGS_VER: 0, PROTOCOL: 2, OPTIONAL: 4 } as const;
export const GRE_BASE_HEADER_LEN = 4;
/** Bits of the first 16-bit word. */
export const GRE_FLAG = {
  CHECKSUM: 0x8000,
  ROUTING: 0x4000,
  KEY: 0x2000,
  SEQ: 0x1000,
  STRICT_SOURCE_ROUTE: 0x0800,
  RECURSION_MASK: 0x0700,
  /** Version 1 only: acknowledgment number present (RFC 2637 §4.1). */
  ACK: 0x0080,
  VERSION_MASK: 0x0007,
} as const;
/** Bits carried verbatim by GreHeader.otherFlags. */
export const GRE_OTHER_FLAGS_MASK = 0x0878;
export const GRE_SRE_HEADER_LEN = 4;
/** Most SREs the decoder walks in one GRE header. */
export const GRE_MAX_SRES = 16;

/**
 * Length of the GRE header's fixed and optional 32-bit fields (not the SREs) implied by
 * the flags/version word.
 */
export function greFixedHeaderLen(flagsVer: number): number {
  let len = GRE_BASE_HEADER_LEN;
  if ((flagsVer & GRE_FLAG.VERSION_MASK) === 1) {
    if ((flagsVer & GRE_FLAG.CHECKSUM) !== 0) len += 4;
    if ((flagsVer & GRE_FLAG.KEY) !== 0) len += 4;
    if ((flagsVer & GRE_FLAG.SEQ) !== 0) len += 4;
    if ((flagsVer & GRE_FLAG.ACK) !== 0) len += 4;
    return len;
  }
  if ((flagsVer & (GRE_FLAG.CHECKSUM | GRE_FLAG.ROUTING)) !== 0) len += 4;
  if ((flagsVer & GRE_FLAG.KEY) !== 0) len += 4;
  if ((flagsVer & GRE_FLAG.SEQ) !== 0) len += 4;
  return len;
}

/**
 * Length of the SRE list starting at `start` (terminating entry included), with `avail`
 * bytes readable from `start`. Returns -1 when the list runs past `avail` or has more than
 * GRE_MAX_SRES entries. Does not allocate.
 */
export function greRoutingLen(buf: Buffer, start: number, avail: number): number {
  let p = 0;
  for (let n = 0; n <= GRE_MAX_SRES; n++) {
    if (p + GRE_SRE_HEADER_LEN > avail) return -1;
    const af = buf.readUInt16BE(start + p);
    const sreLen = buf.readUInt8(start + p + 3);
    p += GRE_SRE_HEADER_LEN + sreLen;
    if (af === 0 && sreLen === 0) return p;
  }
  return -1;
}

/** Plain header, for building frames and for tests. An optional field's presence sets its flag bit. */
export interface GreHeader {
  /** 0 (RFC 2784) or 1 (PPTP). */
  version: number;
  protocol: number;
  /** C bit. A number is written verbatim; 'compute' sums header + payload (needs opts.payloadLen). */
  checksum?: number | 'compute';
  /** The 16 bits after the checksum (RFC 1701 Offset; Reserved1 in RFC 2784). */
  offset?: number;
  /** K bit. Version 1: payload length << 16 | call id. */
  key?: number;
  /** S bit. */
  seq?: number;
  /** Version 1 A bit. */
  ack?: number;
  /** R bit: the SRE list as hex, terminating null SRE included. */
  routing?: string;
  /** Recursion control, 3 bits. */
  recursion?: number;
  /** Strict-source-route and reserved flag bits, GRE_OTHER_FLAGS_MASK. */
  otherFlags?: number;
}

/** Options for emitGre. */
export interface EmitGreOptions {
  /** Bytes of payload already in place after the header, for checksum 'compute'. */
  payloadLen: number;
}

/** Reads a GRE header; the caller has checked greFixedHeaderLen() bytes (and the SREs, if any). */
export class GreView {
  buf: Buffer = Buffer.alloc(0);
  off = 0;
  bind(buf: Buffer, off: number): this {
    this.buf = buf;
    this.off = off;
    return this;
  }
  get flagsVer(): number {
    return this.buf.readUInt16BE(this.off + GRE_OFF.FLAGS_VER);
  }
  get version(): number {
    return this.flagsVer & GRE_FLAG.VERSION_MASK;
  }
  get protocol(): number {
    return this.buf.readUInt16BE(this.off + GRE_OFF.PROTOCOL);
  }
  /** Offset of the key field, or -1 when K is clear. */
  keyOffset(): number {
    const f = this.flagsVer;
    if ((f & GRE_FLAG.KEY) === 0) return -1;
    const v1 = (f & GRE_FLAG.VERSION_MASK) === 1;
    return this.off + GRE_OFF.OPTIONAL + ((v1 ? f & GRE_FLAG.CHECKSUM : f & (GRE_FLAG.CHECKSUM | GRE_FLAG.ROUTING)) !== 0 ? 4 : 0);
  }
  /** Offset of the sequence number, or -1 when S is clear. */
  seqOffset(): number {
    const f = this.flagsVer;
    if ((f & GRE_FLAG.SEQ) === 0) return -1;
    const k = this.keyOffset();
    if (k >= 0) return k + 4;
    return this.off + GRE_OFF.OPTIONAL + ((f & (GRE_FLAG.CHECKSUM | GRE_FLAG.ROUTING)) !== 0 ? 4 : 0);
  }
  /** Header length including SREs; -1 when the SRE list is unterminated within the buffer. */
  headerLen(): number {
    const fixed = greFixedHeaderLen(this.flagsVer);
    if ((this.flagsVer & GRE_FLAG.ROUTING) === 0 || this.version !== 0) return fixed;
    const r = greRoutingLen(this.buf, this.off + fixed, this.buf.length - this.off - fixed);
    return r < 0 ? -1 : fixed + r;
  }
  toHeader(): GreHeader {
    const f = this.flagsVer;
    const h: GreHeader = { version: f & GRE_FLAG.VERSION_MASK, protocol: this.protocol };
    let p = this.off + GRE_OFF.OPTIONAL;
    const v1 = h.version === 1;
    if ((f & GRE_FLAG.CHECKSUM) !== 0 || (!v1 && (f & GRE_FLAG.ROUTING) !== 0)) {
      if ((f & GRE_FLAG.CHECKSUM) !== 0) h.checksum = this.buf.readUInt16BE(p);
      h.offset = this.buf.readUInt16BE(p + 2);
      p += 4;
    }
    if ((f & GRE_FLAG.KEY) !== 0) {
      h.key = this.buf.readUInt32BE(p);
      p += 4;
    }
    if ((f & GRE_FLAG.SEQ) !== 0) {
      h.seq = this.buf.readUInt32BE(p);
      p += 4;
    }
    if (v1 && (f & GRE_FLAG.ACK) !== 0) {
      h.ack = this.buf.readUInt32BE(p);
      p += 4;
    }
    if (!v1 && (f & GRE_FLAG.ROUTING) !== 0) {
      const r = greRoutingLen(this.buf, p, this.buf.length - p);
      if (r > 0) h.routing = this.buf.toString('hex', p, p + r);
    }
    if ((f & GRE_FLAG.RECURSION_MASK) !== 0) h.recursion = (f & GRE_FLAG.RECURSION_MASK) >>> 8;
    const other = f & (GRE_OTHER_FLAGS_MASK | (v1 ? 0 : GRE_FLAG.ACK));
    if (other !== 0) h.otherFlags = other;
    return h;
  }
}

/** Writes the GRE header at `off`; returns the offset after it. */
export function emitGre(h: GreHeader, buf: Buffer, off: number, opts?: EmitGreOptions): number {
  const v1 = h.version === 1;
  let f = (h.version & GRE_FLAG.VERSION_MASK) | ((h.otherFlags ?? 0) & (GRE_OTHER_FLAGS_MASK | (v1 ? 0 : GRE_FLAG.ACK)));
  f |= ((h.recursion ?? 0) << 8) & GRE_FLAG.RECURSION_MASK;
  if (h.checksum !== undefined) f |= GRE_FLAG.CHECKSUM;
  if (h.routing !== undefined && !v1) f |= GRE_FLAG.ROUTING;
  if (h.key !== undefined) f |= GRE_FLAG.KEY;
  if (h.seq !== undefined) f |= GRE_FLAG.SEQ;
  if (h.ack !== undefined && v1) f |= GRE_FLAG.ACK;
  buf.writeUInt16BE(f, off + GRE_OFF.FLAGS_VER);
  buf.writeUInt16BE(h.protocol, off + GRE_OFF.PROTOCOL);
  let p = off + GRE_OFF.OPTIONAL;
  let csumAt = -1;
  if ((f & GRE_FLAG.CHECKSUM) !== 0 || (!v1 && (f & GRE_FLAG.ROUTING) !== 0)) {
    if (h.checksum !== undefined) csumAt = p;
    buf.writeUInt16BE(typeof h.checksum === 'number' ? h.checksum : 0, p);
    buf.writeUInt16BE(h.offset ?? 0, p + 2);
    p += 4;
  }
  if (h.key !== undefined) {
    buf.writeUInt32BE(h.key >>> 0, p);
    p += 4;
  }
  if (h.seq !== undefined) {
    buf.writeUInt32BE(h.seq >>> 0, p);
    p += 4;
  }
  if (h.ack !== undefined && v1) {
    buf.writeUInt32BE(h.ack >>> 0, p);
    p += 4;
  }
  if (h.routing !== undefined && !v1) p += buf.write(h.routing, p, h.routing.length / 2, 'hex');
  if (h.checksum === 'compute' && csumAt >= 0) {
    const len = p - off + (opts?.payloadLen ?? 0);
    buf.writeUInt16BE(checksumFinish(checksumAdd(0, buf, off, len)), csumAt);
  }
  return p;
}
