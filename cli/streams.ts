import { closeSync, existsSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Parser } from '../packet/decode/parser.js';
import { DECODE_STATUS } from '../packet/decode/status.js';
import { TcpReassembler, TCP_DIR, type TcpConn, type TcpDir, type TcpSegmentIn, type TcpCloseReason, type TcpGapReason, type TcpReassemblerOptions } from '../packet/reassembly/index.js';
import type { TcpHandler } from '../packet/reassembly/tcp-stream.js';
import { formatIPv4, formatIPv6 } from '../packet/wire/ip-addr.js';
import { forEachRecord } from './input.js';
import { ByteOutput } from './byte-output.js';

const IPPROTO_TCP = 6;
/** Open stream files at once; more are closed least-recently-used first and reopened for append. */
const MAX_OPEN_FILES = 256;

export interface StreamsOptions {
  outDir: string;
  json: boolean;
  /** Memory budget in bytes: out-of-order data gets it whole, connection state gets as many connections as CONN_STATE_BYTES each fit in it. */
  memCapBytes: number;
  /** Overrides the connection limit derived from memCapBytes. */
  maxConnections?: number;
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

interface DirFile {
  path: string;
  fd: number;
  created: boolean;
}

interface ConnFiles {
  /** Name without suffix, chosen at the first data (the 4-tuple, then -1, -2, … if taken). */
  base: string | undefined;
  dirs: [DirFile, DirFile];
  /** Bytes cut by the snap length per direction: reported apart from gapBytes (Wireshark does not count them missing). */
  snapCut: [number, number];
}

/**
 * Writes each connection's reassembled payload to `<client>.<port>-<server>.<port>.c2s|.s2c`
 * (a later connection on the same 4-tuple gets -1, -2, … before the suffix). Only delivered
 * bytes are written: a gap is never filled, it is counted (gapBytes) and reported.
 */
class StreamWriter implements TcpHandler {
  private readonly files = new Map<TcpConn, ConnFiles>();
  private readonly open = new Map<DirFile, true>();
  readonly results: string[] = [];

  constructor(
    private readonly outDir: string,
    private readonly onResult: ((line: string) => void) | undefined,
  ) {}

  onOpen(conn: TcpConn): void {
    const mk = (): DirFile => ({ path: '', fd: -1, created: false });
    this.files.set(conn, { base: undefined, dirs: [mk(), mk()], snapCut: [0, 0] });
  }

  /**
   * Names a connection's files at its first data. A later connection on the same 4-tuple
   * finds the earlier one's files and takes -1, -2, …; asking the directory instead of
   * remembering every 4-tuple keeps memory flat however many connections pass.
   */
  private name(conn: TcpConn, cf: ConnFiles): void {
    const v = conn.ipVersion;
    const base0 = `${addr(conn.clientAddr, v)}.${conn.clientPort}-${addr(conn.serverAddr, v)}.${conn.serverPort}`;
    let base = base0;
    for (let n = 1; existsSync(join(this.outDir, `${base}.c2s`)) || existsSync(join(this.outDir, `${base}.s2c`)); n++) base = `${base0}-${n}`;
    cf.base = base;
    cf.dirs[0].path = join(this.outDir, `${base}.c2s`);
    cf.dirs[1].path = join(this.outDir, `${base}.s2c`);
  }

  private fdOf(f: DirFile): number {
    if (f.fd >= 0) {
      this.open.delete(f);
      this.open.set(f, true);
      return f.fd;
    }
    if (this.open.size >= MAX_OPEN_FILES) {
      const oldest = this.open.keys().next().value as DirFile;
      this.open.delete(oldest);
      closeSync(oldest.fd);
      oldest.fd = -1;
    }
    f.fd = openSync(f.path, f.created ? 'a' : 'w');
    f.created = true;
    this.open.set(f, true);
    return f.fd;
  }

  onData(conn: TcpConn, dir: TcpDir, data: Buffer): void {
    const cf = this.files.get(conn)!;
    if (cf.base === undefined) this.name(conn, cf);
    const f = cf.dirs[dir];
    const fd = this.fdOf(f);
    let done = 0;
    while (done < data.length) done += writeSync(fd, data, done, data.length - done);
  }

  onGap(conn: TcpConn, dir: TcpDir, _off: number, len: number, reason: TcpGapReason): void {
    // The file is never padded; the reassembler counts the hole in gapBytes.
    if (reason === 'snaplen') this.files.get(conn)!.snapCut[dir] += len;
  }

  onClose(conn: TcpConn, _reason: TcpCloseReason): void {
    const cf = this.files.get(conn)!;
    this.files.delete(conn);
    for (const f of cf.dirs) {
      if (f.fd >= 0) {
        this.open.delete(f);
        closeSync(f.fd);
        f.fd = -1;
      }
    }
    if (!this.onResult) return;
    const v = conn.ipVersion;
    const dirJson = (d: TcpDir): string => {
      const s = d === TCP_DIR.C2S ? conn.c2s : conn.s2c;
      const f = cf.dirs[d];
      return `{"bytes":${s.bytes},"gapBytes":${s.gapBytes - cf.snapCut[d]},"snaplenBytes":${cf.snapCut[d]},"overlapBytes":${s.overlapBytes},"overlapConflictBytes":${s.overlapConflictBytes},"file":${f.created ? JSON.stringify(f.path) : 'null'}}`;
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
  mkdirSync(opts.outDir, { recursive: true });
  // JSON lines are written as connections close, straight into an output buffer: a flush at
  // the end closes every connection at once, and holding those lines as strings would cost
  // more than the connections did.
  const out = new ByteOutput();
  const writer = new StreamWriter(
    opts.outDir,
    opts.json
      ? (l) => {
          void out.reserve();
          out.ascii(l);
          out.byte(10);
        }
      : undefined,
  );
  const reassembly: Partial<TcpReassemblerOptions> = {
    memCapBytes: opts.memCapBytes,
    maxConnections: opts.maxConnections ?? Math.max(16, Math.floor(opts.memCapBytes / CONN_STATE_BYTES)),
  };
  const ra = new TcpReassembler(writer, reassembly);
  const parser = new Parser();
  const seg: TcpSegmentIn = {
    tsSec: 0, tsNsec: 0, addrBuf: Buffer.alloc(0), srcOff: 0, dstOff: 0, addrLen: 4,
    sport: 0, dport: 0, seq: 0, ack: 0, flags: 0, window: 0, wscale: -1, payload: Buffer.alloc(0), payloadLen: 0,
  };
  let tcpPackets = 0;
  await forEachRecord(file, (rec) => {
    parser.decode(rec.data, rec.iface.linkType, rec.wireLen);
    if (parser.ipVersion === 0 || parser.l4Proto !== IPPROTO_TCP || parser.isFragment || parser.status === DECODE_STATUS.MALFORMED) return undefined;
    tcpPackets++;
    seg.tsSec = rec.tsSec;
    seg.tsNsec = rec.tsNsec;
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
    ra.add(seg);
    // Connections closed by this segment (evictions) may have filled the output: wait for it.
    return out.pending;
  });
  ra.flushAll();
  await out.flush();
  process.stderr.write(summary(ra, tcpPackets));
  return 0;
}
