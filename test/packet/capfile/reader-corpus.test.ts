import t from 'tap';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { ERR } from '../../../packet/errors.js';
import { CORPUS_DIR, corpusFiles, requireCorpus } from '../../helpers/corpus.js';
import { atOffset10, chunked, prng, readAll, readChunks } from './capfile-helpers.js';
import type { ReadResult, RecordCopy } from './capfile-helpers.js';
import { exec, tsharkViews } from '../../helpers/tshark-oracle.js';

// The corpus (../shared/corpus, see its INDEX.md) read by CapfileReader and compared with
// tshark 4.0 and tcpdump 4.99/libpcap 1.10.
//
// Where podspan intentionally differs from tshark:
// - pcap-invalid-version-2.pcap (pcap 2.5): tshark reads it, podspan refuses it as libpcap
//   does (CAPFILE_BAD_VERSION).
// - pcapng Custom Blocks: tshark 4.0 lists each as a frame with no encapsulation
//   (test017/test018/test102/test202 of pcapng-test-generator); they are not packets, and
//   podspan skips them. The oracle counts them apart.
// - timestamp_invalid_nano.pcap record 3 has ts_nsec = 2147483648 (>= 1e9, and >= 2^31):
//   podspan keeps the raw value with tsInvalid (tcpdump prints 1418145370.2147483648);
//   tshark prints "-1418145370.2147483648", reading the field as signed 32-bit.
// - Simple Packet Blocks carry no timestamp: tshark prints none, podspan gives 0.000000000.
// - tcpdump (libpcap) refuses pcapng files whose interfaces differ in link type or
//   snaplen, or that have no IDB at all; podspan reads them as Wireshark does.

const REL = (f: string): string => relative(CORPUS_DIR, f);
const LIBPCAP_REJECTS = (f: string): boolean => f.includes('the-tcpdump-group+libpcap');
/** tcpdump refusals that are libpcap limitations, not file errors. */
const LIBPCAP_LIMITATION = /different from the (type|snapshot length) of the first interface|no Interface Description Blocks/;

function tsString(r: RecordCopy): string {
  return `${r.tsSec}.${r.tsNsec < 1e9 ? String(r.tsNsec).padStart(9, '0') : String(r.tsNsec)}`;
}

function sameRecords(a: ReadResult, b: ReadResult): string | undefined {
  if (a.records.length !== b.records.length) return `record count ${a.records.length} vs ${b.records.length}`;
  for (let i = 0; i < a.records.length; i++) {
    const x = a.records[i]!;
    const y = b.records[i]!;
    const { data: dx, ...rx } = x;
    const { data: dy, ...ry } = y;
    if (JSON.stringify(rx) !== JSON.stringify(ry) || !dx.equals(dy)) return `record ${i + 1} differs`;
  }
  if ((a.error?.code ?? '') !== (b.error?.code ?? '')) return `error ${a.error?.code} vs ${b.error?.code}`;
  if (JSON.stringify(a.error?.details ?? {}) !== JSON.stringify(b.error?.details ?? {})) return 'error details differ';
  if (a.interfaces.length !== b.interfaces.length || a.stats.length !== b.stats.length) return 'interfaces/stats differ';
  return undefined;
}

t.test('every corpus capture tshark reads gives the same packets: count, ns timestamp, caplen, len', async (t) => {
  if (!requireCorpus(t)) return;
  const files = corpusFiles().filter((f) => !LIBPCAP_REJECTS(f));
  t.ok(files.length >= 140, `corpus has ${files.length} readable captures`);
  const ours = new Map(files.map((f) => [f, readAll(readFileSync(f))] as const));
  const direct = files.filter((f) => ours.get(f)!.records.some((r) => r.tsInvalid));
  const views = await tsharkViews(
    files.filter((f) => f.endsWith('.pcapng') && !direct.includes(f)),
    files.filter((f) => f.endsWith('.pcap') && !direct.includes(f)),
    direct,
  );
  let packets = 0;
  const withCustomBlocks: string[] = [];
  for (const f of files) {
    const got = ours.get(f)!;
    const want = views.get(f)!;
    t.equal(got.error, undefined, `${REL(f)}: read without error`);
    t.equal(got.records.length, want.packets.length, `${REL(f)}: ${want.packets.length} packets`);
    if (want.customBlockFrames > 0) withCustomBlocks.push(`${REL(f)} (${want.customBlockFrames})`);
    const bad: string[] = [];
    for (let i = 0; i < Math.min(got.records.length, want.packets.length); i++) {
      const g = got.records[i]!;
      const w = want.packets[i]!;
      packets++;
      const ts = tsString(g);
      let wts = w.ts;
      if (wts === '') wts = '0.000000000'; // SPB: no timestamp
      // tshark reads a nanosecond field >= 2^31 as negative (see the header comment).
      if (g.tsInvalid && g.tsNsec >= 2 ** 31 && wts.startsWith('-')) wts = wts.slice(1);
      if (ts !== wts || g.capLen !== w.capLen || g.wireLen !== w.wireLen) {
        bad.push(`#${i + 1}: ${ts} ${g.capLen}/${g.wireLen}, tshark ${w.ts} ${w.capLen}/${w.wireLen}`);
      }
    }
    t.same(bad.slice(0, 5), [], `${REL(f)}: per-packet time, caplen, len`);
  }
  t.ok(packets > 3000, `compared ${packets} packets`);
  t.same(
    withCustomBlocks.map((s) => s.replace(/^.*\/(output_..\/.*)$/, '$1')).sort(),
    [
      'output_be/advanced/test102.pcapng (3)',
      'output_be/basic/test017.pcapng (4)',
      'output_be/basic/test018.pcapng (4)',
      'output_be/difficult/test202.pcapng (3)',
      'output_le/advanced/test102.pcapng (3)',
      'output_le/basic/test017.pcapng (4)',
      'output_le/basic/test018.pcapng (4)',
      'output_le/difficult/test202.pcapng (3)',
    ],
    'tshark shows custom blocks as frames only in the files that have them; podspan skips them',
  );
});

t.test('the files libpcap must reject make the reader throw the matching CAPFILE_* error', async (t) => {
  if (!requireCorpus(t)) return;
  const expected: Record<string, string> = {
    'linktype-reserved-field-not-zero.pcap': ERR.CAPFILE_BAD_HEADER,
    'pcap-invalid-version-1.pcap': ERR.CAPFILE_BAD_VERSION,
    'pcap-invalid-version-2.pcap': ERR.CAPFILE_BAD_VERSION,
    'pcapng-invalid-vers-1.pcapng': ERR.CAPFILE_BAD_VERSION,
    'pcapng-invalid-vers-2.pcapng': ERR.CAPFILE_BAD_VERSION,
    'shb-option-too-long.pcapng': ERR.CAPFILE_BAD_BLOCK,
  };
  const files = corpusFiles().filter(LIBPCAP_REJECTS);
  t.equal(files.length, Object.keys(expected).length, 'six must-reject files');
  for (const f of files) {
    const r = readAll(readFileSync(f));
    const name = f.slice(f.lastIndexOf('/') + 1);
    t.equal(r.error?.code, expected[name], `${name}: ${r.error?.message}`);
    t.equal(r.records.length, 0, `${name}: no records`);
  }
});

t.test('every file tcpdump refuses for a file error (not a libpcap limitation) is refused by the reader', async (t) => {
  if (!requireCorpus(t)) return;
  const files = corpusFiles();
  const results: Array<{ f: string; code: number; stderr: string }> = [];
  for (let i = 0; i < files.length; i += 4) {
    const batch = files.slice(i, i + 4);
    results.push(...(await Promise.all(batch.map(async (f) => ({ f, ...(await exec('tcpdump', ['-nn', '-r', f])) })))));
  }
  let refused = 0;
  let limitations = 0;
  for (const { f, code, stderr } of results) {
    const r = readAll(readFileSync(f));
    if (code === 0) {
      t.equal(r.error, undefined, `${REL(f)}: tcpdump reads it, so does podspan`);
    } else if (LIBPCAP_LIMITATION.test(stderr)) {
      limitations++;
      t.equal(r.error, undefined, `${REL(f)}: libpcap limitation (${stderr.trim().split('\n').pop()}); podspan reads it`);
    } else {
      refused++;
      t.match(r.error?.code, /^PODSPAN_ERR_CAPFILE_/, `${REL(f)}: tcpdump refuses it; podspan throws ${r.error?.code}`);
    }
  }
  t.equal(refused, 6, 'tcpdump refuses the six libpcap must-reject files');
  t.equal(limitations, 26, 'and 26 pcapng files only for libpcap limitations');
});

t.test('1-byte, 7-byte and random chunks give exactly the records of one whole-file push', async (t) => {
  if (!requireCorpus(t)) return;
  const rnd = prng(0x5eed);
  let n = 0;
  for (const f of corpusFiles()) {
    const buf = readFileSync(f);
    const whole = readAll(buf);
    const seed = Math.floor(rnd() * 2 ** 32);
    const r = prng(seed);
    const ways: Array<[string, (i: number) => number]> = [
      ['1-byte', () => 1],
      ['7-byte', () => 7],
      [`random (seed ${seed})`, () => 1 + Math.floor(r() * (r() < 0.5 ? 16 : 3000))],
    ];
    const diffs: string[] = [];
    for (const [name, size] of ways) {
      const d = sameRecords(whole, readChunks(chunked(buf, size)));
      if (d !== undefined) diffs.push(`${name}: ${d}`);
    }
    t.same(diffs, [], `${REL(f)}: ${whole.records.length} records${whole.error ? `, then ${whole.error.code}` : ''}`);
    n++;
  }
  t.ok(n >= 146, `${n} files`);
});

t.test('a capture at offset 10 of a larger 0xa5-filled buffer reads the same', async (t) => {
  if (!requireCorpus(t)) return;
  for (const f of corpusFiles()) {
    const buf = readFileSync(f);
    const d = sameRecords(readAll(buf), readAll(atOffset10(buf)));
    t.equal(d, undefined, REL(f));
  }
});
