import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { PLAN, Segmenter } from '../../../packet/segment/segmenter.js';
import { internetChecksum } from '../../../packet/wire/checksum.js';
import { l4Checksum } from '../../../packet/wire/l4-checksum.js';
import { IP_PROTO } from '../../../packet/wire/ip-proto.js';
import { TCP_FLAG } from '../../../packet/wire/tcp.js';
import { pattern, pcapOf, superFrame } from './superframes.js';

const execFileP = promisify(execFile);

/** Every frame a plan produces, each in its own Buffer, written at offset 10 of a 0xa5-filled buffer. */
function segmentAll(s: Segmenter, frame: Buffer, mtu: number, wireLen = frame.length): Buffer[] {
  s.planFrame(frame, frame.length, wireLen, mtu);
  const out: Buffer[] = [];
  for (let i = 0; i < s.count; i++) {
    const b = Buffer.alloc(s.frameLen(i) + 20, 0xa5);
    const n = s.write(frame, i, b, 10);
    out.push(b.subarray(10, 10 + n));
  }
  return out;
}

interface TcpSeg {
  ipId: number;
  ipLen: number;
  seq: number;
  flags: number;
  payload: Buffer;
  ipOk: boolean;
  tcpOk: boolean;
}

/** Reads the fields that segmentation changes, and checks both checksums. */
function readTcpSeg(f: Buffer, l3: number): TcpSeg {
  const v6 = f[l3]! >>> 4 === 6;
  const ihl = v6 ? 40 : (f[l3]! & 15) * 4;
  const l4 = l3 + ihl;
  const doff = (f[l4 + 12]! >>> 4) * 4;
  const ipLen = v6 ? f.readUInt16BE(l3 + 4) : f.readUInt16BE(l3 + 2);
  const end = v6 ? l3 + 40 + ipLen : l3 + ipLen;
  return {
    ipId: v6 ? -1 : f.readUInt16BE(l3 + 4),
    ipLen,
    seq: f.readUInt32BE(l4 + 4),
    flags: f[l4 + 13]!,
    payload: f.subarray(l4 + doff, end),
    ipOk: v6 || internetChecksum(f, l3, ihl) === 0,
    tcpOk: l4Checksum(f, l3, l4, IP_PROTO.TCP) === 0,
  };
}

const TS_OPTS = '0101080a0000000100000002'; // NOP NOP timestamps: 12 bytes, TCP header 32

t.test('IPv4 TCP super-frame: MSS-sized segments as GSO makes them (ids, lengths, seq, flags, checksums)', async (t) => {
  const payload = pattern(4000);
  const flags = TCP_FLAG.ACK | TCP_FLAG.PSH | TCP_FLAG.FIN | TCP_FLAG.CWR;
  const frame = superFrame({ payload, seq: 0xfffffc00, flags, tcpOptions: TS_OPTS, ipId: 0xffff });
  const s = new Segmenter();
  t.equal(s.planFrame(frame, frame.length, frame.length, 1500), PLAN.TCP_SEGMENTS);
  t.equal(s.unit, 1500 - 20 - 32, 'mss = mtu - IP header - TCP header with options');
  const segs = segmentAll(s, frame, 1500).map((f) => readTcpSeg(f, 14));
  t.same(
    segs.map((x) => [x.ipId, x.ipLen, x.seq, x.flags, x.payload.length, x.ipOk, x.tcpOk]),
    [
      [0xffff, 1500, 0xfffffc00, TCP_FLAG.ACK | TCP_FLAG.CWR, 1448, true, true],
      [0x0000, 1500, (0xfffffc00 + 1448) >>> 0, TCP_FLAG.ACK, 1448, true, true],
      [0x0001, 20 + 32 + 1104, (0xfffffc00 + 2896) >>> 0, TCP_FLAG.ACK | TCP_FLAG.PSH | TCP_FLAG.FIN, 1104, true, true],
    ],
    'id +1 (wrapping), seq + mss (wrapping past 2^32), CWR first only, FIN/PSH last only',
  );
  t.same(Buffer.concat(segs.map((x) => x.payload)), payload, 'payload in order');
  const raw = segmentAll(s, frame, 1500);
  t.same(raw[1]!.subarray(14 + 20 + 20, 14 + 20 + 32), frame.subarray(14 + 20 + 20, 14 + 20 + 32), 'TCP options copied into every segment');
  t.same(raw[2]!.subarray(0, 14), frame.subarray(0, 14), 'Ethernet header copied');
});

t.test('IPv6 TCP, IPv6 BIG TCP (jumbo Hop-by-Hop left out), IPv4 BIG TCP (Total Length 0), 802.1Q tag', async (t) => {
  const s = new Segmenter();
  const payload = pattern(70_000, 3);
  const v6 = superFrame({ v6: true, payload: payload.subarray(0, 9000) });
  let segs = segmentAll(s, v6, 1500);
  t.equal(segs.length, Math.ceil(9000 / 1440));
  t.ok(segs.every((f) => f.length <= 1514 && readTcpSeg(f, 14).tcpOk), 'IPv6: ≤ 1514 bytes, TCP checksums good');
  t.same(Buffer.concat(segs.map((f) => readTcpSeg(f, 14).payload)), payload.subarray(0, 9000));
  t.equal(segs[0]!.readUInt32BE(14) & 0xfffff, 0x12345, 'flow label kept');

  const big6 = superFrame({ v6: true, big: true, payload });
  segs = segmentAll(s, big6, 9000);
  t.equal(segs.length, Math.ceil(70_000 / (9000 - 60)));
  t.ok(segs.every((f) => f[14 + 6] === IP_PROTO.TCP), 'no Hop-by-Hop header in the segments: Next Header is TCP');
  t.ok(segs.every((f) => f.readUInt16BE(14 + 4) === f.length - 54 && readTcpSeg(f, 14).tcpOk), 'payload length = bytes after the IPv6 header; checksums good');
  t.same(Buffer.concat(segs.map((f) => readTcpSeg(f, 14).payload)), payload);

  const big4 = superFrame({ big: true, payload });
  segs = segmentAll(s, big4, 9000);
  t.ok(segs.every((f) => readTcpSeg(f, 14).ipOk && readTcpSeg(f, 14).tcpOk));
  t.same(Buffer.concat(segs.map((f) => readTcpSeg(f, 14).payload)), payload, 'IPv4 Total Length 0: runs to the end of the frame');

  const tagged = superFrame({ vlan: 100, payload: payload.subarray(0, 3000) });
  segs = segmentAll(s, tagged, 1500);
  t.same(segs.map((f) => f.length), [18 + 1500, 18 + 1500, 18 + 40 + 3000 - 2 * 1460]);
  t.ok(segs.every((f) => f.readUInt16BE(12) === 0x8100 && f.readUInt16BE(14) === ((5 << 13) | 100)), 'tag copied');
  t.ok(segs.every((f) => readTcpSeg(f, 18).tcpOk));
});

t.test('IPv6 extension headers (Destination Options) are copied into every segment', async (t) => {
  const plain = superFrame({ v6: true, payload: pattern(4000, 5) });
  const dst = Buffer.from('0600010400000000', 'hex'); // next TCP, 8 bytes, PadN
  const frame = Buffer.concat([plain.subarray(0, 54), dst, plain.subarray(54)]);
  frame[14 + 6] = IP_PROTO.DSTOPTS;
  frame.writeUInt16BE(plain.readUInt16BE(14 + 4) + 8, 14 + 4);
  const s = new Segmenter();
  t.equal(s.planFrame(frame, frame.length, frame.length, 1500), PLAN.TCP_SEGMENTS);
  t.equal(s.unit, 1500 - 48 - 20);
  const segs = segmentAll(s, frame, 1500);
  t.ok(segs.every((f) => f[14 + 6] === IP_PROTO.DSTOPTS && f.subarray(54, 62).equals(dst)), 'the header in each');
  t.ok(segs.every((f) => f.readUInt16BE(14 + 4) === f.length - 54), 'payload length counts it');
  const tcpOk = segs.every((f) => {
    const copy = Buffer.concat([f.subarray(0, 54), f.subarray(62)]);
    copy[14 + 6] = IP_PROTO.TCP;
    copy.writeUInt16BE(f.readUInt16BE(14 + 4) - 8, 14 + 4);
    return readTcpSeg(copy, 14).tcpOk;
  });
  t.ok(tcpOk, 'TCP checksums good (the pseudo-header does not include extension headers)');
  t.same(Buffer.concat(segs.map((f) => f.subarray(62 + 20))), pattern(4000, 5));
});

t.test('frames that fit are left alone; what cannot be segmented is truncated to link header + mtu', async (t) => {
  const s = new Segmenter();
  const fits = superFrame({ payload: pattern(1460) });
  t.equal(fits.length, 1514);
  t.equal(s.planFrame(fits, 1514, 1514, 1500), PLAN.FITS);
  const taggedFits = superFrame({ vlan: 7, payload: pattern(1460) });
  t.equal(s.planFrame(taggedFits, 1518, 1518, 1500), PLAN.FITS, 'a VLAN tag is link header, not MTU');
  const big = superFrame({ payload: pattern(5000) });
  t.equal(s.planFrame(big, 3000, big.length, 1500), PLAN.TRUNCATE, 'cut by the snap length: cannot be segmented');
  t.equal(s.truncateLen, 1514);
  const udp6 = superFrame({ v6: true, udp: true, payload: pattern(5000) });
  t.equal(s.planFrame(udp6, udp6.length, udp6.length, 1500), PLAN.TRUNCATE, 'IPv6 UDP: truncated');
  const notIp = Buffer.alloc(4000, 0x42);
  notIp.writeUInt16BE(0x88b5, 12);
  t.equal(s.planFrame(notIp, 4000, 4000, 1500), PLAN.TRUNCATE, 'not IP: truncated');
  const frag = superFrame({ udp: true, payload: pattern(5000) });
  frag.writeUInt16BE(0x2000, 14 + 6); // MF: already a fragment
  t.equal(s.planFrame(frag, frag.length, frag.length, 1500), PLAN.TRUNCATE, 'an IPv4 fragment: truncated');
  const badDoff = superFrame({ payload: pattern(5000) });
  badDoff[14 + 20 + 12] = 0x30; // data offset 12 bytes < 20
  t.equal(s.planFrame(badDoff, badDoff.length, badDoff.length, 1500), PLAN.TRUNCATE, 'TCP data offset < 20: truncated');
  const plain6 = superFrame({ v6: true, payload: pattern(5000) });
  const routed = Buffer.concat([plain6.subarray(0, 54), Buffer.from('0600000000000000', 'hex'), plain6.subarray(54)]);
  routed[14 + 6] = IP_PROTO.ROUTING;
  routed.writeUInt16BE(plain6.readUInt16BE(14 + 4) + 8, 14 + 4);
  t.equal(s.planFrame(routed, routed.length, routed.length, 1500), PLAN.TRUNCATE, 'IPv6 Routing header: truncated (the pseudo-header would need the final destination)');
  const longHeaders = superFrame({ payload: pattern(5000), tcpOptions: '01'.repeat(40) });
  t.equal(s.planFrame(longHeaders, longHeaders.length, longHeaders.length, 68), PLAN.TRUNCATE, 'headers longer than the MTU: truncated');
});

t.test('IPv4 UDP super-frame: fragments as ip_do_fragment makes them, copied options only after the first', async (t) => {
  const s = new Segmenter();
  const payload = pattern(4000, 9);
  // Options: Record Route (7, not copied, 11 bytes) + NOP, then Security-like copied option 0x82 len 4 (+ EOL padding).
  const frame = superFrame({ udp: true, payload, ipOptions: '070b04000000000000000001' + '82040000' });
  const ihl = 20 + 16;
  t.equal(s.planFrame(frame, frame.length, frame.length, 1500), PLAN.IPV4_FRAGMENTS);
  t.equal(s.unit, Math.floor((1500 - ihl) / 8) * 8);
  const frags = segmentAll(s, frame, 1500);
  t.equal(frags.length, Math.ceil((8 + 4000) / s.unit));
  const data: Buffer[] = [];
  frags.forEach((f, i) => {
    const fw = f.readUInt16BE(14 + 6);
    t.equal(internetChecksum(f, 14, ihl), 0, `fragment ${i}: header checksum good`);
    t.equal(f.readUInt16BE(14 + 4), 0x1234, 'same Identification');
    t.equal((fw & 0x2000) !== 0, i < frags.length - 1, 'MF on all but the last');
    t.equal(fw & 0x4000, 0x4000, 'DF kept');
    t.equal((fw & 0x1fff) * 8, i * s.unit, 'offset');
    t.ok(f.length <= 1514);
    const opts = f.subarray(14 + 20, 14 + ihl).toString('hex');
    t.equal(opts, i === 0 ? '070b04000000000000000001' + '82040000' : '0101010101010101010101' + '01' + '82040000', i === 0 ? 'first: all options' : 'later: Record Route replaced by NOPs');
    data.push(f.subarray(14 + ihl, 14 + f.readUInt16BE(14 + 2)));
  });
  t.same(Buffer.concat(data), frame.subarray(14 + ihl), 'fragments reassemble to the original UDP datagram');
});

t.test('property: random super-frames segment into frames ≤ link + mtu with good checksums that reassemble to the payload', async (t) => {
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  const s = new Segmenter();
  let bad = 0;
  for (let k = 0; k < 300; k++) {
    const v6 = rnd(2) === 1;
    const len = 1 + rnd(66_000);
    const mtu = 576 + rnd(9000);
    const opts = ['', TS_OPTS, '020405b4'][rnd(3)]!;
    const frame = superFrame({ v6, payload: pattern(len, k), seq: rnd(0xffffffff), flags: 0x10 | rnd(256) & 0xc9, ...(opts === '' ? {} : { tcpOptions: opts }), ...(len > 65_000 ? { big: true } : {}), ...(rnd(4) === 0 ? { vlan: 1 + rnd(4000) } : {}) });
    const link = frame.readUInt16BE(12) === 0x8100 ? 18 : 14;
    const segs = segmentAll(s, frame, mtu);
    const got = segs.map((f) => readTcpSeg(f, link));
    const whole = frame.length <= link + mtu;
    const payload = whole ? readTcpSeg(frame, link).payload : Buffer.concat(got.map((x) => x.payload));
    const ok =
      (whole ? s.plan === PLAN.FITS : s.plan === PLAN.TCP_SEGMENTS) &&
      segs.every((f) => f.length <= link + mtu) &&
      (whole || got.every((x) => x.ipOk && x.tcpOk)) &&
      payload.equals(pattern(len, k)) &&
      got.every((x, i) => x.seq === ((got[0]!.seq + i * s.unit) >>> 0) || whole);
    if (!ok) bad++;
  }
  t.equal(bad, 0, '300 random super-frames');
});

t.test('never throws on garbage', async (t) => {
  const s = new Segmenter();
  let seed = 99;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  const base = [superFrame({ payload: pattern(5000) }), superFrame({ v6: true, big: true, payload: pattern(5000) }), superFrame({ udp: true, payload: pattern(5000), ipOptions: '070b04000000000000000001' })];
  let threw = 0;
  for (let k = 0; k < 3000; k++) {
    const f = Buffer.from(base[k % 3]!);
    for (let j = 0; j < 1 + rnd(6); j++) f[rnd(80)] = rnd(256);
    const cut = f.subarray(0, 1 + rnd(f.length));
    try {
      segmentAll(s, cut, 68 + rnd(3000));
    } catch {
      threw++;
    }
  }
  t.equal(threw, 0);
});

t.test('tshark validates every IP and TCP checksum of the segments and reassembles the fragments', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gr-seg-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const s = new Segmenter();
  const frames: Buffer[] = [];
  frames.push(...segmentAll(s, superFrame({ payload: pattern(20_000), tcpOptions: TS_OPTS, flags: 0x99 }), 1500));
  frames.push(...segmentAll(s, superFrame({ v6: true, payload: pattern(20_000, 1) }), 1500));
  frames.push(...segmentAll(s, superFrame({ v6: true, big: true, payload: pattern(100_000, 2) }), 9000));
  frames.push(...segmentAll(s, superFrame({ big: true, payload: pattern(90_000, 2), vlan: 42 }), 1500));
  const nTcp = frames.length;
  frames.push(...segmentAll(s, superFrame({ udp: true, payload: pattern(6000, 4) }), 1500));
  const file = join(dir, 'segs.pcap');
  writeFileSync(file, pcapOf(frames));
  const args = ['-r', file, '-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-T', 'fields', '-e', 'ip.checksum.status', '-e', 'tcp.checksum.status', '-e', 'udp.checksum.status', '-e', 'udp.length'];
  const { stdout } = await execFileP('tshark', args, { maxBuffer: 64 * 1024 * 1024 });
  const rows = stdout.trim().split('\n').map((l) => l.split('\t'));
  t.equal(rows.length, frames.length);
  const tcpRows = rows.slice(0, nTcp);
  // Wireshark's checksum status: 0 bad, 1 good, 2 unverified.
  t.ok(tcpRows.every((r) => r[1] === '1'), `tshark: every TCP checksum good (status 1) in ${nTcp} segments`);
  t.ok(rows.every((r) => r[0] === '' || r[0] === '1'), 'every IPv4 header checksum good');
  t.ok(rows.slice(0, 20).some((r) => r[0] === '1'), 'IPv4 checksums were checked');
  const udp = rows.slice(nTcp).filter((r) => r[3] !== '');
  t.same(udp.map((r) => [r[2], r[3]]), [['1', String(8 + 6000)]], 'fragments reassembled by tshark into the 6008-byte UDP datagram, checksum good');
});
