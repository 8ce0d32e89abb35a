/**
 * IP Authentication Header, RFC 4302 §2. The decoder only skips it to reach the protected
 * upper-layer header (Payload Len is in 32-bit words, minus 2).
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Header   |  Payload Len  |          RESERVED             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Security Parameters Index (SPI)               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Sequence Number Field                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                Integrity Check Value-ICV (variable)           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 */

export const AH_OFF = { NEXT_HEADER: 0, PAYLOAD_LEN: 1, RESERVED: 2, SPI: 4, SEQ: 8, ICV: 12 } as const;
export const AH_MIN_LEN = 12;

/** AH length in bytes from its Payload Len octet (RFC 4302 §2.2). */
export function ahLength(payloadLenField: number): number {
  return (payloadLenField + 2) * 4;
}

/** Plain header, for building frames and for tests. */
export interface AhHeader {
  nextHeader: number;
  spi: number;
  seq: number;
  /** Integrity check value as hex, a multiple of 4 bytes. */
  icv: string;
}

/** Writes the AH at `off`; returns the offset after it. */
export function emitAh(h: AhHeader, buf: Buffer, off: number): number {
  const icvLen = h.icv.length / 2;
  const len = AH_MIN_LEN + icvLen;
  buf.writeUInt8(h.nextHeader, off + AH_OFF.NEXT_HEADER);
  buf.writeUInt8(len / 4 - 2, off + AH_OFF.PAYLOAD_LEN);
  buf.writeUInt16BE(0, off + AH_OFF.RESERVED);
  buf.writeUInt32BE(h.spi >>> 0, off + AH_OFF.SPI);
  buf.writeUInt32BE(h.seq >>> 0, off + AH_OFF.SEQ);
  buf.write(h.icv, off + AH_OFF.ICV, icvLen, 'hex');
  return off + len;
}
