/**
 * IPv6, RFC 8200 §3, extension headers RFC 8200 §4, Jumbo Payload option RFC 2675.
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version| Traffic Class |           Flow Label                  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Payload Length        |  Next Header  |   Hop Limit   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                  Source Address (16 octets)                   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |               Destination Address (16 octets)                 |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Hop-by-Hop / Destination Options / Routing (RFC 8200 §4.3-4.5): length in 8-octet units,
 * not counting the first 8.
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Next Header  |  Hdr Ext Len  |  options / routing data ...   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Fragment (RFC 8200 §4.5), 8 octets:
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Next Header  |   Reserved    |      Fragment Offset    |Res|M|
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         Identification                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Jumbo Payload option (RFC 2675 §2), in Hop-by-Hop, with Payload Length 0:
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Option Type  |  Opt Data Len |     Jumbo Payload Length ...
 * |     0xC2      |       4       |
 * ```
 * Payload Length 0 without a Jumbo option is what a capture before segmentation shows
 * (Linux GSO and IPv6 BIG TCP): the length is then the rest of the frame.
 */
import { formatIPv6, writeIPv6 } from './ip-addr.js';

export const IPV6_OFF = { VER_TC_FLOW: 0, PAYLOAD_LEN: 4, NEXT_HEADER: 6, HOP_LIMIT: 7, SRC: 8, DST: 24 } as const;
export const IPV6_HEADER_LEN = 40;
export const IPV6_ADDR_LEN = 16;
export const IPV6_EXT_OFF = { NEXT_HEADER: 0, HDR_EXT_LEN: 1, FRAG_OFFSET_M: 2, FRAG_ID: 4 } as const;
export const IPV6_FRAGMENT_HEADER_LEN = 8;
/** Most extension headers the decoder walks in one IPv6 packet. */
export const IPV6_MAX_EXT_HEADERS = 16;
export const IPV6_OPT = { PAD1: 0, PADN: 1, JUMBO: 0xc2 } as const;
export const IPV6_JUMBO_OPT_DATA_LEN = 4;

/** Length in bytes of a Hop-by-Hop, Routing or Destination Options header from its Hdr Ext Len. */
export function ipv6ExtLength(hdrExtLen: number): number {
  return (hdrExtLen + 1) * 8;
}

/**
 * Scans the options in [start, end) (the bytes after Next Header and Hdr Ext Len of a
 * Hop-by-Hop header) for the Jumbo Payload option. Returns its Jumbo Payload Length, or -1
 * when there is none or it is not 4 bytes long. The caller has checked [start, end) is present.
 * The loop advances by at least one byte per option, so it ends within end - start steps.
 */
export function ipv6FindJumbo(buf: Buffer, start: number, end: number): number {
  let p = start;
  while (p < end) {
    const type = buf.readUInt8(p);
    if (type === IPV6_OPT.PAD1) {
      p += 1;
      continue;
    }
    if (p + 2 > end) return -1;
    const len = buf.readUInt8(p + 1);
    if (type === IPV6_OPT.JUMBO) {
      if (len !== IPV6_JUMBO_OPT_DATA_LEN || p + 2 + len > end) return -1;
      return buf.readUInt32BE(p + 2);
    }
    p += 2 + len;
  }
  return -1;
}

/** Plain header, for building frames and for tests. */
export interface Ipv6Header {
  trafficClass: number;
  flowLabel: number;
  payloadLength: number;
  nextHeader: number;
  hopLimit: number;
  src: string;
  dst: string;
}

/** Reads the fixed IPv6 header; the caller has checked IPV6_HEADER_LEN bytes. */
export class Ipv6View {
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
  get trafficClass(): number {
    return (this.buf.readUInt32BE(this.off) >>> 20) & 0xff;
  }
  get flowLabel(): number {
    return this.buf.readUInt32BE(this.off) & 0xfffff;
  }
  get payloadLength(): number {
    return this.buf.readUInt16BE(this.off + IPV6_OFF.PAYLOAD_LEN);
  }
  get nextHeader(): number {
    return this.buf.readUInt8(this.off + IPV6_OFF.NEXT_HEADER);
  }
  get hopLimit(): number {
    return this.buf.readUInt8(this.off + IPV6_OFF.HOP_LIMIT);
  }
  toHeader(): Ipv6Header {
    return {
      trafficClass: this.trafficClass,
      flowLabel: this.flowLabel,
      payloadLength: this.payloadLength,
      nextHeader: this.nextHeader,
      hopLimit: this.hopLimit,
      src: formatIPv6(this.buf, this.off + IPV6_OFF.SRC),
      dst: formatIPv6(this.buf, this.off + IPV6_OFF.DST),
    };
  }
}

/** Writes the 40-byte IPv6 header at `off`; returns the offset after it. */
export function emitIpv6(h: Ipv6Header, buf: Buffer, off: number): number {
  buf.writeUInt32BE(((6 << 28) | ((h.trafficClass & 0xff) << 20) | (h.flowLabel & 0xfffff)) >>> 0, off + IPV6_OFF.VER_TC_FLOW);
  buf.writeUInt16BE(h.payloadLength, off + IPV6_OFF.PAYLOAD_LEN);
  buf.writeUInt8(h.nextHeader, off + IPV6_OFF.NEXT_HEADER);
  buf.writeUInt8(h.hopLimit, off + IPV6_OFF.HOP_LIMIT);
  writeIPv6(h.src, buf, off + IPV6_OFF.SRC);
  writeIPv6(h.dst, buf, off + IPV6_OFF.DST);
  return off + IPV6_HEADER_LEN;
}

/** Hop-by-Hop, Destination Options or Routing header: raw body after the first 2 octets. */
export interface Ipv6ExtHeader {
  nextHeader: number;
  /** Bytes after Next Header and Hdr Ext Len, hex; padded with PadN (or zeros for routing) to a multiple of 8 in total. */
  body: string;
}

/** Writes an options/routing extension header at `off`, padding with PadN; returns the offset after it. */
export function emitIpv6Ext(h: Ipv6ExtHeader, buf: Buffer, off: number): number {
  const bodyLen = h.body.length / 2;
  const total = Math.ceil((2 + bodyLen) / 8) * 8;
  buf.writeUInt8(h.nextHeader, off);
  buf.writeUInt8(total / 8 - 1, off + 1);
  buf.write(h.body, off + 2, bodyLen, 'hex');
  const pad = total - 2 - bodyLen;
  if (pad === 1) buf.writeUInt8(IPV6_OPT.PAD1, off + 2 + bodyLen);
  else if (pad > 1) {
    buf.writeUInt8(IPV6_OPT.PADN, off + 2 + bodyLen);
    buf.writeUInt8(pad - 2, off + 3 + bodyLen);
    buf.fill(0, off + 4 + bodyLen, off + total);
  }
  return off + total;
}

/** Writes an 8-byte Hop-by-Hop header holding only a Jumbo Payload option (RFC 2675). */
export function emitIpv6JumboHbh(nextHeader: number, jumboLen: number, buf: Buffer, off: number): number {
  buf.writeUInt8(nextHeader, off);
  buf.writeUInt8(0, off + 1);
  buf.writeUInt8(IPV6_OPT.JUMBO, off + 2);
  buf.writeUInt8(IPV6_JUMBO_OPT_DATA_LEN, off + 3);
  buf.writeUInt32BE(jumboLen >>> 0, off + 4);
  return off + 8;
}

/** Fragment header fields. */
export interface Ipv6FragmentHeader {
  nextHeader: number;
  /** In 8-octet units. */
  fragOffset: number;
  more: boolean;
  id: number;
}

/** Writes the 8-byte Fragment header at `off`; returns the offset after it. */
export function emitIpv6Fragment(h: Ipv6FragmentHeader, buf: Buffer, off: number): number {
  buf.writeUInt8(h.nextHeader, off);
  buf.writeUInt8(0, off + 1);
  buf.writeUInt16BE(((h.fragOffset & 0x1fff) << 3) | (h.more ? 1 : 0), off + IPV6_EXT_OFF.FRAG_OFFSET_M);
  buf.writeUInt32BE(h.id >>> 0, off + IPV6_EXT_OFF.FRAG_ID);
  return off + IPV6_FRAGMENT_HEADER_LEN;
}
