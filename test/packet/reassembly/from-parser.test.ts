import t from 'tap';

import { Parser } from '../../../packet/decode/parser.js';
import { TcpSegmentFeed, fillTcpSegment, newTcpSegment } from '../../../packet/reassembly/from-parser.js';
import { buildTcpFrame, buildUdpFrame } from '../../../packet/synth/traffic.js';

const A = { mac: '02:00:00:00:00:01', ip: '10.0.0.1', port: 40000 };
const B = { mac: '02:00:00:00:00:02', ip: '10.0.0.2', port: 80 };
const LINKTYPE_ETHERNET = 1;

/** Splits the IPv4 payload of `frame` at byte `at` (a multiple of 8) into two fragments. */
function fragment(frame: Buffer, at: number): [Buffer, Buffer] {
  const ip = 14;
  const ihl = (frame.readUInt8(ip) & 0x0f) * 4;
  const payload = frame.subarray(ip + ihl);
  const make = (part: Buffer, off: number, more: boolean): Buffer => {
    const f = Buffer.concat([frame.subarray(0, ip + ihl), part]);
    f.writeUInt16BE(ihl + part.length, ip + 2); // total length
    f.writeUInt16BE(0x1234, ip + 4); // identification
    f.writeUInt16BE((more ? 0x2000 : 0) | (off / 8), ip + 6); // MF, offset in 8-byte units
    return f;
  };
  return [make(payload.subarray(0, at), 0, true), make(payload.subarray(at), at, false)];
}

t.test('fills a segment from a decoded TCP frame; refuses UDP', async (t) => {
  const p = new Parser();
  const seg = newTcpSegment();
  p.decode(buildTcpFrame(A, B, { seq: 7, ack: 9, flags: 0x18 }, Buffer.from('AAAA')), LINKTYPE_ETHERNET, 58);
  t.ok(fillTcpSegment(seg, p, 5, 6));
  t.same([seg.sport, seg.dport, seg.seq, seg.ack, seg.flags, seg.payload.toString(), seg.payloadLen, seg.addrLen, seg.tsSec, seg.tsNsec], [40000, 80, 7, 9, 0x18, 'AAAA', 4, 4, 5, 6]);
  p.decode(buildUdpFrame(A, B, Buffer.from('x')), LINKTYPE_ETHERNET, 43);
  t.notOk(fillTcpSegment(seg, p, 5, 6));
});

t.test('TcpSegmentFeed: IPv4 fragments of a TCP segment come out as one segment, in either order', async (t) => {
  const payload = Buffer.concat([Buffer.alloc(1000, 'A'), Buffer.alloc(1000, 'B')]);
  const whole = buildTcpFrame(A, B, { seq: 100, ack: 200, flags: 0x18 }, payload);
  for (const order of [[0, 1], [1, 0]] as const) {
    const frags = fragment(whole, 1008);
    const feed = new TcpSegmentFeed();
    const p = new Parser();
    p.decode(frags[order[0]], LINKTYPE_ETHERNET, frags[order[0]].length);
    t.equal(feed.next(p, 1, 0), undefined, 'the first fragment alone: nothing yet');
    p.decode(frags[order[1]], LINKTYPE_ETHERNET, frags[order[1]].length);
    const seg = feed.next(p, 1, 1000);
    t.ok(seg, `order ${order.join(',')}: a segment`);
    t.same([seg?.sport, seg?.dport, seg?.seq, seg?.ack, seg?.payloadLen], [40000, 80, 100, 200, 2000]);
    t.ok(seg?.payload.equals(payload), 'the whole payload, A then B');
    t.same([feed.defrag.counters.receivedFragments, feed.defrag.counters.datagrams, feed.defrag.counters.heldBytes], [2, 1, 0], 'two fragments in, one datagram out, nothing held');
  }
});
