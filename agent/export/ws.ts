/**
 * The agent's WebSocket exporter (`--to ws://H:P`, `--to wss://H:P`): captured frames go to
 * a podspan collector (`collector --ws ADDR`) as protobuf batches (proto/podspan.proto),
 * each with the capture timestamps (ns) and the interface / pod it came from.
 *
 * - Authentication: `Authorization: Bearer TOKEN` on the upgrade request (token from
 *   `--token-file`, else the PODSPAN_TOKEN environment variable). A collector that refuses
 *   it answers HTTP 401; at start-up that is fatal (exit 2), later it is retried.
 * - TLS (wss://): the collector's certificate is verified against `--ca FILE` (else the
 *   system CAs) and its host name or IP address is checked.
 * - Batching: frames are copied into one reused chunk (`batchBytes`, default 1 MiB) and a
 *   batch is sealed when the chunk is full, at `maxFrames`, or `flushMs` (default 20 ms)
 *   after its first frame. Sealing encodes the Envelope: that copy is what the spool holds.
 * - Spool: every sealed batch stays in memory until the collector acknowledges it (an Ack
 *   says: every batch up to this sequence is in my sinks). Its size, with the open batch, is
 *   capped by `spoolBytes` (`--spool-size`, default 64 MiB): a frame that does not fit is
 *   dropped and counted `export_spool_full`; the spool never grows past the cap.
 * - Disk spool (`spoolDir`, `--spool-dir DIR`; agent/export/ws-spool.ts): each sealed batch
 *   is also a file until acknowledged, and memory holds it only until first sent; the cap
 *   is then on the files. An agent that stops with unacknowledged batches leaves them, and
 *   the next agent with the same DIR continues the session and resends them (counted as
 *   `ws_resumed_frames` / `ws_resumed_exported`, not as this run's frames).
 * - Resume: on every (re)connection the agent says Hello (its session and every interface
 *   so far); the collector answers Welcome with the highest sequence it has stored; the
 *   agent forgets the batches up to it and resends the rest in order. Reconnection backs
 *   off exponentially (100 ms doubling to 5 s, half of each delay random).
 * - Close: seals the open batch, waits (bounded, `closeTimeoutMs`) for the acks, and counts
 *   whatever is still unacknowledged as `export_unacked`, so that
 *   frames given == exported + export_spool_full + export_unacked + export_error.
 *
 * Counters besides the drop reasons: `ws_connects`, `ws_resent_batches`, `ws_auth_failures`.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';

import WebSocket from 'ws';

import { CAPTURE_META, CAPTURE_META_COLS } from '../../native/index.js';
import {
  DEFAULT_ENVELOPE_LIMITS,
  PROTOCOL_VERSION,
  WS_ERR,
  decodeEnvelope,
  encodeEnvelope,
  isEnvelopeError,
  STREAM_KIND,
  type EnvelopeLimits,
  type WireStreamEvent,
  type WireCounter,
  type WireFrame,
  type WireInterface,
  type WsErrorCode,
} from '../../proto/envelope.js';
import type { ExportEndpoint } from '../exclude.js';
import type { ExportBatchInput, ExportCounters, ExportSource, Exporter, ExporterKind } from './exporter.js';
import { Parser } from '../../packet/decode/parser.js';
import { TcpSegmentFeed } from '../../packet/reassembly/from-parser.js';
import { TcpReassembler, type TcpConn } from '../../packet/reassembly/index.js';
import { loadSpoolDir, prepareSpoolDir, saveSpoolMeta, writeBatch, type SpoolDirState } from './ws-spool.js';

export const WS_DEFAULT_SPOOL_BYTES = 64 * 1024 * 1024;
export const WS_DEFAULT_BATCH_BYTES = 1024 * 1024;
export const WS_DEFAULT_FLUSH_MS = 20;
export const WS_DEFAULT_CONNECT_TIMEOUT_MS = 5000;
export const WS_DEFAULT_CLOSE_TIMEOUT_MS = 5000;
const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5000;
/** Protobuf bytes per frame besides its data (tags, lengths, varints), upper bound. */
const FRAME_OVERHEAD_BYTES = 40;
/** Most bytes queued on the socket at once (see pump()). */
const SEND_WINDOW_BYTES = 4 * 1024 * 1024;
/** Largest message the agent accepts from the collector (acks, welcome, errors). */
const MAX_INBOUND_BYTES = 64 * 1024;

/** Reasons a frame was not exported. */
export const WS_DROP_REASONS = ['export_spool_full', 'export_unacked', 'export_error'] as const;

export interface WsCounters extends ExportCounters {
  /** Frames in batches the collector acknowledged. */
  exported: number;
  export_truncated: number;
  /** Did not fit in the spool (collector slow or away). */
  export_spool_full: number;
  /** Still unacknowledged when the exporter closed. */
  export_unacked: number;
  /** A batch could not be encoded (a bug; counted per frame). */
  export_error: number;
  ws_connects: number;
  ws_resent_batches: number;
  ws_auth_failures: number;
  /** Frames a previous agent left in --spool-dir, resumed by this one, and of those acknowledged. */
  ws_resumed_frames: number;
  ws_resumed_exported: number;
  /** Streams mode: frames not TCP (not shipped). */
  not_tcp: number;
  /** Streams mode: stream events that did not fit in the spool (their connection is closed as agent_drop). */
  export_spool_full_events: number;
}

export interface WsExportOptions {
  /** Bearer token; default the PODSPAN_TOKEN environment variable; none: no header. */
  token?: string | undefined;
  /** PEM CA certificate(s) the collector's certificate must chain to (wss). */
  ca?: Buffer | undefined;
  /** Spool cap in bytes (unacknowledged batches plus the open one). */
  spoolBytes?: number;
  /** Disk spool directory (agent/export/ws-spool.ts); absent: memory only. */
  spoolDir?: string | undefined;
  batchBytes?: number;
  flushMs?: number;
  /** Agent name in Hello (default: the host name). */
  agentName?: string;
  /** Node name in Hello (default: $NODE_NAME, else the host name). */
  node?: string;
  connectTimeoutMs?: number;
  closeTimeoutMs?: number;
  limits?: EnvelopeLimits;
  /**
   * `packets` (default): frames are shipped. `streams`: frames are reassembled here (TCP
   * only) and the connections' events are shipped (StreamEvent), for `collector
   * --replay-to`. Event bytes count against the spool like frame bytes; a connection one of
   * whose events did not fit is closed for the receiver with reason `agent_drop` and its
   * later events are not sent.
   */
  mode?: 'packets' | 'streams';
}

/** Protobuf bytes per stream event besides its data and addresses, upper bound. */
const STREAM_EVENT_OVERHEAD_BYTES = 80;
const EMPTY = Buffer.alloc(0);
type StreamEventOut = WireStreamEvent;

export interface WsTarget {
  url: string;
  host: string;
  port: number;
  secure: boolean;
  /** The URL to connect to (scheme, host, port, path). */
  connectUrl: string;
  options: WsExportOptions;
}

/** A failure to connect, with the code the CLI reports. */
export class WsExportError extends Error {
  readonly code: WsErrorCode;
  constructor(code: WsErrorCode, message: string) {
    super(message);
    this.name = 'WsExportError';
    this.code = code;
  }
}

/** Parses `ws://H[:P][/PATH]` and `wss://...`. Throws RangeError with a message for the user. */
export function parseWsUrl(url: string, options: WsExportOptions = {}): WsTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RangeError(`export target "${url}" is not a URL`);
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new RangeError(`export target "${url}" is not ws:// or wss://`);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new RangeError(`export target "${url}" has no host`);
  if (u.username !== '' || u.password !== '') throw new RangeError(`export target "${url}": no user or password in the URL; the token goes in --token-file or PODSPAN_TOKEN`);
  if (u.search !== '' || u.hash !== '') throw new RangeError(`export target "${url}": expected ${u.protocol}//HOST:PORT (no query or fragment)`);
  const secure = u.protocol === 'wss:';
  const port = u.port === '' ? (secure ? 443 : 80) : Number(u.port);
  const token = options.token ?? process.env['PODSPAN_TOKEN'];
  return { url, host, port, secure, connectUrl: u.href, options: { ...options, token: token === '' ? undefined : token } };
}

export function wsEndpoint(t: WsTarget): ExportEndpoint {
  return { host: t.host, transport: 'tcp', port: t.port };
}

/** A target with its options, in the shape of registry.ts's ExportTarget. */
export function wsExportTarget(url: string, options: WsExportOptions): { url: string; endpoint: ExportEndpoint; open(): Promise<Exporter> } {
  const t = parseWsUrl(url, options);
  return { url, endpoint: wsEndpoint(t), open: () => WsExporter.open(t) };
}

interface SpoolEntry {
  seq: number;
  /** The encoded batch; with a disk spool only until first sent (then read from `file`). */
  msg: Uint8Array | undefined;
  bytes: number;
  frames: number;
  /** Its file in the disk spool, if any. */
  file: string | undefined;
  /** Left by a previous agent in the disk spool (not among this run's frames given). */
  resumed: boolean;
}

type ConnState = 'down' | 'connecting' | 'hello' | 'live';

/** Why the first connection failed, in words for the user. */
function describeConnectError(t: WsTarget, e: Error): WsExportError {
  const status = /Unexpected server response: (\d+)/.exec(e.message)?.[1];
  if (status === '401') {
    return new WsExportError(
      WS_ERR.AUTH,
      `${t.url} refused the bearer token (HTTP 401): ${t.options.token === undefined ? 'no token was given; ' : ''}give the collector's token with --token-file FILE or the PODSPAN_TOKEN environment variable`,
    );
  }
  if (status !== undefined) return new WsExportError(WS_ERR.CONNECT, `${t.url} answered HTTP ${status} instead of a WebSocket upgrade: is it a podspan collector --ws?`);
  const code = (e as NodeJS.ErrnoException).code ?? '';
  if (/^ERR_TLS|CERT|SIGNATURE|SELF_SIGNED|UNABLE_TO|ERR_SSL/.test(code) || /certificate|self.signed|altname/i.test(e.message)) {
    return new WsExportError(WS_ERR.TLS, `TLS with ${t.url} failed: ${e.message}${t.options.ca === undefined ? ' (give the CA that signed the collector\'s certificate with --ca FILE)' : ' (is --ca the CA that signed the collector\'s certificate, and is the host name in it?)'}`);
  }
  return new WsExportError(WS_ERR.CONNECT, `cannot connect to ${t.url}: ${e.message}`);
}

export class WsExporter implements Exporter {
  readonly target: WsTarget;
  readonly url: string;
  readonly counters: WsCounters;
  readonly dropReasons: readonly string[];
  /** The last connection problem, for messages. */
  lastError: Error | undefined;

  private readonly spoolBytes: number;
  private readonly batchBytes: number;
  private readonly maxFrames: number;
  private readonly flushMs: number;
  private readonly limits: EnvelopeLimits;
  private readonly session: string;
  private readonly agentName: string;
  private readonly node: string;
  /** Frames handed to the exporter. */
  private given: number;
  private nextSeq: number;
  /** Highest sequence the collector acknowledged. */
  private ackedSeq: number;
  private readonly spool: SpoolEntry[];
  private spoolUsed: number;
  /** The open batch: frames point into `chunk`. */
  private readonly chunk: Buffer;
  private chunkUsed: number;
  /** Spool bytes the open batch will take (data plus protobuf overhead per frame). */
  private openBytes: number;
  private frames: WireFrame[];
  /** Streams mode: the open batch's events (data copied) and how many frames they came from. */
  private events: StreamEventOut[];
  private openStreamFrames: number;
  /** Streams mode: connections one of whose events was dropped (closed as agent_drop). */
  private readonly broken: Set<number>;
  /** Connections whose agent_drop close went out: their later events are not sent. */
  private readonly brokenSent = new Set<number>();
  private readonly streams: { parser: Parser; feed: TcpSegmentFeed; reassembler: TcpReassembler; lastFlushSec: number } | undefined;
  /** Capture time of the frame being reassembled (for open, gap and close events). */
  private evSec = 0;
  private evNsec = 0;
  private readonly ifaces: Map<string, WireInterface>;
  private newIfaces: WireInterface[];
  private flushTimer: NodeJS.Timeout | undefined;
  private ws: WebSocket | undefined;
  private state: ConnState;
  private attempts: number;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closing: boolean;
  /** Closed for good: no reconnection. */
  private stopped: boolean;
  private closed: Promise<void> | undefined;
  private waiters: Array<() => void>;
  private onFirst: ((e: Error | undefined) => void) | undefined;
  private readonly spoolDir: string | undefined;
  /** Highest sequence sent on the current connection. */
  private sentSeq: number;
  /** Batches sent now are resent ones (a reconnection's backlog). */
  private resending: boolean;

  private constructor(target: WsTarget, resume: SpoolDirState | undefined) {
    const o = target.options;
    this.target = target;
    this.url = target.url;
    this.counters = {
      exported: 0,
      export_truncated: 0,
      export_spool_full: 0,
      export_unacked: 0,
      export_error: 0,
      ws_connects: 0,
      ws_resent_batches: 0,
      ws_auth_failures: 0,
      ws_resumed_frames: 0,
      ws_resumed_exported: 0,
      not_tcp: 0,
      export_spool_full_events: 0,
    };
    this.lastError = undefined;
    this.limits = o.limits ?? { ...DEFAULT_ENVELOPE_LIMITS };
    this.spoolBytes = o.spoolBytes ?? WS_DEFAULT_SPOOL_BYTES;
    this.batchBytes = Math.max(o.batchBytes ?? WS_DEFAULT_BATCH_BYTES, this.limits.maxFrameBytes + FRAME_OVERHEAD_BYTES);
    this.maxFrames = this.limits.maxFrames;
    this.flushMs = o.flushMs ?? WS_DEFAULT_FLUSH_MS;
    this.spoolDir = o.spoolDir;
    this.session = resume?.session ?? randomBytes(8).toString('hex');
    this.agentName = resume?.agent ?? o.agentName ?? hostname();
    this.node = o.node ?? process.env['NODE_NAME'] ?? hostname();
    this.given = 0;
    this.nextSeq = 1;
    this.ackedSeq = 0;
    this.spool = [];
    this.spoolUsed = 0;
    this.chunk = Buffer.allocUnsafe(this.batchBytes);
    this.chunkUsed = 0;
    this.openBytes = 0;
    this.frames = [];
    this.ifaces = new Map();
    this.events = [];
    this.openStreamFrames = 0;
    this.broken = new Set();
    this.dropReasons = o.mode === 'streams' ? [...WS_DROP_REASONS, 'not_tcp'] : WS_DROP_REASONS;
    this.streams = undefined;
    if (o.mode === 'streams') {
      const parser = new Parser();
      const feed = new TcpSegmentFeed();
      const id = (c: TcpConn): number => c.id;
      const reassembler = new TcpReassembler({
        onOpen: (c) => {
          this.pushEvent(c, { conn: id(c), kind: STREAM_KIND.OPEN, dir: 0, offset: 0, data: EMPTY, length: 0, tsSec: this.evSec, tsNsec: this.evNsec, clientIp: Buffer.from(c.clientAddr), clientPort: c.clientPort, serverIp: Buffer.from(c.serverAddr), serverPort: c.serverPort, midStream: c.midStream, reason: '' });
        },
        onData: (c, dir, data, off, tsSec, tsNsec) => {
          this.pushEvent(c, { conn: id(c), kind: STREAM_KIND.DATA, dir, offset: off, data, length: 0, tsSec, tsNsec, clientIp: EMPTY, clientPort: 0, serverIp: EMPTY, serverPort: 0, midStream: false, reason: '' });
        },
        onGap: (c, dir, off, len) => {
          this.pushEvent(c, { conn: id(c), kind: STREAM_KIND.GAP, dir, offset: off, data: EMPTY, length: len, tsSec: this.evSec, tsNsec: this.evNsec, clientIp: EMPTY, clientPort: 0, serverIp: EMPTY, serverPort: 0, midStream: false, reason: '' });
        },
        onClose: (c, reason) => {
          this.pushEvent(c, { conn: id(c), kind: STREAM_KIND.CLOSE, dir: 0, offset: 0, data: EMPTY, length: 0, tsSec: this.evSec, tsNsec: this.evNsec, clientIp: EMPTY, clientPort: 0, serverIp: EMPTY, serverPort: 0, midStream: false, reason }, true);
        },
      });
      this.streams = { parser, feed, reassembler, lastFlushSec: 0 };
    }
    this.newIfaces = [];
    this.flushTimer = undefined;
    this.ws = undefined;
    this.state = 'down';
    this.attempts = 0;
    this.reconnectTimer = undefined;
    this.closing = false;
    this.stopped = false;
    this.closed = undefined;
    this.waiters = [];
    this.onFirst = undefined;
    this.sentSeq = 0;
    this.resending = false;
    for (const { key, iface } of resume?.ifaces ?? []) this.ifaces.set(key, iface);
    for (const b of resume?.batches ?? []) {
      this.spool.push({ seq: b.seq, msg: undefined, bytes: b.bytes, frames: b.frames, file: b.file, resumed: true });
      this.spoolUsed += b.bytes;
      this.counters.ws_resumed_frames += b.frames;
    }
    const first = this.spool[0];
    if (first !== undefined) {
      this.ackedSeq = first.seq - 1;
      this.nextSeq = this.spool[this.spool.length - 1]!.seq + 1;
    }
  }

  /**
   * Connects and completes the first Hello/Welcome. Rejects with a WsExportError (AUTH for
   * HTTP 401, TLS, CONNECT) when that fails within `connectTimeoutMs`: fail fast at start.
   */
  static async open(target: WsTarget): Promise<WsExporter> {
    const dir = target.options.spoolDir;
    let resume: SpoolDirState | undefined;
    if (dir !== undefined) {
      try {
        prepareSpoolDir(dir);
        resume = loadSpoolDir(dir);
      } catch (e) {
        throw new WsExportError(WS_ERR.CONNECT, `--spool-dir ${dir}: ${(e as Error).message}`);
      }
    }
    const x = new WsExporter(target, resume);
    if (dir !== undefined) {
      try {
        x.saveMeta();
      } catch (e) {
        throw new WsExportError(WS_ERR.CONNECT, `--spool-dir ${dir}: ${(e as Error).message}`);
      }
    }
    const timeoutMs = target.options.connectTimeoutMs ?? WS_DEFAULT_CONNECT_TIMEOUT_MS;
    const err = await new Promise<Error | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(x.lastError ?? new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      x.onFirst = (e) => {
        clearTimeout(timer);
        resolve(e);
      };
      x.connect();
    });
    x.onFirst = undefined;
    if (err !== undefined) {
      x.closing = true;
      x.stopped = true;
      x.teardownSocket();
      if (x.reconnectTimer !== undefined) clearTimeout(x.reconnectTimer);
      throw err instanceof WsExportError ? err : describeConnectError(target, err);
    }
    return x;
  }

  /** Frames handed over, for tests: given == exported + Σ drops + inFlight. */
  get framesGiven(): number {
    return this.given;
  }

  /** Frames sealed or open and not yet acknowledged. */
  get inFlight(): number {
    let n = this.frames.length + this.openStreamFrames;
    for (const e of this.spool) n += e.frames;
    return n;
  }

  exportBatch(batch: ExportBatchInput, n: number, source: ExportSource): void {
    if (this.closing) return;
    if (this.streams !== undefined) {
      this.exportStreams(batch, n, source);
      return;
    }
    const { data, meta } = batch;
    let ifaceId = -1;
    for (let i = 0; i < n; i++) {
      const r = i * CAPTURE_META_COLS;
      this.given++;
      let capLen = meta[r + CAPTURE_META.CAP_LEN]!;
      if (capLen > this.limits.maxFrameBytes) {
        capLen = this.limits.maxFrameBytes;
        this.counters.export_truncated++;
      }
      const need = capLen + FRAME_OVERHEAD_BYTES;
      if (this.spoolUsed + this.openBytes + need > this.spoolBytes) {
        this.counters.export_spool_full++;
        continue;
      }
      if (this.chunkUsed + capLen > this.chunk.length || this.frames.length >= this.maxFrames) {
        this.seal();
        if (this.spoolUsed + need > this.spoolBytes) {
          this.counters.export_spool_full++;
          continue;
        }
      }
      if (ifaceId < 0) ifaceId = this.ifaceId(source);
      const off = meta[r + CAPTURE_META.OFFSET]!;
      data.copy(this.chunk, this.chunkUsed, off, off + capLen);
      this.frames.push({
        iface: ifaceId,
        tsSec: meta[r + CAPTURE_META.TS_SEC]!,
        tsNsec: meta[r + CAPTURE_META.TS_NSEC]!,
        capLen,
        wireLen: Math.max(meta[r + CAPTURE_META.WIRE_LEN]!, capLen),
        data: this.chunk.subarray(this.chunkUsed, this.chunkUsed + capLen),
      });
      this.chunkUsed += capLen;
      this.openBytes += need;
    }
    if (this.frames.length > 0 && this.flushTimer === undefined) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined;
        this.seal();
      }, this.flushMs);
    }
  }

  /** Streams mode: frames → reassembler → events in the open batch. */
  private exportStreams(batch: ExportBatchInput, n: number, source: ExportSource): void {
    const st = this.streams!;
    const { data, meta } = batch;
    const linkType = source.linkType;
    for (let i = 0; i < n; i++) {
      const r = i * CAPTURE_META_COLS;
      this.given++;
      const off = meta[r + CAPTURE_META.OFFSET]!;
      const capLen = meta[r + CAPTURE_META.CAP_LEN]!;
      const tsSec = meta[r + CAPTURE_META.TS_SEC]!;
      const tsNsec = meta[r + CAPTURE_META.TS_NSEC]!;
      st.parser.decode(data.subarray(off, off + capLen), linkType, Math.max(meta[r + CAPTURE_META.WIRE_LEN]!, capLen));
      const fragment = st.parser.isFragment && st.parser.ipVersion === 4 && st.parser.ipProto === 6;
      const seg = st.feed.next(st.parser, tsSec, tsNsec);
      if (seg === undefined && !fragment) {
        this.counters.not_tcp++;
        continue;
      }
      // The frame's events go in the open batch; the frame counts as exported with it.
      this.openStreamFrames++;
      this.evSec = tsSec;
      this.evNsec = tsNsec;
      if (seg !== undefined) st.reassembler.add(seg);
      if (tsSec !== st.lastFlushSec) {
        st.lastFlushSec = tsSec;
        st.reassembler.flushOlderThan(tsSec, tsNsec);
      }
    }
    if ((this.events.length > 0 || this.openStreamFrames > 0) && this.flushTimer === undefined) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined;
        this.seal();
      }, this.flushMs);
    }
  }

  /**
   * Appends one event (data copied) if the spool has room; else drops it (counted) and marks
   * its connection broken: the receiver gets a close `agent_drop` as soon as one fits.
   */
  private pushEvent(c: TcpConn, ev: StreamEventOut, closing = false): void {
    const id = c.id;
    if (this.brokenSent.has(id)) {
      if (closing) this.brokenSent.delete(id);
      return;
    }
    if (this.broken.has(id)) {
      if (!closing) return;
      ev = { ...ev, reason: 'agent_drop' };
    }
    const need = ev.data.length + ev.clientIp.length + ev.serverIp.length + STREAM_EVENT_OVERHEAD_BYTES;
    if (this.openBytes + need > this.batchBytes || this.events.length >= this.limits.maxStreamEvents) this.seal();
    if (this.spoolUsed + this.openBytes + need > this.spoolBytes) {
      this.counters.export_spool_full_events++;
      // A close that does not fit either: forgotten here (the collector closes it at its end).
      if (closing) this.broken.delete(id);
      else if (!this.broken.has(id)) {
        this.broken.add(id);
        // Try the close at once (a close is small); else it goes with the connection's real close.
        const cl: StreamEventOut = { ...ev, kind: STREAM_KIND.CLOSE, dir: 0, offset: 0, data: EMPTY, length: 0, clientIp: EMPTY, serverIp: EMPTY, reason: 'agent_drop' };
        if (this.spoolUsed + this.openBytes + STREAM_EVENT_OVERHEAD_BYTES <= this.spoolBytes) {
          this.events.push(cl);
          this.openBytes += STREAM_EVENT_OVERHEAD_BYTES;
          this.broken.delete(id);
          this.brokenSent.add(id);
        }
      }
      return;
    }
    if (closing) this.broken.delete(id);
    this.events.push(ev.data.length > 0 ? { ...ev, data: Buffer.from(ev.data) } : ev);
    this.openBytes += need;
  }

  private ifaceId(source: ExportSource): number {
    const key = `${source.iface}|${source.ifindex ?? ''}|${source.podIp ?? ''}`;
    let w = this.ifaces.get(key);
    if (w === undefined) {
      const podName = source.podName ?? '';
      const slash = podName.indexOf('/');
      w = {
        id: this.ifaces.size + 1,
        name: source.iface,
        podIp: source.podIp ?? '',
        podNamespace: slash > 0 ? podName.slice(0, slash) : '',
        podName: slash > 0 ? podName.slice(slash + 1) : podName,
        linkType: source.linkType,
        snapLen: source.snapLen,
      };
      this.ifaces.set(key, w);
      this.newIfaces.push(w);
      if (this.spoolDir !== undefined) {
        try {
          this.saveMeta();
        } catch {
          // Only a resume after an agent restart needs it; batches still go out.
        }
      }
    }
    return w.id;
  }

  private saveMeta(): void {
    if (this.spoolDir === undefined) return;
    saveSpoolMeta(this.spoolDir, this.agentName, this.session, [...this.ifaces.entries()].map(([key, iface]) => ({ key, iface })));
  }

  private exportCounters(): WireCounter[] {
    const c = this.counters;
    const dropped: Record<string, number> = {};
    for (const r of WS_DROP_REASONS) dropped[r] = c[r];
    if (this.streams !== undefined) {
      dropped['not_tcp'] = c.not_tcp;
      dropped['export_spool_full_events'] = c.export_spool_full_events;
    }
    return [{ stage: 'export', received: this.given, delivered: c.exported, dropped }];
  }

  /** Encodes the open batch into the spool and sends it when connected. */
  private seal(): void {
    if (this.flushTimer !== undefined) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    const n = this.frames.length + this.openStreamFrames;
    if (n === 0 && this.events.length === 0) return;
    const seq = this.nextSeq;
    const events = this.events;
    this.events = [];
    this.openStreamFrames = 0;
    let msg: Uint8Array;
    try {
      msg = encodeEnvelope({ type: 'batch', seq, interfaces: this.newIfaces, frames: this.frames, counters: this.exportCounters(), streams: events }, this.limits);
    } catch {
      this.counters.export_error += n;
      this.frames = [];
      this.chunkUsed = 0;
      this.openBytes = 0;
      return;
    }
    let file: string | undefined;
    if (this.spoolDir !== undefined) {
      try {
        file = writeBatch(this.spoolDir, seq, n, msg);
      } catch {
        // A disk spool that cannot be written loses the batch, counted (disk full...).
        this.counters.export_error += n;
        this.frames = [];
        this.chunkUsed = 0;
        this.openBytes = 0;
        return;
      }
    }
    this.nextSeq++;
    this.newIfaces = [];
    this.frames = [];
    this.chunkUsed = 0;
    this.openBytes = 0;
    // With a disk spool, memory holds the batch only until it is first sent.
    const e: SpoolEntry = { seq, msg: file !== undefined && this.state !== 'live' ? undefined : msg, bytes: msg.length, frames: n, file, resumed: false };
    this.spool.push(e);
    this.spoolUsed += msg.length;
    if (this.state === 'live') this.pump();
  }

  private connect(): void {
    this.reconnectTimer = undefined;
    if (this.stopped) return;
    const t = this.target;
    const headers: Record<string, string> = {};
    if (t.options.token !== undefined) headers['Authorization'] = `Bearer ${t.options.token}`;
    const opts: WebSocket.ClientOptions = {
      headers,
      perMessageDeflate: false,
      maxPayload: MAX_INBOUND_BYTES,
      handshakeTimeout: t.options.connectTimeoutMs ?? WS_DEFAULT_CONNECT_TIMEOUT_MS,
    };
    if (t.secure) {
      if (t.options.ca !== undefined) opts.ca = t.options.ca;
      opts.rejectUnauthorized = true;
    }
    this.state = 'connecting';
    let ws: WebSocket;
    try {
      ws = new WebSocket(t.connectUrl, opts);
    } catch (e) {
      this.lastError = e as Error;
      this.onFirst?.(e as Error);
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.binaryType = 'nodebuffer';
    ws.on('open', () => {
      this.state = 'hello';
      this.counters.ws_connects++;
      const hello = encodeEnvelope({
        type: 'hello',
        version: PROTOCOL_VERSION,
        agent: this.agentName,
        node: this.node,
        session: this.session,
        resumeSeq: this.ackedSeq,
        software: 'podspan',
        interfaces: [...this.ifaces.values()],
      });
      ws.send(hello);
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (ws !== this.ws) return;
      if (!isBinary) {
        ws.terminate();
        return;
      }
      this.onMessage(ws, data);
    });
    ws.on('error', (e: Error) => {
      if (/Unexpected server response: 401/.test(e.message)) this.counters.ws_auth_failures++;
      this.lastError = e;
      if (this.onFirst !== undefined) this.onFirst(describeConnectError(t, e));
    });
    ws.on('close', () => {
      if (ws !== this.ws) return;
      this.ws = undefined;
      this.state = 'down';
      if (this.onFirst !== undefined) this.onFirst(this.lastError ?? new Error('the collector closed the connection'));
      this.scheduleReconnect();
    });
  }

  private onMessage(ws: WebSocket, data: Buffer): void {
    let m;
    try {
      m = decodeEnvelope(data, { ...this.limits, maxMessageBytes: MAX_INBOUND_BYTES });
    } catch (e) {
      this.lastError = isEnvelopeError(e) ? e : new Error(String(e));
      ws.terminate();
      return;
    }
    switch (m.type) {
      case 'welcome': {
        if (this.state !== 'hello') break;
        this.acknowledge(Math.min(m.committedSeq, this.nextSeq - 1));
        this.state = 'live';
        this.attempts = 0;
        this.onFirst?.(undefined);
        this.sentSeq = Math.min(m.committedSeq, this.nextSeq - 1);
        this.resending = this.counters.ws_connects > 1;
        this.pump();
        break;
      }
      case 'ack':
        if (this.state === 'live') this.acknowledge(Math.min(m.seq, this.nextSeq - 1));
        break;
      case 'error':
        this.lastError = new WsExportError(WS_ERR.PROTOCOL, `the collector said ${m.code}: ${m.message}`);
        break;
      default:
        ws.terminate();
    }
  }

  /** Forgets spooled batches up to `seq` (stored by the collector): their frames are exported. */
  /**
   * Sends spooled batches after `sentSeq`, in order, while the socket holds less than
   * SEND_WINDOW_BYTES (ws copies each message to mask it: without the window a resend
   * after a reconnect would double the spool's memory at once).
   */
  private pump(): void {
    const ws = this.ws;
    if (ws === undefined || this.state !== 'live' || ws.readyState !== WebSocket.OPEN) return;
    const spool = this.spool;
    // The spool holds consecutive sequence numbers: index by sequence.
    const first = spool.length === 0 ? 0 : spool[0]!.seq;
    for (let i = Math.max(0, this.sentSeq + 1 - first); i < spool.length; i++) {
      const e = spool[i]!;
      if (ws.bufferedAmount >= SEND_WINDOW_BYTES) return;
      this.sentSeq = e.seq;
      if (this.resending) this.counters.ws_resent_batches++;
      let msg = e.msg;
      if (msg === undefined) {
        try {
          msg = readFileSync(e.file!);
        } catch {
          // The file is gone: its frames are lost (counted); an empty batch keeps the sequence.
          if (!e.resumed) this.counters.export_error += e.frames;
          e.frames = 0;
          msg = encodeEnvelope({ type: 'batch', seq: e.seq, interfaces: [], frames: [], counters: [] });
        }
      }
      if (e.file !== undefined) e.msg = undefined;
      ws.send(msg, () => {
        if (ws === this.ws) this.pump();
      });
    }
    this.resending = false;
  }

  private acknowledge(seq: number): void {
    if (seq <= this.ackedSeq) return;
    this.ackedSeq = seq;
    while (this.spool.length > 0 && this.spool[0]!.seq <= seq) {
      const e = this.spool.shift()!;
      this.spoolUsed -= e.bytes;
      if (e.resumed) this.counters.ws_resumed_exported += e.frames;
      else this.counters.exported += e.frames;
      if (e.file !== undefined) {
        try {
          unlinkSync(e.file);
        } catch {
          // already gone
        }
      }
    }
    if (this.spool.length === 0 && this.frames.length === 0) {
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    }
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer !== undefined || this.stopped) return;
    if (this.closing && this.spool.length === 0) return;
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(this.attempts, 16));
    this.attempts++;
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private teardownSocket(): void {
    const ws = this.ws;
    this.ws = undefined;
    this.state = 'down';
    if (ws !== undefined) {
      ws.removeAllListeners('message');
      ws.on('error', () => undefined);
      try {
        ws.terminate();
      } catch {
        // already gone
      }
    }
  }

  /** Seals the open batch, waits (bounded) for the acks, counts the rest as export_unacked. */
  close(): Promise<void> {
    if (this.closed === undefined) this.closed = this.doClose();
    return this.closed;
  }

  private async doClose(): Promise<void> {
    this.closing = true;
    this.streams?.reassembler.flushAll();
    this.seal();
    const timeoutMs = this.target.options.closeTimeoutMs ?? WS_DEFAULT_CLOSE_TIMEOUT_MS;
    if (this.spool.length > 0) {
      if (this.ws === undefined && this.reconnectTimer === undefined) this.scheduleReconnect();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.stopped = true;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    // With a disk spool the files stay: the next agent with the same --spool-dir resends them.
    for (const e of this.spool) if (!e.resumed) this.counters.export_unacked += e.frames;
    this.spool.length = 0;
    this.spoolUsed = 0;
    const ws = this.ws;
    if (ws !== undefined && ws.readyState === WebSocket.OPEN) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        ws.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        ws.close(1000, 'agent stopped');
      });
    }
    this.teardownSocket();
  }
}

/** The registry's ws:/wss: kind: options from the environment only (cli/agent.ts passes flags through wsExportTarget). */
export const WS_EXPORTER: ExporterKind<WsTarget> = {
  schemes: ['ws:', 'wss:'],
  usage: 'ws://HOST:PORT or wss://HOST:PORT',
  parse: (url) => parseWsUrl(url),
  endpoint: wsEndpoint,
  open: (t) => WsExporter.open(t),
};
