import t from 'tap';

import { Parser } from '../../../packet/decode/parser.js';
import { TcpSegmentFeed, fillTcpSegment, newTcpSegment } from '../../../packet/reassembly/from-parser.js';
import { buildTcpFrame, buildUdpFrame } from '../../../packet/synth/traffic.js';
import { emitEthernet } from '../../../packet/wire/ethernet.js';
import { emitIpv6, emitIpv6Fragment } from '../../../packet/wire/ipv6.js';
import { emitTcp } from '../../../packet/wire/tcp.js';

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

/**
 * Ethernet/IPv6/TCP frames from [::a]:40000 to [::b]:80 carrying `tcp` (header and data)
 * in fragments of at most `size` bytes (a multiple of 8), each with a Fragment header; with
 * `dstopts` an 8-byte Destination Options header comes first in the fragmentable part
 * (RFC 8200 §4.1 allows it after the Fragment header).
 */
function ipv6Fragments(tcp: Buffer, size: number, dstopts: boolean): Buffer[] {
  const part = dstopts ? Buffer.concat([Buffer.from([6, 0, 1, 4, 0, 0, 0, 0]), tcp]) : tcp;
  const out: Buffer[] = [];
  for (let off = 0; off < part.length; off += size) {
    const piece = part.subarray(off, Math.min(part.length, off + size));
    const f = Buffer.alloc(14 + 40 + 8 + piece.length);
    emitEthernet({ dst: B.mac, src: A.mac, etherType: 0x86dd }, f, 0);
    emitIpv6({ trafficClass: 0, flowLabel: 0, payloadLength: 8 + piece.length, nextHeader: 44, hopLimit: 64, src: 'fd00::a', dst: 'fd00::b' }, f, 14);
    emitIpv6Fragment({ nextHeader: dstopts ? 60 : 6, fragOffset: off / 8, more: off + size < part.length, id: 0xdeadbeef }, f, 54);
    piece.copy(f, 62);
    out.push(f);
  }
  return out;
}

function tcpBytes(seq: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(20 + payload.length);
  emitTcp({ sport: 40000, dport: 80, seq, ack: 7, flags: 0x18, window: 1000, urgent: 0 }, b, 0);
  payload.copy(b, 20);
  return b;
}

t.test('TcpSegmentFeed: IPv6 fragments of a TCP segment come out as one segment, out of order, with or without Destination Options after the Fragment header', async (t) => {
  const payload = Buffer.concat([Buffer.alloc(700, 'A'), Buffer.alloc(700, 'B'), Buffer.alloc(333, 'C')]);
  for (const dstopts of [false, true]) {
    const frags = ipv6Fragments(tcpBytes(5000, payload), 704, dstopts);
    t.equal(frags.length, 3);
    const feed = new TcpSegmentFeed();
    const p = new Parser();
    const got: Array<ReturnType<TcpSegmentFeed['next']>> = [];
    for (const i of [2, 0, 1]) {
      p.decode(frags[i]!, LINKTYPE_ETHERNET, frags[i]!.length);
      t.equal(p.ipv6FragOffset, 54, 'the parser points at the Fragment header');
      got.push(feed.next(p, 1, i));
    }
    t.same(got.slice(0, 2), [undefined, undefined], 'nothing before the last piece');
    const seg = got[2];
    t.same([seg?.sport, seg?.dport, seg?.seq, seg?.addrLen, seg?.payloadLen], [40000, 80, 5000, 16, payload.length], `dstopts ${dstopts}`);
    t.ok(seg?.payload.equals(payload), 'the whole payload, A B C');
    t.same([feed.defrag.counters.receivedFragments, feed.defrag.counters.datagrams], [3, 1]);
  }
});

t.test('TcpSegmentFeed: IPv6 fragments of UDP, and a Destination Options chain that runs out, give no segment', async (t) => {
  // Also: a later fragment's Next Header does not count (RFC 8200 §4.5), only the first's.
  const p = new Parser();
  const feed = new TcpSegmentFeed();
  const udp = ipv6Fragments(tcpBytes(1, Buffer.alloc(100, 'x')), 64, false);
  for (const f of udp) f.writeUInt8(17, 54); // Next Header UDP
  for (const f of udp) {
    p.decode(f, LINKTYPE_ETHERNET, f.length);
    t.equal(feed.next(p, 1, 0), undefined);
  }
  t.same([feed.defrag.counters.receivedFragments, feed.defrag.counters.datagrams], [udp.length, 1], 'reassembled (the offset-0 fragment names the protocol), then not TCP: no segment');
  // Destination Options whose length runs past the reassembled datagram.
  const bad = ipv6Fragments(tcpBytes(1, Buffer.alloc(100, 'x')), 64, true);
  bad[0]!.writeUInt8(200, 62 + 1);
  for (const f of bad) {
    p.decode(f, LINKTYPE_ETHERNET, f.length);
    t.equal(feed.next(p, 1, 0), undefined);
  }
  t.equal(feed.defrag.counters.datagrams, 2, 'reassembled, then found not to hold a TCP segment');
});

t.test('TcpSegmentFeed: only the offset-0 IPv6 fragment names the protocol (later fragments saying UDP do not matter)', async (t) => {
  const payload = Buffer.alloc(1500, 'Z');
  const frags = ipv6Fragments(tcpBytes(9, payload), 800, false);
  for (const f of frags.slice(1)) f.writeUInt8(17, 54);
  const feed = new TcpSegmentFeed();
  const p = new Parser();
  let seg: ReturnType<TcpSegmentFeed['next']>;
  for (const f of frags) {
    p.decode(f, LINKTYPE_ETHERNET, f.length);
    seg = feed.next(p, 1, 0);
  }
  t.same([seg?.seq, seg?.payloadLen], [9, 1500]);
});

t.test('Parser: a second Fragment header keeps the first one\'s offset and the packet a fragment', async (t) => {
  // First fragment (offset 0, M=1) carrying an atomic Fragment header (offset 0, M=0) next.
  const tcp = tcpBytes(1, Buffer.alloc(16, 'Q'));
  const f = Buffer.alloc(14 + 40 + 8 + 8 + tcp.length);
  emitEthernet({ dst: B.mac, src: A.mac, etherType: 0x86dd }, f, 0);
  emitIpv6({ trafficClass: 0, flowLabel: 0, payloadLength: 16 + tcp.length, nextHeader: 44, hopLimit: 64, src: 'fd00::a', dst: 'fd00::b' }, f, 14);
  emitIpv6Fragment({ nextHeader: 44, fragOffset: 0, more: true, id: 1 }, f, 54);
  emitIpv6Fragment({ nextHeader: 6, fragOffset: 0, more: false, id: 2 }, f, 62);
  tcp.copy(f, 70);
  const p = new Parser();
  p.decode(f, LINKTYPE_ETHERNET, f.length);
  t.same([p.isFragment, p.ipv6FragOffset], [true, 54]);
  t.equal(new TcpSegmentFeed().next(p, 1, 0), undefined, 'held as the first piece of datagram 1, not delivered as a whole segment');
});
