import t from 'tap';
import type { Test } from 'tap';
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { CapfileReader } from '../../../packet/capfile/reader.js';
import { PcapWriter } from '../../../packet/capfile/pcap-writer.js';
import { PcapngWriter } from '../../../packet/capfile/pcapng-writer.js';
import { ERR, PodspanError, isPodspanError } from '../../../packet/errors.js';
import { corpusFiles, requireCorpus } from '../../helpers/corpus.js';
import { chunked, ng, prng, readAll, readChunks } from './capfile-helpers.js';

// Golden record: the first 72 bytes of tcpdump's tests/tcp_rst_data-trunc.pcap
// (xxd; tshark: 1361916199.190965000 caplen 111 len 112):
// 00000000: d4c3 b2a1 0200 0400 0000 0000 0000 0000  ................
// 00000010: ffff 0000 0100 0000 2731 2d51 f5e9 0200  ........'1-Q....
// 00000020: 6f00 0000 7000 0000 0021 7067 6f50 0090  o...p....!pgoP..
const GOLDEN_PCAP_HEAD = Buffer.from(
  'd4c3b2a1020004000000000000000000ffff000001000000' + '27312d51f5e902006f00000070000000' + '002170676f5000907f3e02d00800',
  'hex',
);

function pcapFile(opts: ConstructorParameters<typeof PcapWriter>[0], recs: Array<{ tsSec: number; tsNsec: number; data: Buffer; wireLen?: number }>): Buffer {
  const w = new PcapWriter(opts);
  const parts = [w.header()];
  for (const r of recs) parts.push(...w.record({ tsSec: r.tsSec, tsNsec: r.tsNsec, capLen: r.data.length, wireLen: r.wireLen ?? r.data.length, data: r.data }));
  return Buffer.concat(parts);
}

function expectError(t: Test, input: Buffer | Buffer[], code: string, msg: string, opts = {}): PodspanError | undefined {
  const r = readChunks(Array.isArray(input) ? input : [input], opts);
  t.equal(r.error?.code, code, `${msg}: ${r.error?.message ?? 'no error'}`);
  return r.error;
}

t.test('detects a little-endian µs pcap from its magic and yields the golden record', async (t) => {
  const r = new CapfileReader();
  t.equal(r.format, undefined, 'format unknown before input');
  r.push(GOLDEN_PCAP_HEAD.subarray(0, 3));
  t.equal(r.next(), null, 'needs more input');
  t.equal(r.format, undefined, 'three bytes do not tell the format');
  // The record claims 111 bytes; give them (the rest of the frame is not in the golden).
  r.push(Buffer.concat([GOLDEN_PCAP_HEAD.subarray(3), Buffer.alloc(111 - 14, 0x42)]));
  const rec = r.next();
  t.equal(r.format, 'pcap');
  t.ok(rec);
  t.match(rec, { n: 1, tsSec: 1361916199, tsNsec: 190965000, tsInvalid: false, capLen: 111, wireLen: 112, comments: [], flags: undefined });
  t.equal(rec!.data.length, 111);
  t.equal(rec!.data.subarray(0, 14).toString('hex'), '002170676f5000907f3e02d00800');
  t.match(r.interfaces, [{ id: 0, section: 0, linkType: 1, snapLen: 65535, tsResolPower: 6, tsResolBinary: false, pcapVersionMajor: 2, pcapVersionMinor: 4, bigEndian: false, pcapThisZone: 0, pcapSigFigs: 0, fcsLen: undefined }]);
  t.equal(r.next(), null);
  r.end();
  t.equal(r.next(), null, 'clean end');
  t.equal(r.records, 1);
});

t.test('reads big-endian nanosecond pcap and keeps nanoseconds exact', async (t) => {
  const file = pcapFile({ linkType: 101, snapLen: 262144, bigEndian: true, nanosecond: true }, [
    { tsSec: 0xffffffff, tsNsec: 999_999_999, data: Buffer.from('AAAA') },
    { tsSec: 0, tsNsec: 1, data: Buffer.from('BB'), wireLen: 1500 },
  ]);
  t.equal(file.readUInt32BE(0), 0xa1b23c4d, 'ns magic, big-endian');
  const r = readAll(file);
  t.equal(r.error, undefined);
  t.match(r.records, [
    { tsSec: 4294967295, tsNsec: 999999999, capLen: 4, wireLen: 4, linkType: 101 },
    { tsSec: 0, tsNsec: 1, capLen: 2, wireLen: 1500 },
  ]);
  t.match(r.interfaces[0], { bigEndian: true, tsResolPower: 9 });
});

t.test('the record is reused and its data is a view of the pushed chunk when it lies in one', async (t) => {
  const file = pcapFile({ linkType: 1, snapLen: 65535 }, [
    { tsSec: 1, tsNsec: 0, data: Buffer.from('first') },
    { tsSec: 2, tsNsec: 0, data: Buffer.from('second') },
  ]);
  const r = new CapfileReader();
  r.push(file);
  const a = r.next()!;
  t.equal(a.data.buffer, file.buffer, 'no copy: same memory as the chunk');
  t.equal(a.data.byteOffset, file.byteOffset + 24 + 16);
  const b = r.next()!;
  t.equal(a, b, 'one record object, reused');
  t.equal(b.data.toString(), 'second');
});

t.test('a record straddling chunks is gathered into one contiguous view', async (t) => {
  const file = pcapFile({ linkType: 1, snapLen: 65535 }, [{ tsSec: 1, tsNsec: 0, data: Buffer.from('straddles three chunks') }]);
  const r = readChunks([file.subarray(0, 30), file.subarray(30, 45), file.subarray(45)]);
  t.equal(r.records[0]?.data.toString(), 'straddles three chunks');
});

t.test('pcap 2.0-2.2 and 543.0 store the two lengths swapped; 2.3 only when caplen > len (libpcap and wiretap)', async (t) => {
  const base = pcapFile({ linkType: 1, snapLen: 65535, nanosecond: false }, [{ tsSec: 5, tsNsec: 0, data: Buffer.alloc(60), wireLen: 100 }]);
  const withVersion = (major: number, minor: number, swapFields: boolean): Buffer => {
    const b = Buffer.from(base);
    b.writeUInt16LE(major, 4);
    b.writeUInt16LE(minor, 6);
    if (swapFields) {
      b.writeUInt32LE(100, 24 + 8);
      b.writeUInt32LE(60, 24 + 12);
    }
    return b;
  };
  for (const [ma, mi] of [
    [2, 0],
    [2, 1],
    [2, 2],
    [543, 0],
  ] as const) {
    t.match(readAll(withVersion(ma, mi, true)).records, [{ capLen: 60, wireLen: 100 }], `${ma}.${mi}: lengths stored len-first`);
  }
  t.match(readAll(withVersion(2, 3, true)).records, [{ capLen: 60, wireLen: 100 }], '2.3 with caplen > len: swapped');
  t.match(readAll(withVersion(2, 3, false)).records, [{ capLen: 60, wireLen: 100 }], '2.3 in the 2.4 order: as is');
});

t.test('refuses pcap versions libpcap refuses: 1.x (archaic), 2.5, 3.0', async (t) => {
  const base = pcapFile({ linkType: 1, snapLen: 65535 }, []);
  for (const [ma, mi] of [
    [1, 0],
    [0, 4],
    [2, 5],
    [3, 0],
    [543, 1],
  ] as const) {
    const b = Buffer.from(base);
    b.writeUInt16LE(ma, 4);
    b.writeUInt16LE(mi, 6);
    const e = expectError(t, b, ERR.CAPFILE_BAD_VERSION, `${ma}.${mi}`);
    t.match(e?.details, { versionMajor: ma, versionMinor: mi });
  }
});

t.test('refuses reserved link-type bits (LT_RESERVED1) and reads the FCS length bits', async (t) => {
  const base = pcapFile({ linkType: 1, snapLen: 65535 }, []);
  for (const bits of [0x00010000, 0x00300000, 0x02000000]) {
    const b = Buffer.from(base);
    b.writeUInt32LE((1 | bits) >>> 0, 20);
    expectError(t, b, ERR.CAPFILE_BAD_HEADER, `reserved bits 0x${bits.toString(16)}`);
  }
  const fcs = Buffer.from(base);
  fcs.writeUInt32LE((1 | 0x04000000 | (2 << 28)) >>> 0, 20);
  const r = readAll(fcs);
  t.equal(r.error, undefined);
  t.match(r.interfaces[0], { linkType: 1, fcsLen: 4 }, 'FCS length 2 words = 4 bytes');
});

t.test('keeps out-of-range timestamp fractions raw and marks them tsInvalid', async (t) => {
  const us = pcapFile({ linkType: 1, snapLen: 65535, nanosecond: false }, [{ tsSec: 7, tsNsec: 0, data: Buffer.alloc(4) }]);
  us.writeUInt32LE(1_000_000, 24 + 4);
  t.match(readAll(us).records, [{ tsSec: 7, tsNsec: 1_000_000_000, tsInvalid: true }], 'µs field 1000000: kept as 1e9 ns, invalid');
  const ns = pcapFile({ linkType: 1, snapLen: 65535 }, [{ tsSec: 7, tsNsec: 0, data: Buffer.alloc(4) }]);
  ns.writeUInt32LE(0xffffffff, 24 + 4);
  t.match(readAll(ns).records, [{ tsSec: 7, tsNsec: 0xffffffff, tsInvalid: true }], 'ns field 2^32-1: raw, invalid');
});

t.test('refuses an oversized pcap record from its header, before buffering its data', async (t) => {
  const hdr = pcapFile({ linkType: 1, snapLen: 65535 }, []);
  const rh = Buffer.alloc(16);
  rh.writeUInt32LE(262145, 8);
  rh.writeUInt32LE(262145, 12);
  const e = expectError(t, [hdr, rh], ERR.CAPFILE_BAD_RECORD, 'caplen above libpcap MAXIMUM_SNAPLEN for Ethernet');
  t.match(e?.details, { offset: 24, capLen: 262145 });
  // Even with snaplen 2^32-1 in the header (libpcap's rule is the link type's maximum).
  const big = Buffer.from(hdr);
  big.writeUInt32LE(0xffffffff, 16);
  expectError(t, [big, rh], ERR.CAPFILE_BAD_RECORD, 'a huge header snaplen does not raise the limit');
  // D-Bus allows 128 MiB; the reader's own cap applies first.
  const dbus = pcapFile({ linkType: 231, snapLen: 0 }, []);
  const rh2 = Buffer.alloc(16);
  rh2.writeUInt32LE(64 * 1024 * 1024, 8);
  expectError(t, [dbus, rh2], ERR.CAPFILE_TOO_LARGE, 'D-Bus record above maxBlockLen');
  const small = pcapFile({ linkType: 1, snapLen: 65535 }, [{ tsSec: 1, tsNsec: 0, data: Buffer.alloc(2000) }]);
  expectError(t, small, ERR.CAPFILE_TOO_LARGE, 'maxBlockLen 1024', { maxBlockLen: 1024 });
  // A caplen above the header snaplen but within the maximum is delivered whole (as Wireshark).
  const over = pcapFile({ linkType: 1, snapLen: 64 }, [{ tsSec: 1, tsNsec: 0, data: Buffer.alloc(100) }]);
  t.match(readAll(over).records, [{ capLen: 100 }]);
});

t.test('an empty input, a short header and a foreign magic each give their own error', async (t) => {
  expectError(t, Buffer.alloc(0), ERR.CAPFILE_EMPTY, 'empty');
  const e = expectError(t, Buffer.from([0xd4, 0xc3]), ERR.CAPFILE_TRUNCATED, 'two bytes');
  t.match(e?.details, { records: 0 });
  expectError(t, GOLDEN_PCAP_HEAD.subarray(0, 20), ERR.CAPFILE_TRUNCATED, 'pcap header cut at 20');
  expectError(t, ng.shb().subarray(0, 20), ERR.CAPFILE_TRUNCATED, 'pcapng SHB cut at 20');
  expectError(t, Buffer.from('GET / HTTP/1.1\r\n'), ERR.CAPFILE_BAD_MAGIC, 'text');
  const gz = expectError(t, Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0]), ERR.CAPFILE_BAD_MAGIC, 'gzip');
  t.match(gz?.message, /gzip/);
  const mod = expectError(t, Buffer.from('34cdb2a1020004000000000000000000ffff000001000000', 'hex'), ERR.CAPFILE_BAD_MAGIC, 'modified pcap');
  t.match(mod?.message, /modified/);
  const r = new CapfileReader();
  r.push(Buffer.from('not a capture'));
  t.throws(() => r.next(), { code: ERR.CAPFILE_BAD_MAGIC }, 'bad magic is known before end()');
  t.throws(() => r.next(), { code: ERR.CAPFILE_BAD_MAGIC }, 'and stays: the reader is failed');
  r.end();
  t.throws(() => r.push(Buffer.alloc(1)), /after end/, 'push after end() is a bug');
});

t.test('pcapng: EPB with opt_comment and epb_flags, in both byte orders', async (t) => {
  for (const be of [false, true]) {
    const file = Buffer.concat([
      ng.shb({ be, options: [ng.opt(4, 'podspan test', be), ng.opt(1, 'section comment', be), ng.endOpt()] }),
      ng.idb(1, 0, [ng.opt(2, 'eth0', be), ng.opt(3, 'pod veth', be), ng.endOpt()], be),
      ng.epb(0, 0, 1_000_000, Buffer.from('hello'), { be, wireLen: 60, options: [ng.opt(1, 'one', be), ng.opt(1, 'two', be), ng.opt(2, (be ? ng.u32be : ng.u32)(0x00000001), be), ng.endOpt()] }),
      ng.epb(0, 0, 2_000_000, Buffer.from('again'), { be }),
    ]);
    const sections: unknown[] = [];
    const r = new CapfileReader();
    r.onSection = (s) => sections.push(s);
    r.push(file);
    r.end();
    const a = r.next();
    t.match(a, { n: 1, tsSec: 1, tsNsec: 0, capLen: 5, wireLen: 60, comments: ['one', 'two'], flags: 1 });
    t.equal(a?.data.toString(), 'hello');
    const b = r.next();
    t.match(b, { n: 2, tsSec: 2, comments: [], flags: undefined }, 'options of the previous record do not leak');
    t.equal(r.next(), null);
    t.equal(r.format, 'pcapng');
    t.match(r.interfaces, [{ id: 0, section: 0, linkType: 1, snapLen: 0, name: 'eth0', description: 'pod veth', tsResolPower: 6, bigEndian: be }]);
    t.match(sections, [{ index: 0, bigEndian: be, versionMajor: 1, versionMinor: 0, sectionLength: -1n, userAppl: 'podspan test', comments: ['section comment'] }]);
  }
});

t.test('pcapng timestamps: if_tsresol decimal and binary, and if_tsoffset, converted exactly', async (t) => {
  const ticks = (hi: number, lo: number): bigint => (BigInt(hi) << 32n) | BigInt(lo);
  const cases: Array<{ tsresol: number; offset?: bigint; hi: number; lo: number; sec: number; nsec: number }> = [
    // 10^-9: 1700000000.123456789 s = 1700000000123456789 ticks
    { tsresol: 9, hi: Number(1700000000123456789n >> 32n), lo: Number(1700000000123456789n & 0xffffffffn), sec: 1700000000, nsec: 123456789 },
    // 10^-3
    { tsresol: 3, hi: 0, lo: 1_234_567, sec: 1234, nsec: 567_000_000 },
    // 10^0
    { tsresol: 0, hi: 1, lo: 5, sec: 2 ** 32 + 5, nsec: 0 },
    // 2^-10: 1025 ticks = 1 s + 1/1024 s = 976562.5 ns, truncated
    { tsresol: 0x80 | 10, hi: 0, lo: 1025, sec: 1, nsec: 976562 },
    // 2^-30: 2^30 * 3 + 1 ticks
    { tsresol: 0x80 | 30, hi: 0, lo: 3 * 2 ** 30 + 1, sec: 3, nsec: 0 },
    // 10^-12 (picoseconds)
    { tsresol: 12, hi: Number(ticks(0, 0) + (5_000_000_000_123n >> 32n)), lo: Number(5_000_000_000_123n & 0xffffffffn), sec: 5, nsec: 0 },
    // if_tsoffset -100 s
    { tsresol: 6, offset: -100n, hi: 0, lo: 1_000_000 * 1000 + 5, sec: 900, nsec: 5000 },
  ];
  for (const c of cases) {
    const opts = [ng.opt(9, Buffer.from([c.tsresol]))];
    if (c.offset !== undefined) {
      const o = Buffer.alloc(8);
      o.writeBigInt64LE(c.offset);
      opts.push(ng.opt(14, o));
    }
    const file = Buffer.concat([ng.shb(), ng.idb(1, 0, [...opts, ng.endOpt()]), ng.epb(0, c.hi, c.lo, Buffer.alloc(1))]);
    const r = readAll(file);
    t.equal(r.error, undefined);
    t.match(r.records, [{ tsSec: c.sec, tsNsec: c.nsec, tsInvalid: false }], `tsresol 0x${c.tsresol.toString(16)}${c.offset !== undefined ? ` offset ${c.offset}` : ''}`);
  }
  const tooFine = Buffer.concat([ng.shb(), ng.idb(1, 0, [ng.opt(9, Buffer.from([20])), ng.endOpt()])]);
  expectError(t, tooFine, ERR.CAPFILE_BAD_BLOCK, 'if_tsresol 10^-20');
  const badLen = Buffer.concat([ng.shb(), ng.idb(1, 0, [ng.opt(9, Buffer.from([6, 0])), ng.endOpt()])]);
  expectError(t, badLen, ERR.CAPFILE_BAD_BLOCK, 'if_tsresol of length 2');
});

t.test('pcapng SPB: captured length is min(original length, snaplen of interface 0, block space), time 0', async (t) => {
  const spb = (wireLen: number, data: Buffer): Buffer => ng.block(3, Buffer.concat([ng.u32(wireLen), data]));
  const file = Buffer.concat([
    ng.shb(),
    ng.idb(1, 8),
    ng.idb(147, 0),
    spb(4, Buffer.from('abcdefgh')), // shorter than its data: 4
    spb(100, Buffer.from('0123456789ab')), // snaplen 8
    spb(6, Buffer.from('xyz\0')), // block space 4... original 6 > space
  ]);
  const r = readAll(file);
  t.equal(r.error, undefined);
  t.match(r.records, [
    { capLen: 4, wireLen: 4, tsSec: 0, tsNsec: 0, ifaceId: 0 },
    { capLen: 8, wireLen: 100, ifaceId: 0 },
    { capLen: 4, wireLen: 6 },
  ]);
  t.equal(r.records[1]?.data.toString(), '01234567');
  expectError(t, Buffer.concat([ng.shb(), spb(4, Buffer.from('abcd'))]), ERR.CAPFILE_NO_INTERFACE, 'SPB before any IDB');
});

t.test('pcapng: obsolete Packet Blocks are read; NRB, DSB, custom, journal and unknown blocks skipped', async (t) => {
  const pb = ng.block(2, Buffer.concat([Buffer.from([0, 0, 7, 0]), ng.u32(0, 3_000_000, 3, 3), Buffer.from('pb\0\0')]));
  const file = Buffer.concat([
    ng.shb(),
    ng.block(4, Buffer.concat([Buffer.from([1, 0, 8, 0, 10, 0, 0, 1]), Buffer.from('abc\0'), Buffer.alloc(4)])), // NRB ipv4
    ng.idb(1, 65535),
    ng.block(0x0a, Buffer.concat([ng.u32(0x544c534b, 4), Buffer.from('keys')])), // DSB
    ng.block(0x00000bad, Buffer.concat([ng.u32(32473), Buffer.from('custom')])),
    ng.block(0x40000bad, Buffer.concat([ng.u32(32473), Buffer.from('nocopy')])),
    ng.block(9, Buffer.from('__CURSOR=x\n')),
    ng.block(0x80001234, Buffer.from('local use')),
    pb,
    ng.block(0x7777, Buffer.alloc(0)),
  ]);
  const r = readAll(file);
  t.equal(r.error, undefined);
  t.match(r.records, [{ tsSec: 3, capLen: 3, wireLen: 3 }]);
  t.equal(r.records[0]?.data.toString('latin1'), 'pb\0');
});

t.test('pcapng ISB: every statistic and its times, for the interface of its section', async (t) => {
  const u64 = (v: bigint): Buffer => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(v);
    return b;
  };
  const file = Buffer.concat([
    ng.shb(),
    ng.idb(1, 0, [ng.opt(9, Buffer.from([9])), ng.endOpt()]),
    ng.block(
      5,
      Buffer.concat([
        ng.u32(0, 0, 10),
        ng.opt(2, ng.u32(0, 5)),
        ng.opt(3, ng.u32(1, 7)),
        ng.opt(4, u64(1000n)),
        ng.opt(5, u64(3n)),
        ng.opt(6, u64(900n)),
        ng.opt(7, u64(2n)),
        ng.opt(8, u64(895n)),
        ng.opt(1, 'final'),
        ng.endOpt(),
      ]),
    ),
    ng.block(5, ng.u32(9, 0, 1)), // interface 9 is not defined: still reported (Wireshark reads it)
  ]);
  const seen: unknown[] = [];
  const r = new CapfileReader();
  r.onStats = (s) => seen.push(s);
  r.push(file);
  r.end();
  t.equal(r.next(), null);
  t.equal(seen.length, 2);
  t.match(r.stats, [
    {
      ifaceId: 0,
      section: 0,
      tsSec: 0,
      tsNsec: 10,
      startTsSec: 0,
      startTsNsec: 5,
      endTsSec: 4,
      endTsNsec: 294967303,
      ifRecv: 1000n,
      ifDrop: 3n,
      filterAccept: 900n,
      osDrop: 2n,
      usrDeliv: 895n,
      comments: ['final'],
    },
    { ifaceId: 9, tsNsec: 1000, ifRecv: undefined },
  ]);
  const quiet = new CapfileReader({ keepStats: false });
  quiet.push(file);
  quiet.end();
  quiet.next();
  t.equal(quiet.stats.length, 0, 'keepStats: false keeps none');
});

t.test('pcapng sections: byte order may change, interface ids restart, interfaces accumulate', async (t) => {
  const file = Buffer.concat([
    ng.shb(),
    ng.idb(1, 0),
    ng.epb(0, 0, 1, Buffer.from('le')),
    ng.shb({ be: true }),
    ng.idb(101, 0, [], true),
    ng.idb(1, 0, [], true),
    ng.epb(1, 0, 2, Buffer.from('be'), { be: true }),
    ng.epb(0, 0, 3, Buffer.from('raw'), { be: true }),
  ]);
  const r = readAll(file);
  t.equal(r.error, undefined);
  t.match(r.records, [
    { section: 0, ifaceId: 0, linkType: 1, tsNsec: 1000 },
    { section: 1, ifaceId: 1, linkType: 1, tsNsec: 2000 },
    { section: 1, ifaceId: 0, linkType: 101, tsNsec: 3000 },
  ]);
  t.equal(r.interfaces.length, 3);
  t.match(r.sections, [{ index: 0, bigEndian: false }, { index: 1, bigEndian: true }]);
});

t.test('pcapng structural errors are typed', async (t) => {
  const shb = ng.shb();
  const idb = ng.idb(1, 0);
  const withLen = (b: Buffer, head: number, trail = head): Buffer => {
    const c = Buffer.from(b);
    c.writeUInt32LE(head, 4);
    c.writeUInt32LE(trail, c.length - 4);
    return c;
  };
  expectError(t, Buffer.concat([shb, withLen(idb, 8)]), ERR.CAPFILE_BAD_BLOCK, 'block length 8 < 12');
  expectError(t, Buffer.concat([shb, withLen(idb, 18)]), ERR.CAPFILE_BAD_BLOCK, 'block length not a multiple of 4');
  expectError(t, Buffer.concat([shb, withLen(idb, idb.length, idb.length + 4)]), ERR.CAPFILE_BAD_BLOCK, 'header and trailer lengths differ');
  const huge = Buffer.from(idb);
  huge.writeUInt32LE(0x7ffffffc, 4);
  const e = expectError(t, Buffer.concat([shb, huge]), ERR.CAPFILE_TOO_LARGE, 'block of 2 GiB refused from its header');
  t.match(e?.details, { offset: shb.length });
  expectError(t, Buffer.concat([shb, ng.idb(1, 0, [ng.opt(2, 'eth0'), ng.endOpt()])]), ERR.CAPFILE_TOO_LARGE, 'maxBlockLen 24', { maxBlockLen: 24 });
  const longOpt = ng.idb(1, 0, [ng.opt(2, 'eth0')]);
  longOpt.writeUInt16LE(200, 16 + 2);
  expectError(t, Buffer.concat([shb, longOpt]), ERR.CAPFILE_BAD_BLOCK, 'option runs past the block end');
  const e2 = expectError(t, Buffer.concat([shb, ng.epb(0, 0, 0, Buffer.from('x'))]), ERR.CAPFILE_NO_INTERFACE, 'EPB before any IDB');
  t.match(e2?.details, { ifaceId: 0 });
  expectError(t, Buffer.concat([shb, idb, ng.epb(1, 0, 0, Buffer.from('x'))]), ERR.CAPFILE_NO_INTERFACE, 'EPB for interface 1 of 1');
  const lying = ng.epb(0, 0, 0, Buffer.from('abcd'));
  lying.writeUInt32LE(5, 8 + 12);
  expectError(t, Buffer.concat([shb, idb, lying]), ERR.CAPFILE_BAD_BLOCK, 'EPB caplen beyond its block');
  const bom = Buffer.from(shb);
  bom.writeUInt32LE(0x11223344, 8);
  expectError(t, bom, ERR.CAPFILE_BAD_MAGIC, 'bad byte-order magic');
  expectError(t, Buffer.concat([shb, idb, ng.shb({ major: 2 })]), ERR.CAPFILE_BAD_VERSION, 'second section version 2.0');
  const v12 = readAll(Buffer.concat([ng.shb({ minor: 2 }), idb, ng.epb(0, 0, 0, Buffer.from('x'))]));
  t.equal(v12.error, undefined, 'SHB 1.2 is read (libpcap and Wireshark treat it as 1.0)');
  t.equal(v12.records.length, 1);
  const many = Buffer.concat([shb, idb, idb, idb]);
  expectError(t, many, ERR.CAPFILE_TOO_LARGE, 'maxInterfaces 2', { maxInterfaces: 2 });
});

t.test('a mutated capture never throws anything but a PodspanError and always ends (time-boxed property test)', async (t) => {
  const seeds: Buffer[] = [];
  const w = new PcapngWriter();
  const id = w.sectionHeader({ comment: 'x' });
  const ifc = w.addInterface({ linkType: 1, snapLen: 0, name: 'eth0' });
  seeds.push(Buffer.concat([id, ifc.block, ...w.packet(0, { tsSec: 1, tsNsec: 2, capLen: 20, wireLen: 20, data: Buffer.alloc(20, 1) }, { comments: ['c'], flags: 3 })]));
  seeds.push(pcapFile({ linkType: 1, snapLen: 65535 }, [{ tsSec: 1, tsNsec: 0, data: Buffer.alloc(30) }, { tsSec: 2, tsNsec: 0, data: Buffer.alloc(3) }]));
  if (requireCorpus(t)) {
    for (const f of corpusFiles()) {
      const b = readFileSync(f);
      if (b.length < 4096) seeds.push(b);
    }
  }
  const rnd = prng(0xf022);
  const deadline = Date.now() + 4000;
  let runs = 0;
  let failures = 0;
  const codes = new Set<string>();
  while (Date.now() < deadline) {
    const src = seeds[Math.floor(rnd() * seeds.length)]!;
    const b = Buffer.from(src);
    const flips = 1 + Math.floor(rnd() * 4);
    for (let k = 0; k < flips; k++) {
      const at = Math.floor(rnd() * b.length);
      // Favour the fields that steer parsing: lengths and types at 32-bit boundaries.
      b[at] = rnd() < 0.5 ? Math.floor(rnd() * 256) : b[at]! ^ (1 << Math.floor(rnd() * 8));
    }
    const cut = rnd() < 0.3 ? b.subarray(0, Math.floor(rnd() * b.length)) : b;
    try {
      const r = readChunks(chunked(cut, () => 1 + Math.floor(rnd() * 64)));
      if (r.error) codes.add(r.error.code);
      for (const rec of r.records) if (rec.data.length !== rec.capLen) throw new Error('data length differs from capLen');
    } catch (e) {
      failures++;
      if (failures < 5) t.fail(`non-PodspanError on mutated input: ${String(e)} (${isPodspanError(e)})`);
    }
    runs++;
  }
  t.equal(failures, 0, `${runs} mutated inputs, only PodspanErrors (${[...codes].sort().join(', ')})`);
  t.ok(runs > 100, 'ran enough inputs');
});
