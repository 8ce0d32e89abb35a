/**
 * A decoded packet (packet/decode Parser) as a TcpReassembler segment: the one place that
 * maps the parser's innermost IP/TCP fields onto TcpSegmentIn. Does not allocate: the
 * segment's buffers are views of the parser's frame, valid until its next decode().
 */
import type { Parser } from '../decode/parser.js';
import { DECODE_STATUS } from '../decode/status.js';
import { DEFRAG_STATUS, Defragmenter, type FragmentIn } from './defrag.js';
import type { TcpSegmentIn } from './tcp.js';
import { IPV6_MAX_EXT_HEADERS } from '../wire/ipv6.js';

const IPPROTO_TCP = 6;
const IPPROTO_DSTOPTS = 60;
const IPPROTO_AH = 51;
const EMPTY = Buffer.alloc(0);

/** A segment to fill and reuse. */
export function newTcpSegment(): TcpSegmentIn {
  return { tsSec: 0, tsNsec: 0, addrBuf: EMPTY, srcOff: 0, dstOff: 0, addrLen: 4, sport: 0, dport: 0, seq: 0, ack: 0, flags: 0, window: 0, wscale: -1, payload: EMPTY, payloadLen: 0 };
}

/**
 * Fills `seg` from the parser's last decode. False (seg untouched) when the packet is not a
 * whole TCP segment the reassembler can take: no IP, not TCP, a fragment (defragment
 * first), or malformed.
 */
export function fillTcpSegment(seg: TcpSegmentIn, parser: Parser, tsSec: number, tsNsec: number): boolean {
  if (parser.ipVersion === 0 || parser.l4Proto !== IPPROTO_TCP || parser.isFragment || parser.status === DECODE_STATUS.MALFORMED) return false;
  seg.tsSec = tsSec;
  seg.tsNsec = tsNsec;
  seg.addrBuf = parser.data;
  seg.srcOff = parser.ipSrcOffset;
  seg.dstOff = parser.ipDstOffset;
  seg.addrLen = parser.ipVersion === 4 ? 4 : 16;
  seg.sport = parser.sport;
  seg.dport = parser.dport;
  seg.seq = parser.seq;
  seg.ack = parser.ack;
  seg.flags = parser.tcpFlags & 0xff;
  seg.window = parser.tcpWindow;
  seg.wscale = parser.tcpWscale;
  const start = Math.min(parser.payloadOffset, parser.data.length);
  const end = Math.min(parser.payloadOffset + parser.payloadLen, parser.data.length);
  seg.payload = parser.data.subarray(start, Math.max(start, end));
  seg.payloadLen = parser.payloadLen;
  return true;
}

/**
 * Decoded packets → reassembler segments, with IPv4 and IPv6 fragments of TCP put back
 * together first (capture time drives the defragmenter's timeouts; its counters say what was
 * dropped). Owns one segment and one fragment record, reused: the segment returned is valid
 * until the next call.
 */
export class TcpSegmentFeed {
  readonly defrag: Defragmenter;
  private readonly seg: TcpSegmentIn;
  private readonly frag: FragmentIn;

  constructor(defrag: Defragmenter = new Defragmenter()) {
    this.defrag = defrag;
    this.seg = newTcpSegment();
    this.frag = { tsSec: 0, tsNsec: 0, version: 4, id: 0, addrBuf: EMPTY, srcOff: 0, dstOff: 0, protocol: 0, fragOff: 0, moreFragments: false, payload: EMPTY, payloadLen: 0 };
  }

  /**
   * The segment of the parser's last decode; undefined when there is none yet (not TCP,
   * malformed, or a fragment of a datagram still incomplete).
   */
  next(parser: Parser, tsSec: number, tsNsec: number): TcpSegmentIn | undefined {
    if (parser.isFragment) {
      if (parser.ipVersion === 4 && parser.ipProto === IPPROTO_TCP) return this.fromFragment4(parser, tsSec, tsNsec);
      if (parser.ipVersion === 6 && parser.ipv6FragOffset !== 0) return this.fromFragment6(parser, tsSec, tsNsec);
      return undefined;
    }
    return fillTcpSegment(this.seg, parser, tsSec, tsNsec) ? this.seg : undefined;
  }

  /** The reused fragment record with the time and addresses of the parser's last packet. */
  private fragmentOf(parser: Parser, tsSec: number, tsNsec: number): FragmentIn {
    const f = this.frag;
    f.tsSec = tsSec;
    f.tsNsec = tsNsec;
    f.addrBuf = parser.data;
    f.srcOff = parser.ipSrcOffset;
    f.dstOff = parser.ipDstOffset;
    return f;
  }

  private fromFragment4(parser: Parser, tsSec: number, tsNsec: number): TcpSegmentIn | undefined {
    const d = parser.data;
    const ip = parser.ipOffset;
    const ihl = (d.readUInt8(ip) & 0x0f) * 4;
    const ff = d.readUInt16BE(ip + 6);
    const start = Math.min(ip + ihl, d.length);
    const f = this.fragmentOf(parser, tsSec, tsNsec);
    f.version = 4;
    f.id = d.readUInt16BE(ip + 4);
    f.protocol = IPPROTO_TCP;
    f.fragOff = (ff & 0x1fff) * 8; // fragment offset in 8-byte units, RFC 791
    f.moreFragments = (ff & 0x2000) !== 0; // MF flag
    f.payloadLen = parser.ipPayloadLen;
    f.payload = d.subarray(start, Math.min(start + parser.ipPayloadLen, d.length));
    if (this.defrag.add(f) !== DEFRAG_STATUS.COMPLETE) return undefined;
    return this.fromDatagram(this.defrag.payload, parser, 4, tsSec, tsNsec);
  }

  /**
   * An IPv6 fragment. Only the offset-0 fragment's Next Header counts (RFC 8200 §4.5), so
   * every fragment goes to the defragmenter (keyed by addresses and identification); a
   * datagram that turns out not to be TCP is dropped after reassembly. The fragmentable part
   * runs from the end of the Fragment header to the end of the IPv6 payload; Destination
   * Options or AH may come before TCP in it (RFC 8200 §4.1).
   */
  private fromFragment6(parser: Parser, tsSec: number, tsNsec: number): TcpSegmentIn | undefined {
    const d = parser.data;
    const fh = parser.ipv6FragOffset;
    const nh = d.readUInt8(fh); // Next Header of the Fragment header
    const ip = parser.ipOffset;
    const plen = d.readUInt16BE(ip + 4); // Payload Length, RFC 8200 §3
    // Payload length 0 (jumbogram) cannot carry a Fragment header (RFC 2675 §3): to the frame's end.
    const end = plen !== 0 ? ip + 40 + plen : Math.max(d.length, parser.wireLen);
    const start = fh + 8;
    const fo = d.readUInt16BE(fh + 2);
    const f = this.fragmentOf(parser, tsSec, tsNsec);
    f.version = 6;
    f.id = d.readUInt32BE(fh + 4);
    f.protocol = nh;
    f.fragOff = fo & 0xfff8; // 13-bit offset in 8-byte units, in the top bits
    f.moreFragments = (fo & 1) !== 0; // M flag
    f.payloadLen = Math.max(0, end - start);
    f.payload = d.subarray(Math.min(start, d.length), Math.min(end, d.length));
    if (this.defrag.add(f) !== DEFRAG_STATUS.COMPLETE) return undefined;
    // Walk what follows the Fragment header to TCP, capped as the parser caps it.
    let p = this.defrag.payload;
    let proto = this.defrag.protocol;
    for (let i = 0; proto !== IPPROTO_TCP; i++) {
      if (i >= IPV6_MAX_EXT_HEADERS || p.length < 2) return undefined;
      let len: number;
      if (proto === IPPROTO_DSTOPTS) len = (p.readUInt8(1) + 1) * 8; // RFC 8200 §4.6
      else if (proto === IPPROTO_AH) len = (p.readUInt8(1) + 2) * 4; // RFC 4302 §2.2
      else return undefined;
      if (len > p.length) return undefined;
      proto = p.readUInt8(0);
      p = p.subarray(len);
    }
    return this.fromDatagram(p, parser, 16, tsSec, tsNsec);
  }

  /** The reassembled TCP segment `tcp` (header and data) from the addresses of the parser's last packet. */
  private fromDatagram(tcp: Buffer, parser: Parser, addrLen: 4 | 16, tsSec: number, tsNsec: number): TcpSegmentIn | undefined {
    if (tcp.length < 20) return undefined;
    const hl = (tcp.readUInt8(12) >>> 4) * 4; // data offset, RFC 9293 §3.1
    if (hl < 20 || hl > tcp.length) return undefined;
    const seg = this.seg;
    seg.tsSec = tsSec;
    seg.tsNsec = tsNsec;
    seg.addrBuf = parser.data;
    seg.srcOff = parser.ipSrcOffset;
    seg.dstOff = parser.ipDstOffset;
    seg.addrLen = addrLen;
    seg.sport = tcp.readUInt16BE(0);
    seg.dport = tcp.readUInt16BE(2);
    seg.seq = tcp.readUInt32BE(4);
    seg.ack = tcp.readUInt32BE(8);
    seg.flags = tcp.readUInt8(13);
    seg.window = tcp.readUInt16BE(14);
    seg.wscale = -1;
    seg.payload = tcp.subarray(hl);
    seg.payloadLen = tcp.length - hl;
    return seg;
  }
}
