/**
 * Loads the TCP connections of a capture file for replay: every connection's reassembled
 * client and server bytes with the capture time of each delivery, and whether it can be
 * replayed faithfully (seen from its SYN, no gaps).
 *
 * Memory: payload is copied (the reassembler's views live only during a call) and held
 * under `memCapBytes`; a connection whose bytes no longer fit is kept as metadata only and
 * reported as skipped (`memcap`), never silently cut.
 */
import { open } from 'node:fs/promises';
import { CapfileReader } from '../../packet/capfile/reader.js';
import { Parser } from '../../packet/decode/parser.js';
import { TcpSegmentFeed } from '../../packet/reassembly/from-parser.js';
import { TcpReassembler, TCP_DIR, type TcpConn, type TcpDir, type TcpCloseReason, type TcpGapReason } from '../../packet/reassembly/index.js';
import type { TcpHandler } from '../../packet/reassembly/tcp-stream.js';
import { formatIPv4, formatIPv6 } from '../../packet/wire/ip-addr.js';
import { ERR, PodspanError } from '../../packet/errors.js';

const READ_CHUNK = 1 << 20;

/** One direction of a captured connection. */
export interface CapturedDir {
  /** Every delivered byte, in order (gaps are not filled: see gapBytes). */
  data: Buffer;
  /** Stream offset (into data) of each delivery, increasing, and its capture time in ns. */
  offs: number[];
  tsNs: bigint[];
  gapBytes: number;
  finSeen: boolean;
  rstSeen: boolean;
}

/** Why a connection is not replayed by default. */
export const PARTIAL_REASON = {
  /** No SYN seen: picked up mid-stream, the start of the conversation is missing. */
  MID_STREAM: 'mid_stream',
  /** Bytes missing in the capture (loss, snaplen, caps). */
  GAP: 'gap',
  /** The loader's memory cap was reached: the bytes were not kept. */
  MEMCAP: 'memcap',
} as const;
export type PartialReason = (typeof PARTIAL_REASON)[keyof typeof PARTIAL_REASON];

export interface CapturedConn {
  /** 1-based, in order of first packet. */
  id: number;
  client: string;
  server: string;
  startNs: bigint;
  endNs: bigint;
  closeReason: TcpCloseReason | 'flush';
  c2s: CapturedDir;
  s2c: CapturedDir;
  /** Why it is not a faithful copy of a whole connection; null if it is. */
  partial: PartialReason | null;
}

export interface LoadOptions {
  /** Payload bytes kept for all connections together. Default 512 MiB. */
  memCapBytes?: number;
}

export interface LoadResult {
  conns: CapturedConn[];
  tcpSegments: number;
  packets: number;
  /** Bytes delivered by reassembly but not kept (memcap). */
  notKeptBytes: number;
  /** The file was cut off or damaged after `packets` records (those were loaded). */
  fileError: PodspanError | null;
}

export const DEFAULT_LOAD_MEMCAP = 512 * 1024 * 1024;

function endpoint(buf: Buffer, v: 4 | 6, port: number): string {
  return v === 4 ? `${formatIPv4(buf, 0)}:${port}` : `[${formatIPv6(buf, 0)}]:${port}`;
}

interface Building {
  conn: CapturedConn;
  parts: [Buffer[], Buffer[]];
  lens: [number, number];
  dropped: boolean;
}

class Collector implements TcpHandler {
  readonly done: CapturedConn[] = [];
  readonly live = new Map<TcpConn, Building>();
  held = 0;
  notKept = 0;
  constructor(private readonly memCap: number) {}

  onOpen(c: TcpConn): void {
    const v = c.ipVersion;
    const mk = (): CapturedDir => ({ data: Buffer.alloc(0), offs: [], tsNs: [], gapBytes: 0, finSeen: false, rstSeen: false });
    const conn: CapturedConn = {
      id: c.id,
      client: endpoint(c.clientAddr, v, c.clientPort),
      server: endpoint(c.serverAddr, v, c.serverPort),
      startNs: BigInt(c.startSec) * 1_000_000_000n + BigInt(c.startNsec),
      endNs: 0n,
      closeReason: 'flush',
      c2s: mk(),
      s2c: mk(),
      partial: c.midStream ? PARTIAL_REASON.MID_STREAM : null,
    };
    this.live.set(c, { conn, parts: [[], []], lens: [0, 0], dropped: false });
  }

  onData(c: TcpConn, dir: TcpDir, data: Buffer, _off: number, tsSec: number, tsNsec: number): void {
    const b = this.live.get(c)!;
    if (b.dropped || this.held + data.length > this.memCap) {
      if (!b.dropped) {
        b.dropped = true;
        b.conn.partial = PARTIAL_REASON.MEMCAP;
        for (const d of [0, 1] as const) {
          for (const p of b.parts[d]) this.held -= p.length;
          this.notKept += b.lens[d];
          b.parts[d] = [];
        }
      }
      this.notKept += data.length;
      return;
    }
    const d = dir === TCP_DIR.C2S ? b.conn.c2s : b.conn.s2c;
    d.offs.push(b.lens[dir]);
    d.tsNs.push(BigInt(tsSec) * 1_000_000_000n + BigInt(tsNsec));
    b.parts[dir].push(Buffer.from(data));
    b.lens[dir] += data.length;
    this.held += data.length;
  }

  onGap(c: TcpConn, dir: TcpDir, _off: number, len: number, _reason: TcpGapReason): void {
    const b = this.live.get(c)!;
    (dir === TCP_DIR.C2S ? b.conn.c2s : b.conn.s2c).gapBytes += len;
    if (b.conn.partial === null) b.conn.partial = PARTIAL_REASON.GAP;
  }

  onClose(c: TcpConn, reason: TcpCloseReason): void {
    const b = this.live.get(c)!;
    this.live.delete(c);
    const conn = b.conn;
    conn.closeReason = reason;
    conn.endNs = BigInt(c.endSec) * 1_000_000_000n + BigInt(c.endNsec);
    conn.c2s.finSeen = c.c2s.finSeen;
    conn.c2s.rstSeen = c.c2s.rstSeen;
    conn.s2c.finSeen = c.s2c.finSeen;
    conn.s2c.rstSeen = c.s2c.rstSeen;
    if (!b.dropped) {
      conn.c2s.data = Buffer.concat(b.parts[0]);
      conn.s2c.data = Buffer.concat(b.parts[1]);
    } else {
      conn.c2s.offs = [];
      conn.c2s.tsNs = [];
      conn.s2c.offs = [];
      conn.s2c.tsNs = [];
    }
    this.done.push(conn);
  }
}

/** Capture time (ns) of the delivery that carried stream offset `off` of `d`; the last one for off past the end. */
export function tsAt(d: CapturedDir, off: number): bigint {
  const offs = d.offs;
  if (offs.length === 0) return 0n;
  let lo = 0;
  let hi = offs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (offs[mid]! <= off) lo = mid;
    else hi = mid - 1;
  }
  return d.tsNs[lo]!;
}

/** Reads `path` (pcap or pcapng) and returns its TCP connections in order of first packet. */
export async function loadConnections(path: string, opts: LoadOptions = {}): Promise<LoadResult> {
  const memCap = opts.memCapBytes ?? DEFAULT_LOAD_MEMCAP;
  const col = new Collector(memCap);
  const ra = new TcpReassembler(col, { memCapBytes: Math.min(memCap, 256 * 1024 * 1024) });
  const parser = new Parser();
  const reader = new CapfileReader();
  // IPv4 fragments of TCP are put back together first (as cli/streams.ts does).
  const feed = new TcpSegmentFeed();
  let tcpSegments = 0;
  let packets = 0;
  let fileError: PodspanError | null = null;
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new PodspanError(ERR.IO, `${path}: no such file`);
    if (err.code === 'EISDIR') throw new PodspanError(ERR.IO, `${path} is a directory, not a capture file`);
    throw e;
  }
  const drain = (): void => {
    for (let rec = reader.next(); rec !== null; rec = reader.next()) {
      packets++;
      parser.decode(rec.data, rec.iface.linkType, rec.wireLen);
      const seg = feed.next(parser, rec.tsSec, rec.tsNsec);
      if (seg === undefined) continue;
      tcpSegments++;
      ra.add(seg);
    }
  };
  try {
    for (;;) {
      // A fresh buffer per chunk: the reader may keep a view of the previous one.
      const buf = Buffer.allocUnsafe(READ_CHUNK);
      const { bytesRead } = await fh.read(buf, 0, READ_CHUNK, null);
      if (bytesRead === 0) break;
      reader.push(buf.subarray(0, bytesRead));
      drain();
    }
    reader.end();
    drain();
  } catch (e) {
    // A cut-off or damaged file: what was read before the damage is still replayed (as
    // tcpdump and tcpreplay do); the error is returned for the caller to report.
    if (!(e instanceof PodspanError) || packets === 0) throw e;
    fileError = e;
  } finally {
    await fh.close();
  }
  ra.flushAll();
  const conns = col.done.sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : a.id - b.id));
  return { conns, tcpSegments, packets, notKeptBytes: col.notKept, fileError };
}
