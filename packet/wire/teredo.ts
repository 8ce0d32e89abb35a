/**
 * Teredo, RFC 4380 §5.1.1: IPv6 over UDP (port 3544), optionally preceded by an
 * authentication indicator and/or an origin indication.
 * ```
 * Authentication indicator:
 * +--------+--------+--------+--------+
 * |  0x00  | 0x01   | ID-len | AU-len |
 * +--------+--------+--------+--------+
 * |  Client identifier (ID-len octets)|
 * +--------+--------+--------+--------+
 * |  Authentication value (AU-len)    |
 * +--------+--------+--------+--------+
 * |              Nonce (8 octets)     |
 * +--------+--------+--------+--------+
 * | Conf.  |
 * +--------+
 * Origin indication (port and address XOR-obfuscated with all ones):
 * +--------+--------+-----------------+
 * |  0x00  | 0x00   | Origin port #   |
 * +--------+--------+-----------------+
 * |  Origin IPv4 address              |
 * +--------+--------+--------+--------+
 * ```
 * A packet whose payload after the indicators is not IPv6 is not Teredo data.
 */
import { formatIPv4, writeIPv4 } from './ip-addr.js';

export const TEREDO_PORT = 3544;
export const TEREDO_INDICATOR = { ORIGIN: 0x0000, AUTH: 0x0001 } as const;
export const TEREDO_AUTH_OFF = { TYPE: 0, ID_LEN: 2, AU_LEN: 3, ID: 4 } as const;
/** Auth indicator bytes besides the client id and authentication value: type, lengths, nonce, confirmation. */
export const TEREDO_AUTH_FIXED_LEN = 13;
export const TEREDO_ORIGIN_OFF = { TYPE: 0, PORT: 2, ADDR: 4 } as const;
export const TEREDO_ORIGIN_LEN = 8;

/**
 * Length of the indicators at `off` with `avail` bytes readable: 0 when the payload starts
 * directly with IPv6, -1 when an indicator runs past `avail`. At most one authentication
 * then one origin indicator (RFC 4380 §5.1.1), so there is no loop. Does not allocate.
 */
export function teredoIndicatorsLen(buf: Buffer, off: number, avail: number): number {
  let p = 0;
  if (avail >= 2 && buf.readUInt16BE(off) === TEREDO_INDICATOR.AUTH) {
    if (avail < 4) return -1;
    p = TEREDO_AUTH_FIXED_LEN + buf.readUInt8(off + TEREDO_AUTH_OFF.ID_LEN) + buf.readUInt8(off + TEREDO_AUTH_OFF.AU_LEN);
    if (p > avail) return -1;
  }
  if (avail - p >= 2 && buf.readUInt16BE(off + p) === TEREDO_INDICATOR.ORIGIN) {
    if (p + TEREDO_ORIGIN_LEN > avail) return -1;
    p += TEREDO_ORIGIN_LEN;
  }
  return p;
}

/** Plain indicators, for building frames and for tests. */
export interface TeredoHeader {
  auth?: { clientId: string; authValue: string; nonce: string; confirmation: number };
  /** Origin as seen by the server, de-obfuscated. */
  origin?: { port: number; addr: string };
}

/** Writes the indicators at `off` (nothing when both are absent); returns the offset after them. */
export function emitTeredo(h: TeredoHeader, buf: Buffer, off: number): number {
  let p = off;
  if (h.auth !== undefined) {
    const idLen = h.auth.clientId.length / 2;
    const auLen = h.auth.authValue.length / 2;
    buf.writeUInt16BE(TEREDO_INDICATOR.AUTH, p);
    buf.writeUInt8(idLen, p + 2);
    buf.writeUInt8(auLen, p + 3);
    p += 4;
    p += buf.write(h.auth.clientId, p, idLen, 'hex');
    p += buf.write(h.auth.authValue, p, auLen, 'hex');
    p += buf.write(h.auth.nonce, p, 8, 'hex');
    buf.writeUInt8(h.auth.confirmation, p);
    p += 1;
  }
  if (h.origin !== undefined) {
    buf.writeUInt16BE(TEREDO_INDICATOR.ORIGIN, p);
    buf.writeUInt16BE(h.origin.port ^ 0xffff, p + TEREDO_ORIGIN_OFF.PORT);
    writeIPv4(h.origin.addr, buf, p + TEREDO_ORIGIN_OFF.ADDR);
    buf.writeUInt32BE((buf.readUInt32BE(p + TEREDO_ORIGIN_OFF.ADDR) ^ 0xffffffff) >>> 0, p + TEREDO_ORIGIN_OFF.ADDR);
    p += TEREDO_ORIGIN_LEN;
  }
  return p;
}

/** Reads the indicators at `off` (allocates; tests and tools). `len` from teredoIndicatorsLen. */
export function readTeredo(buf: Buffer, off: number, len: number): TeredoHeader {
  const h: TeredoHeader = {};
  let p = off;
  if (len > 0 && buf.readUInt16BE(p) === TEREDO_INDICATOR.AUTH) {
    const idLen = buf.readUInt8(p + 2);
    const auLen = buf.readUInt8(p + 3);
    const id = p + 4;
    h.auth = {
      clientId: buf.toString('hex', id, id + idLen),
      authValue: buf.toString('hex', id + idLen, id + idLen + auLen),
      nonce: buf.toString('hex', id + idLen + auLen, id + idLen + auLen + 8),
      confirmation: buf.readUInt8(id + idLen + auLen + 8),
    };
    p += TEREDO_AUTH_FIXED_LEN + idLen + auLen;
  }
  if (p < off + len) {
    const a = Buffer.alloc(4);
    a.writeUInt32BE((buf.readUInt32BE(p + TEREDO_ORIGIN_OFF.ADDR) ^ 0xffffffff) >>> 0, 0);
    h.origin = { port: buf.readUInt16BE(p + TEREDO_ORIGIN_OFF.PORT) ^ 0xffff, addr: formatIPv4(a, 0) };
  }
  return h;
}
