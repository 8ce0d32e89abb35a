import { closeSync, existsSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Parser } from '../packet/decode/parser.js';
import { DECODE_STATUS } from '../packet/decode/status.js';
import { Defragmenter, DEFRAG_STATUS, type FragmentIn, TcpReassembler, TCP_DIR, type TcpConn, type TcpDir, type TcpSegmentIn, type TcpCloseReason, type TcpGapReason, type TcpReassemblerOptions } from '../packet/reassembly/index.js';
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
  /** Bytes not yet written (a WRITE_BUFFER_BYTES buffer while the direction is active). */
  pending: Buffer | null;
  pendingLen: number;
}

/**
 * Per-direction write buffer: small segments are gathered and written in one call (a 4 KiB
 * response becomes one write(2) instead of three). Active directions (open file or
 * buffered bytes) are limited to MAX_OPEN_FILES, so buffers hold at most 16 MiB.
 */
const WRITE_BUFFER_BYTES = 64 * 1024;

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
  /** Write buffers of retired directions, reused (no 64 KiB allocation per connection). */
  private readonly spare: Buffer[] = [];
  private readonly open = new Map<DirFile, true>();
  readonly results: string[] = [];

  constructor(
    private readonly outDir: string,
    private readonly onResult: ((line: string) => void) | undefined,
  ) {}

  onOpen(conn: TcpConn): void {
    const mk = (): DirFile => ({ path: '', fd: -1, created: false, pending: null, pendingLen: 0 });
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

  /** Marks `f` most recently used among the active directions, retiring the least recent one when over the limit. */
  private touch(f: DirFile): void {
    if (this.open.delete(f)) {
      this.open.set(f, true);
      return;
    }
    if (this.open.size >= MAX_OPEN_FILES) this.retire(this.open.keys().next().value as DirFile);
    this.open.set(f, true);
  }

  /** Writes what `f` holds, closes its file and frees its buffer. */
  private retire(f: DirFile): void {
    this.flush(f);
    if (f.fd >= 0) closeSync(f.fd);
    f.fd = -1;
    if (f.pending !== null && this.spare.length < MAX_OPEN_FILES) this.spare.push(f.pending);
    f.pending = null;
    this.open.delete(f);
  }

  private write(f: DirFile, data: Buffer): void {
    if (f.fd < 0) {
      f.fd = openSync(f.path, f.created ? 'a' : 'w');
      f.created = true;
    }
    let done = 0;
    while (done < data.length) done += writeSync(f.fd, data, done, data.length - done);
  }

  private flush(f: DirFile): void {
    if (f.pending !== null && f.pendingLen > 0) this.write(f, f.pending.subarray(0, f.pendingLen));
    f.pendingLen = 0;
  }

  onData(conn: TcpConn, dir: TcpDir, data: Buffer): void {
    const cf = this.files.get(conn)!;
    if (cf.base === undefined) this.name(conn, cf);
    const f = cf.dirs[dir];
    this.touch(f);
    if (f.pendingLen + data.length > WRITE_BUFFER_BYTES) this.flush(f);
    if (data.length >= WRITE_BUFFER_BYTES) {
      this.write(f, data);
      return;
    }
    if (f.pending === null) f.pending = this.spare.pop() ?? Buffer.allocUnsafeSlow(WRITE_BUFFER_BYTES);
    data.copy(f.pending, f.pendingLen);
    f.pendingLen += data.length;
  }

  onGap(conn: TcpConn, dir: TcpDir, _off: number, len: number, reason: TcpGapReason): void {
    // The file is never padded; the reassembler counts the hole in gapBytes.
    if (reason === 'snaplen') this.files.get(conn)!.snapCut[dir] += len;
  }

  onClose(conn: TcpConn, _reason: TcpCloseReason): void {
    const cf = this.files.get(conn)!;
    this.files.delete(conn);
    for (const f of cf.dirs) this.retire(f);
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

function fillSeg(seg: TcpSegmentIn, tsSec: number, tsNsec: number, addrBuf: Buffer, srcOff: number, dstOff: number, addrLen: 4 | 16): void {
  seg.tsSec = tsSec;
  seg.tsNsec = tsNsec;
  seg.addrBuf = addrBuf;
  seg.srcOff = srcOff;
  seg.dstOff = dstOff;
  seg.addrLen = addrLen;
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
          void out.line(l);
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
  // IPv4 fragments of TCP are put back together before reassembly (capture time drives the
  // defragmenter's timeouts). TODO(#4): IPv6 fragments (the parser does not yet expose the
  // Fragment header's offset).
  const defrag = new Defragmenter();
  const frag: FragmentIn = {
    tsSec: 0, tsNsec: 0, version: 4, id: 0, addrBuf: Buffer.alloc(0), srcOff: 0, dstOff: 0,
    protocol: 0, fragOff: 0, moreFragments: false, payload: Buffer.alloc(0), payloadLen: 0,
  };
  await forEachRecord(file, (rec) => {
    parser.decode(rec.data, rec.iface.linkType, rec.wireLen);
    if (parser.ipVersion === 4 && parser.isFragment && parser.ipProto === IPPROTO_TCP) {
      const d = parser.data;
      const ip = parser.ipOffset;
      const ihl = (d.readUInt8(ip) & 0x0f) * 4;
      const ff = d.readUInt16BE(ip + 6);
      const start = Math.min(ip + ihl, d.length);
      frag.tsSec = rec.tsSec;
      frag.tsNsec = rec.tsNsec;
      frag.id = d.readUInt16BE(ip + 4);
      frag.addrBuf = d;
      frag.srcOff = parser.ipSrcOffset;
      frag.dstOff = parser.ipDstOffset;
      frag.protocol = IPPROTO_TCP;
      frag.fragOff = (ff & 0x1fff) * 8;
      frag.moreFragments = (ff & 0x2000) !== 0;
      frag.payloadLen = parser.ipPayloadLen;
      frag.payload = d.subarray(start, Math.min(start + parser.ipPayloadLen, d.length));
      if (defrag.add(frag) !== DEFRAG_STATUS.COMPLETE) return undefined;
      const seg0 = defrag.payload;
      if (seg0.length < 20 || (seg0.readUInt8(12) >>> 4) * 4 < 20 || (seg0.readUInt8(12) >>> 4) * 4 > seg0.length) return undefined;
      const hl = (seg0.readUInt8(12) >>> 4) * 4;
      tcpPackets++;
      fillSeg(seg, rec.tsSec, rec.tsNsec, parser.data, parser.ipSrcOffset, parser.ipDstOffset, 4);
      seg.sport = seg0.readUInt16BE(0);
      seg.dport = seg0.readUInt16BE(2);
      seg.seq = seg0.readUInt32BE(4);
      seg.ack = seg0.readUInt32BE(8);
      seg.flags = seg0.readUInt8(13);
      seg.window = seg0.readUInt16BE(14);
      seg.wscale = -1;
      seg.payload = seg0.subarray(hl);
      seg.payloadLen = seg0.length - hl;
      ra.add(seg);
      return out.pending;
    }
    if (parser.ipVersion === 0 || parser.l4Proto !== IPPROTO_TCP || parser.isFragment || parser.status === DECODE_STATUS.MALFORMED) return undefined;
    tcpPackets++;
    fillSeg(seg, rec.tsSec, rec.tsNsec, parser.data, parser.ipSrcOffset, parser.ipDstOffset, parser.ipVersion === 4 ? 4 : 16);
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
  const dc = defrag.counters;
  if (dc.receivedFragments > 0) process.stderr.write(`podspan: ${dc.receivedFragments} IPv4 fragments, ${dc.datagrams} datagrams reassembled\n`);
  return 0;
}
