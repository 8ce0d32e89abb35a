/**
 * PPP over Ethernet session stage, RFC 2516 §4 (EtherType 0x8864). A PPP protocol field
 * (2 octets, RFC 2516 §7: no address/control, no field compression) follows the header.
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  VER  | TYPE  |      CODE     |          SESSION_ID           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |            LENGTH             |           payload             ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * LENGTH counts the payload (the PPP protocol field included), not the header.
 */

export const PPPOE_OFF = { VER_TYPE: 0, CODE: 1, SESSION_ID: 2, LENGTH: 4 } as const;
export const PPPOE_HEADER_LEN = 6;

/** Plain header, for building frames and for tests. */
export interface PppoeHeader {
  version: number;
  type: number;
  code: number;
  sessionId: number;
  length: number;
}

/** Reads a PPPoE header; the caller has checked PPPOE_HEADER_LEN bytes. */
export class PppoeView {
  buf: Buffer = Buffer.alloc(0);
  off = 0;
  bind(buf: Buffer, off: number): this {
    this.buf = buf;
    this.off = off;
    return this;
  }
  get version(): number {
    return this.buf.readUInt8(this.off + PPPOE_OFF.VER_TYPE) >>> 4;
  }
  get type(): number {
    return this.buf.readUInt8(this.off + PPPOE_OFF.VER_TYPE) & 0x0f;
  }
  get code(): number {
    return this.buf.readUInt8(this.off + PPPOE_OFF.CODE);
  }
  get sessionId(): number {
    return this.buf.readUInt16BE(this.off + PPPOE_OFF.SESSION_ID);
  }
  get length(): number {
    return this.buf.readUInt16BE(this.off + PPPOE_OFF.LENGTH);
  }
  toHeader(): PppoeHeader {
    return { version: this.version, type: this.type, code: this.code, sessionId: this.sessionId, length: this.length };
  }
}

/** Writes the 6-byte PPPoE header at `off`; returns the offset after it. */
export function emitPppoe(h: PppoeHeader, buf: Buffer, off: number): number {
  buf.writeUInt8(((h.version & 15) << 4) | (h.type & 15), off + PPPOE_OFF.VER_TYPE);
  buf.writeUInt8(h.code, off + PPPOE_OFF.CODE);
  buf.writeUInt16BE(h.sessionId, off + PPPOE_OFF.SESSION_ID);
  buf.writeUInt16BE(h.length, off + PPPOE_OFF.LENGTH);
  return off + PPPOE_HEADER_LEN;
}
