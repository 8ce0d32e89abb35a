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
 * The parser's IP fragments put back together, IPv4 and IPv6, for whoever wants whole
 * transport datagrams (TCP segments for reassembly, TCP and UDP datagrams for conversation
 * counts). IPv4 fragments of protocols outside `protocols` are not taken, so they cost no
 * memory; IPv6 fragments all are, since only the offset-0 fragment names the protocol (RFC
 * 8200 §4.5) and a datagram that is none of `protocols` is dropped after reassembly. Capture
 * time drives the defragmenter's timeouts; its counters say what was dropped.
 */
export class FragmentFeed {
  readonly defrag: Defragmenter;
  /** After add() returned true: the transport protocol, and the datagram from its transport header on (valid until the next add). */
  proto = -1;
  l4: Buffer = EMPTY;
  private readonly protocols: ReadonlySet<number>;
  private readonly frag: FragmentIn;

  constructor(protocols: ReadonlySet<number>, defrag: Defragmenter = new Defragmenter()) {
    this.protocols = protocols;
    this.defrag = defrag;
    this.frag = { tsSec: 0, tsNsec: 0, version: 4, id: 0, addrBuf: EMPTY, srcOff: 0, dstOff: 0, protocol: 0, fragOff: 0, moreFragments: false, payload: EMPTY, payloadLen: 0 };
  }

  /**
   * Feeds the parser's last packet when it is a fragment (parser.isFragment) of a datagram
   * this feed takes. True when it completed one: read `proto` and `l4`.
   */
  add(parser: Parser, tsSec: number, tsNsec: number): boolean {
    if (parser.ipVersion === 4 && this.protocols.has(parser.ipProto)) return this.add4(parser, tsSec, tsNsec);
    if (parser.ipVersion === 6 && parser.ipv6FragOffset !== 0) return this.add6(parser, tsSec, tsNsec);
    return false;
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

  private add4(parser: Parser, tsSec: number, tsNsec: number): boolean {
    const d = parser.data;
    const ip = parser.ipOffset;
    const ihl = (d.readUInt8(ip) & 0x0f) * 4;
    const ff = d.readUInt16BE(ip + 6);
    const start = Math.min(ip + ihl, d.length);
    const f = this.fragmentOf(parser, tsSec, tsNsec);
    f.version = 4;
    f.id = d.readUInt16BE(ip + 4);
    f.protocol = parser.ipProto;
    f.fragOff = (ff & 0x1fff) * 8; // fragment offset in 8-byte units, RFC 791
    f.moreFragments = (ff & 0x2000) !== 0; // MF flag
    f.payloadLen = parser.ipPayloadLen;
    f.payload = d.subarray(start, Math.min(start + parser.ipPayloadLen, d.length));
    if (this.defrag.add(f) !== DEFRAG_STATUS.COMPLETE) return false;
    this.proto = this.defrag.protocol;
    this.l4 = this.defrag.payload;
    return true;
  }

  /**
   * An IPv6 fragment: the fragmentable part runs from the end of the Fragment header to the
   * end of the IPv6 payload; Destination Options or AH may come before the transport header
   * in it (RFC 8200 §4.1).
   */
  private add6(parser: Parser, tsSec: number, tsNsec: number): boolean {
    const d = parser.data;
    const fh = parser.ipv6FragOffset;
    const nh = d.readUInt8(fh); // Next Header of the Fragment header
    const ip = parser.ipOffset;
    const end = ip + 40 + d.readUInt16BE(ip + 4); // Payload Length, RFC 8200 §3 (never 0 here: the parser calls that malformed)
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
    if (this.defrag.add(f) !== DEFRAG_STATUS.COMPLETE) return false;
    // Walk what follows the Fragment header to the transport header, capped as the parser caps it.
    let p = this.defrag.payload;
    let proto = this.defrag.protocol;
    for (let i = 0; !this.protocols.has(proto); i++) {
      if (i >= IPV6_MAX_EXT_HEADERS || p.length < 2) return false;
      let len: number;
      if (proto === IPPROTO_DSTOPTS) len = (p.readUInt8(1) + 1) * 8; // RFC 8200 §4.6
      else if (proto === IPPROTO_AH) len = (p.readUInt8(1) + 2) * 4; // RFC 4302 §2.2
      else return false;
      if (len > p.length) return false;
      proto = p.readUInt8(0);
      p = p.subarray(len);
    }
    this.proto = proto;
    this.l4 = p;
    return true;
  }
}

const ONLY_TCP: ReadonlySet<number> = new Set([IPPROTO_TCP]);

/**
 * Decoded packets → reassembler segments, with IPv4 and IPv6 fragments of TCP put back
 * together first (FragmentFeed). Owns one segment, reused: the segment returned is valid
 * until the next call.
 */
export class TcpSegmentFeed {
  readonly defrag: Defragmenter;
  private readonly seg: TcpSegmentIn;
  private readonly frags: FragmentFeed;

  constructor(defrag: Defragmenter = new Defragmenter()) {
    this.frags = new FragmentFeed(ONLY_TCP, defrag);
    this.defrag = defrag;
    this.seg = newTcpSegment();
  }

  /**
   * The segment of the parser's last decode; undefined when there is none yet (not TCP,
   * malformed, or a fragment of a datagram still incomplete).
   */
  next(parser: Parser, tsSec: number, tsNsec: number): TcpSegmentIn | undefined {
    if (parser.isFragment) {
      if (!this.frags.add(parser, tsSec, tsNsec)) return undefined;
      return this.fromDatagram(this.frags.l4, parser, parser.ipVersion === 4 ? 4 : 16, tsSec, tsNsec);
    }
    return fillTcpSegment(this.seg, parser, tsSec, tsNsec) ? this.seg : undefined;
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
