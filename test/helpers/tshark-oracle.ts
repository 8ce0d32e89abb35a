import { Buffer } from 'node:buffer';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapngWriter } from '../../packet/capfile/pcapng-writer.js';

/**
 * tshark as the oracle for the corpus, run once per test run (never cached on disk).
 *
 * tshark needs ~0.6-0.8 s to start, so one run per file would take minutes. Instead:
 * - pcapng files are concatenated byte for byte (a pcapng file may hold many sections,
 *   each with its own byte order and interfaces), separated by a marker section;
 * - pcap files are concatenated with `mergecap -a -F pcapng` (wiretap, the reader tshark
 *   itself uses), with the same marker file between them. mergecap normalises invalid
 *   nanosecond fields, so files with such timestamps are given to tshark one by one
 *   (`direct`).
 * Then one tshark run per batch, and the output is split at the marker packets.
 *
 * tshark 4.0 shows pcapng Custom Blocks (0x00000BAD/0x40000BAD) as frames with no
 * encapsulation; they are not packets and are counted apart (`customBlockFrames`).
 */

export interface TsharkPacket {
  /** frame.time_epoch as printed ('' when the block has no timestamp: SPB). */
  ts: string;
  capLen: number;
  wireLen: number;
  /** Values of the extra fields asked for, in order; several occurrences joined with ','. */
  extra: string[];
}

export interface TsharkView {
  packets: TsharkPacket[];
  customBlockFrames: number;
}

const MARKER_TS = '1.000000042';
const MARKER_DATA = Buffer.from('podspan-split');
const LINKTYPE_USER15 = 162;
const FIELDS = ['frame.time_epoch', 'frame.cap_len', 'frame.len', 'frame.encap_type'];

function markerFile(): Buffer {
  const w = new PcapngWriter();
  const shb = w.sectionHeader({ userAppl: 'podspan test marker' });
  const { id, block } = w.addInterface({ linkType: LINKTYPE_USER15, snapLen: 0 });
  const epb = w.packet(id, { tsSec: 1, tsNsec: 42, capLen: MARKER_DATA.length, wireLen: MARKER_DATA.length, data: MARKER_DATA });
  return Buffer.concat([shb, block, ...epb]);
}

function exec(cmd: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { maxBuffer: 256 * 1024 * 1024, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

function tsharkArgs(file: string, extra: readonly string[]): string[] {
  return ['-n', '-r', file, '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=,', ...[...FIELDS, ...extra].flatMap((f) => ['-e', f])];
}

function parseLines(stdout: string): Array<TsharkPacket & { encap: string }> {
  const out: Array<TsharkPacket & { encap: string }> = [];
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const [ts = '', cap = '', len = '', encap = '', ...extra] = line.split('\t');
    out.push({ ts, capLen: Number(cap), wireLen: Number(len), encap, extra });
  }
  return out;
}

function split(stdout: string, files: readonly string[], into: Map<string, TsharkView>): void {
  const lines = parseLines(stdout);
  let i = -1;
  for (const l of lines) {
    if (l.ts === MARKER_TS && l.capLen === MARKER_DATA.length) {
      i++;
      if (i < files.length) into.set(files[i]!, { packets: [], customBlockFrames: 0 });
      continue;
    }
    const view = i >= 0 && i < files.length ? into.get(files[i]!) : undefined;
    if (view === undefined) throw new Error(`tshark output outside any file segment: ${JSON.stringify(l)}`);
    if (l.encap === '') view.customBlockFrames++;
    else view.packets.push({ ts: l.ts, capLen: l.capLen, wireLen: l.wireLen, extra: l.extra });
  }
  if (i !== files.length) throw new Error(`expected ${files.length + 1} markers in tshark output, saw ${i + 1}`);
}

/**
 * tshark's view of every file: `pcapng` and `pcap` are batched as described above,
 * `direct` files are run one by one. All must be files tshark reads.
 */
export async function tsharkViews(pcapng: readonly string[], pcap: readonly string[], direct: readonly string[], extraFields: readonly string[] = []): Promise<Map<string, TsharkView>> {
  const dir = mkdtempSync(join(tmpdir(), 'podspan-tshark-'));
  try {
    const marker = markerFile();
    const markerPath = join(dir, 'marker.pcapng');
    writeFileSync(markerPath, marker);
    const ngPath = join(dir, 'pcapng-batch.pcapng');
    const parts: Buffer[] = [];
    for (const f of pcapng) parts.push(marker, readFileSync(f));
    parts.push(marker);
    writeFileSync(ngPath, Buffer.concat(parts));
    const pcPath = join(dir, 'pcap-batch.pcapng');
    const merge = await exec('mergecap', ['-F', 'pcapng', '-a', '-w', pcPath, ...pcap.flatMap((f) => [markerPath, f]), markerPath]);
    if (merge.code !== 0) throw new Error(`mergecap failed: ${merge.stderr}`);
    const [ng, pc, ...dr] = await Promise.all([
      exec('tshark', tsharkArgs(ngPath, extraFields)),
      exec('tshark', tsharkArgs(pcPath, extraFields)),
      ...direct.map((f) => exec('tshark', tsharkArgs(f, extraFields))),
    ]);
    if (ng.code !== 0) throw new Error(`tshark on the pcapng batch failed: ${ng.stderr}`);
    if (pc.code !== 0) throw new Error(`tshark on the pcap batch failed: ${pc.stderr}`);
    const views = new Map<string, TsharkView>();
    split(ng.stdout, pcapng, views);
    split(pc.stdout, pcap, views);
    direct.forEach((f, k) => {
      const r = dr[k]!;
      if (r.code !== 0) throw new Error(`tshark -r ${f} failed: ${r.stderr}`);
      const view: TsharkView = { packets: [], customBlockFrames: 0 };
      for (const l of parseLines(r.stdout)) {
        if (l.encap === '') view.customBlockFrames++;
        else view.packets.push({ ts: l.ts, capLen: l.capLen, wireLen: l.wireLen, extra: l.extra });
      }
      views.set(f, view);
    });
    return views;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs a command and reports its exit code and output (for tcpdump/tshark checks). */
export { exec };
