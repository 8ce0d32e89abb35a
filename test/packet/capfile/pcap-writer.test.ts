import t from 'tap';
import { Buffer } from 'node:buffer';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { PcapWriter } from '../../../packet/capfile/pcap-writer.js';
import type { PcapWriterOptions } from '../../../packet/capfile/pcap-writer.js';
import { ERR } from '../../../packet/errors.js';
import { CORPUS_DIR, corpusFiles, requireCorpus } from '../../helpers/corpus.js';
import { atOffset10, readAll, sameHeader, writePcap } from './capfile-helpers.js';
import { exec } from '../../helpers/tshark-oracle.js';

t.test('every classic pcap in the corpus that libpcap accepts is reproduced byte for byte', async (t) => {
  if (!requireCorpus(t)) return;
  const files = corpusFiles().filter((f) => f.endsWith('.pcap') && !f.includes('the-tcpdump-group+libpcap'));
  t.ok(files.length >= 90, `${files.length} pcap files`);
  for (const f of files) {
    const buf = readFileSync(f);
    const r = readAll(buf);
    t.equal(r.error, undefined, `${relative(CORPUS_DIR, f)} reads`);
    const out = writePcap(sameHeader(r.interfaces[0]!), r.records);
    t.ok(out.equals(buf), `${relative(CORPUS_DIR, f)}: ${buf.length} bytes identical`);
  }
});

t.test('header and record header encode in place at offset 10 of a 0xa5-filled buffer', async (t) => {
  for (const opts of [
    { linkType: 1, snapLen: 65535 },
    { linkType: 113, snapLen: 262144, bigEndian: true, nanosecond: false },
  ] satisfies PcapWriterOptions[]) {
    const w = new PcapWriter(opts);
    const big = Buffer.alloc(24 + 20, 0xa5);
    t.equal(w.encodeHeader(big, 10), 24);
    t.ok(big.subarray(10, 34).equals(w.header()), 'same bytes as header()');
    t.ok(big.subarray(0, 10).every((b) => b === 0xa5) && big.subarray(34).every((b) => b === 0xa5), 'nothing written outside');
    const rec = { tsSec: 1700000000, tsNsec: 123456789, capLen: 3, wireLen: 9, data: Buffer.from('abc') };
    const big2 = Buffer.alloc(16 + 20, 0xa5);
    t.equal(w.encodeRecordHeader(rec, big2, 10), 16);
    t.ok(big2.subarray(10, 26).equals(w.record(rec)[0]!));
    t.ok(big2.subarray(0, 10).every((b) => b === 0xa5) && big2.subarray(26).every((b) => b === 0xa5));
    // And the file read back from offset 10 of an 0xa5 buffer.
    const file = Buffer.concat([w.header(), ...w.record(rec)]);
    const back = readAll(atOffset10(file));
    t.match(back.records, [{ tsSec: 1700000000, tsNsec: opts.nanosecond === false ? 123456000 : 123456789, capLen: 3, wireLen: 9 }]);
    t.equal(back.records[0]?.data.toString(), 'abc');
  }
});

t.test('record() returns the header and a view of the data, not a copy; capLen bounds the view', async (t) => {
  const w = new PcapWriter({ linkType: 1, snapLen: 65535 });
  const data = Buffer.from('0123456789');
  const [h, d] = w.record({ tsSec: 1, tsNsec: 2, capLen: 4, wireLen: 10, data });
  t.equal(h?.length, 16);
  t.equal(d?.buffer, data.buffer, 'same memory');
  t.equal(d?.toString(), '0123');
  t.throws(() => w.record({ tsSec: 1, tsNsec: 2, capLen: 11, wireLen: 11, data }), { code: ERR.CAPFILE_BAD_RECORD });
});

t.test('the microsecond writer rounds nanoseconds down', async (t) => {
  const w = new PcapWriter({ linkType: 1, snapLen: 65535, nanosecond: false });
  const file = Buffer.concat([w.header(), ...w.record({ tsSec: 5, tsNsec: 999_999_999, capLen: 0, wireLen: 0, data: Buffer.alloc(0) })]);
  t.equal(file.readUInt32LE(0), 0xa1b2c3d4);
  t.equal(file.readUInt32LE(24 + 4), 999_999);
  t.match(readAll(file).records, [{ tsSec: 5, tsNsec: 999_999_000 }]);
});

t.test('times classic pcap cannot hold are CAPFILE_UNREPRESENTABLE (pcapng from 2106 on)', async (t) => {
  const w = new PcapWriter({ linkType: 1, snapLen: 65535 });
  const rec = (tsSec: number): { tsSec: number; tsNsec: number; capLen: number; wireLen: number; data: Buffer } => ({ tsSec, tsNsec: 0, capLen: 0, wireLen: 0, data: Buffer.alloc(0) });
  t.equal(w.record(rec(0xffffffff)).length, 2, '2106-02-07T06:28:15Z fits');
  t.throws(() => w.record(rec(2 ** 32)), { code: ERR.CAPFILE_UNREPRESENTABLE });
  t.throws(() => w.record(rec(-1)), { code: ERR.CAPFILE_UNREPRESENTABLE });
  t.throws(() => w.record({ ...rec(1), tsNsec: 2 ** 32 }), { code: ERR.CAPFILE_UNREPRESENTABLE }, 'ns field beyond 32 bits');
  if (!requireCorpus(t)) return;
  for (const name of ['time_2106_overflow.pcapng', 'time_2107.pcapng']) {
    const r = readAll(readFileSync(join(CORPUS_DIR, 'the-tcpdump-group+tcpdump', 'tests', name)));
    t.equal(r.records.length, 1);
    const i = r.interfaces[0]!;
    const pw = new PcapWriter({ linkType: i.linkType, snapLen: i.snapLen });
    t.throws(() => pw.record(r.records[0]!), { code: ERR.CAPFILE_UNREPRESENTABLE }, `${name}: ${r.records[0]!.tsSec} s`);
  }
});

t.test('old versions are written with the lengths in their swapped order and read back', async (t) => {
  for (const [versionMajor, versionMinor] of [
    [2, 2],
    [543, 0],
    [2, 3],
  ] as const) {
    const w = new PcapWriter({ linkType: 1, snapLen: 65535, versionMajor, versionMinor });
    const file = Buffer.concat([w.header(), ...w.record({ tsSec: 1, tsNsec: 0, capLen: 2, wireLen: 60, data: Buffer.alloc(2) })]);
    const swapped = versionMajor === 543 || versionMinor < 3;
    t.equal(file.readUInt32LE(24 + 8), swapped ? 60 : 2, `${versionMajor}.${versionMinor}: first length field`);
    t.match(readAll(file).records, [{ capLen: 2, wireLen: 60 }]);
  }
  t.throws(() => new PcapWriter({ linkType: 1, snapLen: 65535, versionMajor: 2, versionMinor: 5 }), { code: ERR.CAPFILE_BAD_VERSION });
  t.throws(() => new PcapWriter({ linkType: 70000, snapLen: 65535 }), { code: ERR.CAPFILE_UNREPRESENTABLE });
});

t.test('the FCS length is recorded in the link-type field and read back', async (t) => {
  const w = new PcapWriter({ linkType: 1, snapLen: 65535, fcsLen: 4 });
  const h = w.header();
  t.equal(h.readUInt32LE(20), (1 | 0x04000000 | (2 << 28)) >>> 0);
  t.match(readAll(h).interfaces, [{ linkType: 1, fcsLen: 4 }]);
  t.throws(() => new PcapWriter({ linkType: 1, snapLen: 65535, fcsLen: 3 }), { code: ERR.CAPFILE_UNREPRESENTABLE });
});

t.test('tcpdump -r and tshark -r read what PcapWriter writes, with the same times and lengths', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'podspan-pcapw-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const data = Buffer.from('ffffffffffff020000000001080045000020000100004011f9c60a0000010a000002d431003500000000' + 'deadbeef', 'hex');
  const recs = [
    { tsSec: 1700000000, tsNsec: 1, capLen: data.length, wireLen: data.length, data },
    { tsSec: 1700000001, tsNsec: 999_999_999, capLen: 20, wireLen: data.length, data },
    { tsSec: 0xffffffff, tsNsec: 500_000_000, capLen: data.length, wireLen: 1500, data },
  ];
  for (const opts of [
    { linkType: 1, snapLen: 262144 },
    { linkType: 1, snapLen: 65535, bigEndian: true, nanosecond: false },
  ] satisfies PcapWriterOptions[]) {
    const w = new PcapWriter(opts);
    const file = join(dir, `w-${opts.bigEndian ? 'be-us' : 'le-ns'}.pcap`);
    writeFileSync(file, Buffer.concat([w.header(), ...recs.flatMap((r) => w.record(r))]));
    const ns = opts.nanosecond !== false;
    const td = await exec('tcpdump', ['-nn', '-tt', ...(ns ? ['--nano'] : []), '-r', file]);
    t.equal(td.code, 0, `tcpdump reads ${file}: ${td.stderr.trim()}`);
    // tcpdump 4.99.3 prints "[Error converting time]" for times after 2038; tshark checks those.
    const tdTimes = td.stdout.trim().split('\n').map((l) => l.split(' ')[0]);
    t.same(tdTimes, ns ? ['1700000000.000000001', '1700000001.999999999', '[Error'] : ['1700000000.000000', '1700000001.999999', '[Error']);
    const ts = await exec('tshark', ['-n', '-r', file, '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'frame.cap_len', '-e', 'frame.len']);
    t.equal(ts.code, 0, `tshark reads it: ${ts.stderr.trim().slice(0, 200)}`);
    t.same(
      ts.stdout.trim().split('\n'),
      ns
        ? [`1700000000.000000001\t${data.length}\t${data.length}`, `1700000001.999999999\t20\t${data.length}`, `4294967295.500000000\t${data.length}\t1500`]
        : [`1700000000.000000000\t${data.length}\t${data.length}`, `1700000001.999999000\t20\t${data.length}`, `4294967295.500000000\t${data.length}\t1500`],
    );
  }
});
