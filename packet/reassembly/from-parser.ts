/**
 * A decoded packet (packet/decode Parser) as a TcpReassembler segment: the one place that
 * maps the parser's innermost IP/TCP fields onto TcpSegmentIn. Does not allocate: the
 * segment's buffers are views of the parser's frame, valid until its next decode().
 */
import type { Parser } from '../decode/parser.js';
import { DECODE_STATUS } from '../decode/status.js';
import type { TcpSegmentIn } from './tcp.js';

const IPPROTO_TCP = 6;
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
