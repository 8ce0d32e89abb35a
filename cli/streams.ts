import { existsSync, readdirSync } from 'node:fs';
import { Parser } from '../packet/decode/parser.js';
import { TcpSegmentFeed } from '../packet/reassembly/from-parser.js';
import { TcpReassembler, TCP_DIR, type TcpConn, type TcpDir, type TcpCloseReason, type TcpGapReason, type TcpReassemblerOptions } from '../packet/reassembly/index.js';
import type { TcpHandler } from '../packet/reassembly/tcp-stream.js';
import { formatIPv4, formatIPv6 } from '../packet/wire/ip-addr.js';
import { forEachRecord, STOP_READING } from './input.js';
import { ByteOutput } from './byte-output.js';
import { type OutFile, StreamFiles } from './streams-files.js';
import { limitHeapGrowth } from './heap.js';
import { makeDirs } from './dirs.js';
import { Interrupt } from './interrupt.js';


export interface StreamsOptions {
  outDir: string;
  json: boolean;
  /** Memory budget in bytes: out-of-order data gets it whole, connection state gets as many connections as CONN_STATE_BYTES each fit in it. */
  memCapBytes: number;
  /** Overrides the connection limit derived from memCapBytes. */
  maxConnections?: number;
  /** Names remembered before they are checked on disk (NAME_SET_MAX); for tests. */
  nameSetMax?: number;
}

/** What one tracked connection costs (reassembler state, file names, JSON edge), measured on 100k half-open connections. */
export const CONN_STATE_BYTES = 2048;
export const DEFAULT_STREAMS_MEMCAP = 64 * 1024 * 1024;

function addr(buf: Buffer, v: 4 | 6): string {
  return v === 4 ? formatIPv4(buf, 0) : formatIPv6(buf, 0);
}

function endpoint(buf: Buffer, v: 4 | 6, port: number): string {
  return v === 4 ? `${addr(buf, v)}:${port}` : `[${addr(buf, v)}]:${port}`;
}

function ts(sec: number, nsec: number): string {
  return `${sec}.${String(nsec).padStart(9, '0')}`;
}

/**
 * Names taken in this run, remembered exactly up to this many (about 10 MB, a fixed overhead
 * outside --memcap); past it the writes are drained (every file named so far then exists)
 * and names are checked on disk from then on, as they are from the start when the output
 * directory is not empty. No existsSync per connection otherwise (it cost as much as the
 * reassembly on captures of many short connections).
 */
export const NAME_SET_MAX = 100_000;

interface ConnFiles {
  /** Name without suffix, chosen at the first data (the 4-tuple, then -1, -2, … if taken). */
  base: string | undefined;
  dirs: [OutFile | null, OutFile | null];
  /** Bytes cut by the snap length per direction: reported apart from gapBytes (Wireshark does not count them missing). */
  snapCut: [number, number];
}

/**
 * Writes each connection's reassembled payload to `<client>.<port>-<server>.<port>.c2s|.s2c`
 * (a later connection on the same 4-tuple gets -1, -2, … before the suffix; names of files
 * already in the directory are never reused). Only delivered bytes are written: a gap is
 * never filled, it is counted (gapBytes) and reported. The files are written by
 * StreamFiles on a worker thread; the record loop waits on `pending()` for back-pressure.
 */
class StreamWriter implements TcpHandler {
  private readonly conns = new Map<TcpConn, ConnFiles>();
  readonly files: StreamFiles;
  private readonly dir: string;
  /** Names taken in this run (exact), while names are not checked on disk. */
  private readonly names = new Set<string>();
  /** Check names on disk too: the directory had files, or more than NAME_SET_MAX names were taken. */
  private probe: boolean;

  constructor(
    outDir: string,
    private readonly onResult: ((line: string) => void) | undefined,
    private readonly nameSetMax: number,
  ) {
    this.dir = outDir.endsWith('/') ? outDir : `${outDir}/`;
    this.probe = readdirSync(outDir).length > 0;
    this.files = new StreamFiles();
  }

  onOpen(conn: TcpConn): void {
    this.conns.set(conn, { base: undefined, dirs: [null, null], snapCut: [0, 0] });
  }

  private taken(base: string): boolean {
    if (this.names.has(base)) return true;
    return this.probe && (existsSync(`${this.dir}${base}.c2s`) || existsSync(`${this.dir}${base}.s2c`));
  }

  /** Names a connection's files at its first data. */
  private name(conn: TcpConn, cf: ConnFiles): void {
    const v = conn.ipVersion;
    const base0 = `${addr(conn.clientAddr, v)}.${conn.clientPort}-${addr(conn.serverAddr, v)}.${conn.serverPort}`;
    let base = base0;
    for (let n = 1; this.taken(base); n++) base = `${base0}-${n}`;
    this.names.add(base);
    cf.base = base;
    cf.dirs[0] = this.files.file(`${this.dir}${base}.c2s`);
    cf.dirs[1] = this.files.file(`${this.dir}${base}.s2c`);
  }

  /**
   * Back-pressure for the record loop: a promise while the files are behind, or while the
   * name set is full (then everything is written, the set emptied, and names are checked on
   * disk from then on).
   */
  pending(): Promise<void> | undefined {
    if (this.names.size >= this.nameSetMax) return this.drainNames();
    return this.files.busy() ? this.files.idle() : undefined;
  }

  private async drainNames(): Promise<void> {
    await this.files.flush();
    this.names.clear();
    this.probe = true;
  }

  onData(conn: TcpConn, dir: TcpDir, data: Buffer): void {
    const cf = this.conns.get(conn)!;
    if (cf.base === undefined) this.name(conn, cf);
    this.files.append(cf.dirs[dir]!, data);
  }

  onGap(conn: TcpConn, dir: TcpDir, _off: number, len: number, reason: TcpGapReason): void {
    // The file is never padded; the reassembler counts the hole in gapBytes.
    if (reason === 'snaplen') this.conns.get(conn)!.snapCut[dir] += len;
  }

  onClose(conn: TcpConn, reason: TcpCloseReason): void {
    // The connection table is full and churning: hold V8's heap growth from now on.
    if (reason === 'evicted') limitHeapGrowth();
    const cf = this.conns.get(conn)!;
    this.conns.delete(conn);
    for (const f of cf.dirs) if (f !== null) this.files.retire(f);
    if (!this.onResult) return;
    const v = conn.ipVersion;
    const dirJson = (d: TcpDir): string => {
      const s = d === TCP_DIR.C2S ? conn.c2s : conn.s2c;
      const f = cf.dirs[d];
      return `{"bytes":${s.bytes},"gapBytes":${s.gapBytes - cf.snapCut[d]},"snaplenBytes":${cf.snapCut[d]},"overlapBytes":${s.overlapBytes},"overlapConflictBytes":${s.overlapConflictBytes},"file":${f !== null && f.bytes > 0 ? JSON.stringify(f.path) : 'null'}}`;
    };
    this.onResult(
      `{"client":"${endpoint(conn.clientAddr, v, conn.clientPort)}","server":"${endpoint(conn.serverAddr, v, conn.serverPort)}",` +
        `"start":"${ts(conn.startSec, conn.startNsec)}","end":"${ts(conn.endSec, conn.endNsec)}","midStream":${conn.midStream},"close":"${conn.closeReason ?? 'flush'}",` +
        `"c2s":${dirJson(TCP_DIR.C2S)},"s2c":${dirJson(TCP_DIR.S2C)}}`,
    );
  }
}

/** tcpdump-style closing lines: what was delivered, and every byte that was not, by reason. */
function summary(ra: TcpReassembler, tcpPackets: number): string {
  const c = ra.counters;
  const lines = [
    `${tcpPackets} TCP segments, ${c.connsOpened} connections`,
    `${c.deliveredBytes} bytes delivered, ${c.gapBytes} bytes missing in capture (gaps)`,
  ];
  const drops = Object.entries(c.drops).filter(([, d]) => d.bytes > 0 || d.segments > 0);
  if (drops.length > 0) lines.push(`not delivered: ${drops.map(([r, d]) => `${r} ${d.bytes} bytes/${d.segments} segments`).join(', ')}`);
  const evicted = c.connsClosed['evicted'] ?? 0;
  if (evicted > 0) lines.push(`${evicted} connections evicted (connection limit ${ra.options.maxConnections}: raise --memcap or --max-connections)`);
  return lines.map((l) => `podspan: ${l}\n`).join('');
}

/** `podspan streams FILE -o DIR [--json] [--memcap SIZE] [--max-connections N]`. */
export async function runStreams(file: string, opts: StreamsOptions): Promise<number> {
  makeDirs(opts.outDir, '-o');
  // JSON lines are written as connections close, straight into an output buffer: a flush at
  // the end closes every connection at once, and holding those lines as strings would cost
  // more than the connections did.
  const out = new ByteOutput();
  const writer = new StreamWriter(
    opts.outDir,
    opts.json
      ? (l) => {
          void out.line(l);
        }
      : undefined,
    opts.nameSetMax ?? NAME_SET_MAX,
  );
  const reassembly: Partial<TcpReassemblerOptions> = {
    memCapBytes: opts.memCapBytes,
    maxConnections: opts.maxConnections ?? Math.max(16, Math.floor(opts.memCapBytes / CONN_STATE_BYTES)),
  };
  const ra = new TcpReassembler(writer, reassembly);
  const parser = new Parser();
  let tcpPackets = 0;
  // IPv4 and IPv6 fragments of TCP are put back together before reassembly (capture time drives the
  // defragmenter's timeouts).
  const feed = new TcpSegmentFeed();
  // Ctrl-C (or SIGTERM) stops reading; what was read is reassembled, written and summed up as
  // at the end of the file, so the files and the JSON agree. A second signal kills at once.
  // A pipe may have nothing more to say for a long time: stop waiting for it.
  const interrupt = new Interrupt(() => {
    if (file === '-') process.stdin.destroy();
  });
  let records = 0;
  try {
    await forEachRecord(file, (rec) => {
      if (interrupt.signal !== undefined) return STOP_READING;
      records++;
      parser.decode(rec.data, rec.iface.linkType, rec.wireLen);
      const seg = feed.next(parser, rec.tsSec, rec.tsNsec);
      if (seg === undefined) return undefined;
      tcpPackets++;
      ra.add(seg);
      // Connections closed by this segment (evictions) may have filled the output, data the
      // files: wait for them.
      return out.pending ?? writer.pending();
    }, undefined, { source: writer.files, onChunkDone: () => writer.files.submit() }).catch((e: unknown) => {
      // Interrupted: the input was cut where it was (a record half read is not an error).
      if (interrupt.signal === undefined) throw e;
    });
    ra.flushAll();
  } finally {
    interrupt.release();
    // Also after a read error: what was reassembled up to it is written.
    await writer.files.close();
  }
  await out.flush();
  process.stderr.write(summary(ra, tcpPackets));
  const dc = feed.defrag.counters;
  if (dc.receivedFragments > 0) process.stderr.write(`podspan: ${dc.receivedFragments} IP fragments, ${dc.datagrams} datagrams reassembled\n`);
  const shed = writer.files.shedCount;
  if (shed > 0) process.stderr.write(`podspan: out of file descriptors: stream files were closed early and reopened to append ${shed} times (all bytes written; raise ulimit -n for speed)\n`);
  if (interrupt.signal !== undefined) {
    process.stderr.write(`podspan: interrupted (${interrupt.signal}) after ${records} records: the connections seen so far were flushed and written\n`);
    return interrupt.exitStatus;
  }
  return 0;
}
