/**
 * ERSPAN type II and III encapsulation (draft-foschiano-erspan-03) over GRE with sequence
 * numbers, for mirrored frames sent on a raw IP socket (IPPROTO_GRE). Templates are built
 * once per exporter; per packet the sequence number, index/timestamp and truncation flag are
 * patched in place, without allocation.
 */
import { ETHERTYPE } from '../wire/ethernet.js';
import { emitErspan2, emitErspan3, ERSPAN_FT, ERSPAN_OFF, ERSPAN_SESSION_MASK, ERSPAN_VERSION } from '../wire/erspan.js';
import { emitGre } from '../wire/gre.js';

/** GRE (flags, protocol, sequence) in front of the ERSPAN header. */
const GRE_SEQ_HEADER_LEN = 8;
const GRE_SEQ_OFFSET = 4;

/** Options for an ERSPAN template. */
export interface ErspanEncapOptions {
  /** 2 or 3. */
  version: 2 | 3;
  /** 10-bit session id. */
  sessionId: number;
  /** VLAN of the mirrored frame, if any (informational). */
  vlan?: number;
  cos?: number;
  /** Type III hardware id (6 bits). */
  hwId?: number;
  /** Type III timestamp granularity (Gra), default 0 (100 µs). */
  gra?: number;
  /** Type III direction: 0 ingress, 1 egress. */
  direction?: number;
  /** Type III P bit; default 0. Linux's erspan driver sets 1 (erspan_build_header_v2). */
  p?: number;
}

/**
 * GRE + ERSPAN header to send in front of each frame: `[template.header, frame]`. The setters
 * rewrite it in place, so send (or copy) it before the next packet's setters.
 */
export class ErspanTemplate {
  readonly header: Buffer;
  readonly version: 2 | 3;
  private readonly erspanOff = GRE_SEQ_HEADER_LEN;

  constructor(opts: ErspanEncapOptions) {
    if (!Number.isInteger(opts.sessionId) || opts.sessionId < 0 || opts.sessionId > ERSPAN_SESSION_MASK) {
      throw new RangeError(`ERSPAN session id must be an integer 0..1023, got ${opts.sessionId}`);
    }
    this.version = opts.version;
    const v2 = opts.version === 2;
    this.header = Buffer.alloc(GRE_SEQ_HEADER_LEN + (v2 ? 8 : 12));
    emitGre({ version: 0, protocol: v2 ? ETHERTYPE.ERSPAN_II : ETHERTYPE.ERSPAN_III, seq: 0 }, this.header, 0);
    if (v2) {
      emitErspan2({ version: ERSPAN_VERSION.II, vlan: opts.vlan ?? 0, cos: opts.cos ?? 0, en: 0, t: 0, sessionId: opts.sessionId, index: 0 }, this.header, this.erspanOff);
    } else {
      emitErspan3(
        { version: ERSPAN_VERSION.III, vlan: opts.vlan ?? 0, cos: opts.cos ?? 0, bso: 0, t: 0, sessionId: opts.sessionId, timestamp: 0, sgt: 0, p: opts.p ?? 0, ft: ERSPAN_FT.ETHERNET, hwId: opts.hwId ?? 0, d: opts.direction ?? 0, gra: opts.gra ?? 0 },
        this.header,
        this.erspanOff,
      );
    }
  }

  /** GRE sequence number (mod 2^32). */
  setSeq(seq: number): void {
    this.header.writeUInt32BE(seq >>> 0, GRE_SEQ_OFFSET);
  }

  /** T flag: the mirrored frame was truncated. */
  setTruncated(truncated: boolean): void {
    const at = this.erspanOff + ERSPAN_OFF.COS_SESSION;
    const b = this.header.readUInt8(at);
    this.header.writeUInt8(truncated ? b | 0x04 : b & ~0x04, at);
  }

  /**
   * Per-frame fields of the first word: VLAN (12 bits), COS (3 bits), and En (type II:
   * encapsulation type) or BSO (type III: bad/short/oversized), 2 bits. Does not allocate.
   */
  setFrameInfo(vlan: number, cos: number, enOrBso: number): void {
    const at = this.erspanOff;
    this.header.writeUInt16BE((this.header.readUInt16BE(at) & 0xf000) | (vlan & 0x0fff), at);
    const w = this.header.readUInt16BE(at + ERSPAN_OFF.COS_SESSION);
    this.header.writeUInt16BE((w & 0x07ff & ~0x1800) | ((cos & 7) << 13) | ((enOrBso & 3) << 11), at + ERSPAN_OFF.COS_SESSION);
  }

  /** Type II: 20-bit index (port / ifindex of the mirrored interface). */
  setIndex(index: number): void {
    if (this.version !== 2) return;
    const at = this.erspanOff + ERSPAN_OFF.II_INDEX;
    const w = this.header.readUInt32BE(at);
    this.header.writeUInt32BE(((w & 0xfff00000) | (index & 0xfffff)) >>> 0, at);
  }

  /** Type III: 32-bit timestamp in units of the configured granularity. */
  setTimestamp(ts: number): void {
    if (this.version !== 3) return;
    this.header.writeUInt32BE(ts >>> 0, this.erspanOff + ERSPAN_OFF.III_TIMESTAMP);
  }
}
