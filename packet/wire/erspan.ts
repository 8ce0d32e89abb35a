/**
 * ERSPAN, draft-foschiano-erspan-03 (Cisco Encapsulated Remote SPAN), over GRE:
 * type I: GRE protocol 0x88BE without a GRE sequence number, no ERSPAN header (§4.1);
 * type II: GRE protocol 0x88BE with a sequence number, 8-octet header, Ver = 1 (§4.2);
 * type III: GRE protocol 0x22EB, 12-octet header, Ver = 2, plus an 8-octet platform
 * specific subheader when O is set (§4.3).
 * ```
 * Type II:
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Ver  |          VLAN         | COS | En|T|    Session ID     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      Reserved         |                  Index                |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Type III:
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Ver  |          VLAN         | COS |BSO|T|     Session ID    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                          Timestamp                            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |             SGT               |P|    FT   |   Hw ID   |D|Gra|O|
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * Platform Specific SubHeader (present when O = 1):
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Platf ID |               Platform Specific Info              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                  Platform Specific Info                       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * FT (frame type) 0 is Ethernet; 2 is IP (no L2). Gra is the timestamp granularity.
 */

export const ERSPAN_OFF = { VER_VLAN: 0, COS_SESSION: 2, II_INDEX: 4, III_TIMESTAMP: 4, III_SGT: 8, III_FLAGS: 10, III_PLATFORM: 12 } as const;
export const ERSPAN_II_HEADER_LEN = 8;
export const ERSPAN_III_HEADER_LEN = 12;
export const ERSPAN_III_PLATFORM_LEN = 8;
/** The Ver field: 1 in a type II header, 2 in a type III header. */
export const ERSPAN_VERSION = { II: 1, III: 2 } as const;
/** Type III frame types. */
export const ERSPAN_FT = { ETHERNET: 0, IP: 2 } as const;
/** O flag, bit 0 of the type III flags word. */
export const ERSPAN_III_FLAG_O = 0x0001;
export const ERSPAN_SESSION_MASK = 0x03ff;

/** Plain type II header, for building frames and for tests. */
export interface Erspan2Header {
  /** The Ver field; ERSPAN_VERSION.II. */
  version: number;
  vlan: number;
  cos: number;
  /** Encapsulation type (En), 2 bits. */
  en: number;
  /** Truncated flag. */
  t: number;
  sessionId: number;
  index: number;
  reserved?: number;
}

/** Plain type III header. */
export interface Erspan3Header {
  /** The Ver field; ERSPAN_VERSION.III. */
  version: number;
  vlan: number;
  cos: number;
  /** Bad/short/oversized (BSO), 2 bits. */
  bso: number;
  t: number;
  sessionId: number;
  timestamp: number;
  sgt: number;
  /** P: 1 = Ethernet frame with its 802.1Q tag preserved. */
  p: number;
  /** Frame type, 5 bits: ERSPAN_FT. */
  ft: number;
  hwId: number;
  /** Direction: 0 ingress, 1 egress. */
  d: number;
  /** Timestamp granularity, 2 bits. */
  gra: number;
  /** Platform specific subheader; its presence sets O. */
  platform?: { id: number; infoHi: number; infoLo: number };
}

/** Reads the first word common to types II and III; the caller has checked 4 bytes. */
export class ErspanView {
  buf: Buffer = Buffer.alloc(0);
  off = 0;
  bind(buf: Buffer, off: number): this {
    this.buf = buf;
    this.off = off;
    return this;
  }
  get version(): number {
    return this.buf.readUInt8(this.off) >>> 4;
  }
  get vlan(): number {
    return this.buf.readUInt16BE(this.off) & 0x0fff;
  }
  get cos(): number {
    return this.buf.readUInt8(this.off + ERSPAN_OFF.COS_SESSION) >>> 5;
  }
  get sessionId(): number {
    return this.buf.readUInt16BE(this.off + ERSPAN_OFF.COS_SESSION) & ERSPAN_SESSION_MASK;
  }
  /** Type II: En; type III: BSO. */
  get enOrBso(): number {
    return (this.buf.readUInt8(this.off + ERSPAN_OFF.COS_SESSION) >>> 3) & 3;
  }
  get t(): number {
    return (this.buf.readUInt8(this.off + ERSPAN_OFF.COS_SESSION) >>> 2) & 1;
  }
  /** Type III flags word (SGT excluded); the caller has checked 12 bytes. */
  get iiiFlags(): number {
    return this.buf.readUInt16BE(this.off + ERSPAN_OFF.III_FLAGS);
  }
  /** Type III frame type. */
  get ft(): number {
    return (this.iiiFlags >>> 10) & 0x1f;
  }
  /** Type III header length: 12, or 20 with the platform subheader. */
  get iiiHeaderLen(): number {
    return ERSPAN_III_HEADER_LEN + ((this.iiiFlags & ERSPAN_III_FLAG_O) !== 0 ? ERSPAN_III_PLATFORM_LEN : 0);
  }
  toHeader2(): Erspan2Header {
    const w2 = this.buf.readUInt32BE(this.off + ERSPAN_OFF.II_INDEX);
    const h: Erspan2Header = { version: this.version, vlan: this.vlan, cos: this.cos, en: this.enOrBso, t: this.t, sessionId: this.sessionId, index: w2 & 0xfffff };
    if (w2 >>> 20 !== 0) h.reserved = w2 >>> 20;
    return h;
  }
  toHeader3(): Erspan3Header {
    const f = this.iiiFlags;
    const h: Erspan3Header = {
      version: this.version,
      vlan: this.vlan,
      cos: this.cos,
      bso: this.enOrBso,
      t: this.t,
      sessionId: this.sessionId,
      timestamp: this.buf.readUInt32BE(this.off + ERSPAN_OFF.III_TIMESTAMP),
      sgt: this.buf.readUInt16BE(this.off + ERSPAN_OFF.III_SGT),
      p: f >>> 15,
      ft: (f >>> 10) & 0x1f,
      hwId: (f >>> 4) & 0x3f,
      d: (f >>> 3) & 1,
      gra: (f >>> 1) & 3,
    };
    if ((f & ERSPAN_III_FLAG_O) !== 0) {
      const hi = this.buf.readUInt32BE(this.off + ERSPAN_OFF.III_PLATFORM);
      h.platform = { id: hi >>> 26, infoHi: hi & 0x03ffffff, infoLo: this.buf.readUInt32BE(this.off + ERSPAN_OFF.III_PLATFORM + 4) };
    }
    return h;
  }
}

function emitFirstWord(version: number, vlan: number, cos: number, two: number, t: number, session: number, buf: Buffer, off: number): void {
  buf.writeUInt16BE(((version & 15) << 12) | (vlan & 0x0fff), off);
  buf.writeUInt16BE(((cos & 7) << 13) | ((two & 3) << 11) | ((t & 1) << 10) | (session & ERSPAN_SESSION_MASK), off + 2);
}

/** Writes the 8-byte type II header at `off`; returns the offset after it. */
export function emitErspan2(h: Erspan2Header, buf: Buffer, off: number): number {
  emitFirstWord(h.version, h.vlan, h.cos, h.en, h.t, h.sessionId, buf, off);
  buf.writeUInt32BE((((h.reserved ?? 0) & 0xfff) * 0x100000 + (h.index & 0xfffff)) >>> 0, off + ERSPAN_OFF.II_INDEX);
  return off + ERSPAN_II_HEADER_LEN;
}

/** Writes the type III header (and platform subheader when given) at `off`; returns the offset after it. */
export function emitErspan3(h: Erspan3Header, buf: Buffer, off: number): number {
  emitFirstWord(h.version, h.vlan, h.cos, h.bso, h.t, h.sessionId, buf, off);
  buf.writeUInt32BE(h.timestamp >>> 0, off + ERSPAN_OFF.III_TIMESTAMP);
  buf.writeUInt16BE(h.sgt, off + ERSPAN_OFF.III_SGT);
  const o = h.platform !== undefined ? 1 : 0;
  buf.writeUInt16BE(((h.p & 1) << 15) | ((h.ft & 0x1f) << 10) | ((h.hwId & 0x3f) << 4) | ((h.d & 1) << 3) | ((h.gra & 3) << 1) | o, off + ERSPAN_OFF.III_FLAGS);
  if (h.platform === undefined) return off + ERSPAN_III_HEADER_LEN;
  buf.writeUInt32BE((((h.platform.id & 0x3f) << 26) | (h.platform.infoHi & 0x03ffffff)) >>> 0, off + ERSPAN_OFF.III_PLATFORM);
  buf.writeUInt32BE(h.platform.infoLo >>> 0, off + ERSPAN_OFF.III_PLATFORM + 4);
  return off + ERSPAN_III_HEADER_LEN + ERSPAN_III_PLATFORM_LEN;
}
