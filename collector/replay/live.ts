/**
 * Live stream replay (`podspan collector --replay-to H:P`): every TCP connection in the
 * mirrored traffic that the collector sees from its start (the client's SYN) gets a new
 * connection to the shadow target carrying the client's bytes as they arrive; the shadow's
 * answers are read and counted, never sent anywhere. Protocol-agnostic, like
 * `podspan replay --mode stream`, but fed by the packet path instead of a file.
 *
 * The frames of every ingest pass through a TcpReassembler (capture-time idle timeouts,
 * memory caps); per connection:
 *   - picked up mid-stream (no SYN seen) → not replayed (`partial`);
 *   - a hole in the client's bytes (capture loss) → the shadow connection is reset and the
 *     rest of the connection not replayed (`gap`): a shadow must not see a request with
 *     bytes missing;
 *   - client FIN → the shadow connection's write side is ended; RST → it is reset.
 *
 * Bounded memory: bytes waiting for the shadow (not connected yet, or not reading) count
 * against a per-connection cap and a global cap; past either, that shadow connection is
 * reset and counted (`queue_full`) — a slow or dead shadow never makes memory grow. At most
 * `maxShadowConnections` shadow connections are open; a connection beyond that is not
 * replayed (`too_many`).
 *
 * Counters: the sink's stage counts frames (delivered: handed to the reassembler; dropped:
 * `not_tcp`, `closed`); `connections` counts replayed connections per outcome.
 */
import { Socket, connect } from 'node:net';

import { Parser } from '../../packet/decode/parser.js';
import { TcpSegmentFeed } from '../../packet/reassembly/from-parser.js';
import { TcpReassembler, TCP_CLOSE, TCP_DIR, type TcpConn, type TcpDir } from '../../packet/reassembly/index.js';
import type { IngestFrame } from '../ingest/frame.js';
import type { Source } from '../ingest/source.js';
import type { CollectorMetrics, Stage } from '../metrics.js';
import type { FrameSink } from '../sink/sink.js';
import { LiveHttpConnection, type LiveHttpCounters, type LiveHttpOptions } from './live-http.js';
import { formatIPv4, formatIPv6 } from '../../packet/wire/ip-addr.js';
import { STREAM_KIND, type WireStreamEvent } from '../../proto/envelope.js';

/** "10.0.0.1:40000-10.0.0.2:80" for a connection. */
function endpointsLabel(clientAddr: Buffer, clientPort: number, serverAddr: Buffer, serverPort: number): string {
  const ep = (a: Buffer, p: number): string => (a.length === 4 ? `${formatIPv4(a, 0)}:${p}` : `[${formatIPv6(a, 0)}]:${p}`);
  return `${ep(clientAddr, clientPort)}-${ep(serverAddr, serverPort)}`;
}

/**
 * What the per-connection logic needs of a captured connection, whichever way it came: a
 * TcpConn of the sink's own reassembler (frames), or an agent's stream events (`--mode
 * streams`, see streamEvent()). The object itself is the connection's key.
 */
export interface ReplayConnMeta {
  /** For messages and the diff: endpoints and a per-source number. */
  label: string;
  /** Picked up without its SYN: not replayed. */
  midStream: boolean;
}

/** LINKTYPE_ETHERNET: every ingest hands Ethernet frames. */
const LINKTYPE_ETHERNET = 1;

export const LIVE_REPLAY_DROP_REASONS = ['not_tcp', 'closed'] as const;
export type LiveReplayDropReason = (typeof LIVE_REPLAY_DROP_REASONS)[number];

/** What became of each connection seen. */
export const LIVE_REPLAY_OUTCOMES = ['replayed', 'partial', 'gap', 'queue_full', 'too_many', 'connect_failed', 'shadow_error'] as const;
export type LiveReplayOutcome = (typeof LIVE_REPLAY_OUTCOMES)[number];

export const LIVE_REPLAY_DEFAULTS = {
  perConnectionQueueBytes: 1024 * 1024,
  queueBytes: 64 * 1024 * 1024,
  maxShadowConnections: 1024,
  connectTimeoutMs: 5_000,
  reassemblyMemCapBytes: 64 * 1024 * 1024,
} as const;

export interface LiveReplayOptions {
  host: string;
  port: number;
  /** Compare the shadow's HTTP responses with production's (collector/replay/live-http.ts). */
  http?: LiveHttpOptions;
  perConnectionQueueBytes?: number;
  queueBytes?: number;
  maxShadowConnections?: number;
  connectTimeoutMs?: number;
  reassemblyMemCapBytes?: number;
}

export interface LiveReplayCounters {
  connections: Record<LiveReplayOutcome, number>;
  /** Client bytes written to shadow sockets. */
  bytesSent: number;
  /** Bytes the shadows answered (read and discarded). */
  bytesReceived: number;
  /** Client bytes not sent because their connection was given up. */
  bytesNotSent: number;
}

/** One captured connection being replayed. */
class Shadow {
  readonly socket: Socket;
  /** HTTP pairing, when the sink compares responses. */
  readonly http: LiveHttpConnection | undefined;
  /** Bytes written to the socket whose write callback has not run (held in user space). */
  pending: number;
  /** The TCP handshake with the shadow completed. */
  connected: boolean;
  ended: boolean;
  outcome: LiveReplayOutcome | undefined;

  constructor(socket: Socket, http: LiveHttpConnection | undefined) {
    this.socket = socket;
    this.http = http;
    this.pending = 0;
    this.connected = false;
    this.ended = false;
    this.outcome = undefined;
  }
}

export class LiveReplaySink implements FrameSink {
  readonly stage: Stage<LiveReplayDropReason>;
  readonly counters: LiveReplayCounters;
  /** "host:port" of the shadow. */
  readonly target: string;
  onEnded: (() => void) | undefined;
  private readonly opts: Required<Omit<LiveReplayOptions, 'http'>> & Pick<LiveReplayOptions, 'http'>;
  /** HTTP comparison counters (all zero without opts.http). */
  readonly http: LiveHttpCounters;
  private readonly parser: Parser;
  /** Frames → segments, IPv4 fragments of TCP put back together first. */
  private readonly feed: TcpSegmentFeed;
  private readonly reassembler: TcpReassembler;
  /** Captured connection → its shadow, until the capture's connection closes. */
  private readonly shadows: Map<object, Shadow>;
  /** Frame path: the key of each reassembler connection. */
  private readonly frameConns: WeakMap<TcpConn, ReplayConnMeta>;
  /** Stream path: "session\0conn" → the connection's key, from its open event to its close. */
  private readonly streamConns: Map<string, ReplayConnMeta>;
  /** Shadow sockets not closed yet (a shadow may outlive its captured connection). */
  private readonly live: Set<Shadow>;
  private open: number;
  /** Σ pending of every shadow: bytes held for shadows now. */
  private pending: number;
  private closed: boolean;
  private lastFlushSec: number;

  constructor(metrics: CollectorMetrics, opts: LiveReplayOptions) {
    this.opts = {
      host: opts.host,
      port: opts.port,
      perConnectionQueueBytes: opts.perConnectionQueueBytes ?? LIVE_REPLAY_DEFAULTS.perConnectionQueueBytes,
      queueBytes: opts.queueBytes ?? LIVE_REPLAY_DEFAULTS.queueBytes,
      maxShadowConnections: opts.maxShadowConnections ?? LIVE_REPLAY_DEFAULTS.maxShadowConnections,
      connectTimeoutMs: opts.connectTimeoutMs ?? LIVE_REPLAY_DEFAULTS.connectTimeoutMs,
      reassemblyMemCapBytes: opts.reassemblyMemCapBytes ?? LIVE_REPLAY_DEFAULTS.reassemblyMemCapBytes,
      ...(opts.http !== undefined ? { http: opts.http } : {}),
    };
    this.http = { compared: 0, matches: 0, mismatches: 0, notCompared: 0, abandoned: 0 };
    this.stage = metrics.stage('replay', LIVE_REPLAY_DROP_REASONS);
    this.target = opts.host.includes(':') ? `[${opts.host}]:${opts.port}` : `${opts.host}:${opts.port}`;
    const connections = {} as Record<LiveReplayOutcome, number>;
    for (const o of LIVE_REPLAY_OUTCOMES) connections[o] = 0;
    this.counters = { connections, bytesSent: 0, bytesReceived: 0, bytesNotSent: 0 };
    this.onEnded = undefined;
    this.parser = new Parser();
    this.feed = new TcpSegmentFeed();
    this.shadows = new Map();
    this.frameConns = new WeakMap();
    this.streamConns = new Map();
    this.live = new Set();
    this.open = 0;
    this.pending = 0;
    this.closed = false;
    this.lastFlushSec = 0;
    this.reassembler = new TcpReassembler(
      {
        onOpen: (conn) => {
          const meta: ReplayConnMeta = { label: `${endpointsLabel(conn.clientAddr, conn.clientPort, conn.serverAddr, conn.serverPort)}#${conn.id}`, midStream: conn.midStream };
          this.frameConns.set(conn, meta);
          this.onOpen(meta);
        },
        onData: (conn, dir, data, _off, tsSec, tsNsec) => this.onData(this.frameConns.get(conn), dir, data, tsSec, tsNsec),
        onGap: (conn, dir, _off, len) => this.onGap(this.frameConns.get(conn), dir, len),
        onClose: (conn, reason) => {
          this.onClose(this.frameConns.get(conn), reason);
          this.frameConns.delete(conn);
        },
      },
      { memCapBytes: this.opts.reassemblyMemCapBytes },
    );
  }

  write(frame: IngestFrame & { source: Source }): void {
    this.stage.received++;
    if (this.closed) {
      this.stage.drop('closed');
      return;
    }
    this.parser.decode(frame.data, LINKTYPE_ETHERNET, frame.data.length);
    // A fragment waiting for the rest of its datagram is delivered too (held by the defragmenter).
    const fragment = this.parser.isFragment && this.parser.ipVersion === 4 && this.parser.ipProto === 6;
    const seg = this.feed.next(this.parser, frame.tsSec, frame.tsNsec);
    if (seg === undefined && !fragment) {
      this.stage.drop('not_tcp');
      return;
    }
    this.stage.delivered++;
    this.stage.deliveredBytes += frame.data.length;
    if (seg !== undefined) this.reassembler.add(seg);
    // Idle connections are closed by capture time, checked about once a second.
    if (frame.tsSec !== this.lastFlushSec) {
      this.lastFlushSec = frame.tsSec;
      this.reassembler.flushOlderThan(frame.tsSec, frame.tsNsec);
    }
  }

  /**
   * One stream event of an agent session (`--mode streams`, collector/ingest/ws.ts): the
   * same per-connection logic as frames reassembled here. The data is copied by the socket
   * write; the event is not kept.
   */
  streamEvent(sourceKey: string, ev: WireStreamEvent): void {
    if (this.closed) return;
    const key = `${sourceKey}\u0000${ev.conn}`;
    const dir: TcpDir = ev.dir === 0 ? TCP_DIR.C2S : TCP_DIR.S2C;
    switch (ev.kind) {
      case STREAM_KIND.OPEN: {
        const old = this.streamConns.get(key);
        if (old !== undefined) this.onClose(old, 'reused');
        const meta: ReplayConnMeta = { label: `${endpointsLabel(ev.clientIp, ev.clientPort, ev.serverIp, ev.serverPort)}#${sourceKey}/${ev.conn}`, midStream: ev.midStream };
        this.streamConns.set(key, meta);
        this.onOpen(meta);
        return;
      }
      case STREAM_KIND.DATA:
        this.onData(this.streamConns.get(key), dir, ev.data, ev.tsSec, ev.tsNsec);
        return;
      case STREAM_KIND.GAP:
        this.onGap(this.streamConns.get(key), dir, ev.length);
        return;
      default: {
        const meta = this.streamConns.get(key);
        this.streamConns.delete(key);
        this.onClose(meta, ev.reason);
      }
    }
  }

  /** Whether shadow responses are compared with production's (opts.http). */
  get comparing(): boolean {
    return this.opts.http !== undefined;
  }

  /** Bytes held for shadows now (written to sockets, not yet taken by the kernel). */
  queuedBytes(): number {
    return this.pending;
  }

  private onOpen(conn: ReplayConnMeta): void {
    if (conn.midStream) {
      this.counters.connections.partial++;
      return;
    }
    if (this.open >= this.opts.maxShadowConnections) {
      this.counters.connections.too_many++;
      return;
    }
    const socket = connect({ host: this.opts.host, port: this.opts.port, noDelay: true });
    const http = this.opts.http === undefined ? undefined : new LiveHttpConnection(conn.label, this.opts.http, this.http);
    const shadow = new Shadow(socket, http);
    this.shadows.set(conn, shadow);
    this.live.add(shadow);
    this.open++;
    socket.setTimeout(this.opts.connectTimeoutMs, () => {
      if (!shadow.connected) this.giveUp(shadow, 'connect_failed');
    });
    socket.on('connect', () => {
      shadow.connected = true;
      socket.setTimeout(0);
    });
    socket.on('data', (d: Buffer) => {
      this.counters.bytesReceived += d.length;
      shadow.http?.fromShadow(d);
    });
    socket.on('error', () => {
      this.giveUp(shadow, shadow.connected ? 'shadow_error' : 'connect_failed');
    });
    socket.on('close', () => {
      shadow.http?.end(shadow.outcome === undefined || shadow.outcome === 'replayed' ? undefined : `shadow connection ${shadow.outcome.replace(/_/g, ' ')}`);
      this.live.delete(shadow);
      this.open--;
      if (shadow.outcome === undefined) shadow.outcome = 'replayed';
      this.counters.connections[shadow.outcome]++;
    });
  }

  private onData(conn: ReplayConnMeta | undefined, dir: TcpDir, data: Buffer, tsSec: number, tsNsec: number): void {
    if (conn === undefined) return;
    const shadow = this.shadows.get(conn);
    if (shadow === undefined) return; // not replayed (partial, too_many)
    if (dir !== TCP_DIR.C2S) {
      shadow.http?.server(data, tsSec, tsNsec); // production's answers: compared, not sent
      return;
    }
    shadow.http?.client(data, tsSec, tsNsec);
    if (shadow.outcome !== undefined || shadow.ended) {
      this.counters.bytesNotSent += data.length;
      return;
    }
    const len = data.length;
    if (shadow.pending + len > this.opts.perConnectionQueueBytes || this.pending + len > this.opts.queueBytes) {
      this.counters.bytesNotSent += len;
      this.giveUp(shadow, 'queue_full');
      return;
    }
    // The data is a view valid during this call only: the socket keeps its own copy.
    shadow.pending += len;
    this.pending += len;
    shadow.socket.write(Buffer.from(data), () => {
      // Runs once the kernel took the bytes, or with an error when the socket is destroyed.
      shadow.pending -= len;
      this.pending -= len;
    });
    this.counters.bytesSent += len;
  }

  private onGap(conn: ReplayConnMeta | undefined, dir: TcpDir, len: number): void {
    if (conn === undefined || dir !== TCP_DIR.C2S) return;
    const shadow = this.shadows.get(conn);
    if (shadow === undefined || shadow.outcome !== undefined) return;
    this.counters.bytesNotSent += len;
    this.giveUp(shadow, 'gap');
  }

  private onClose(conn: ReplayConnMeta | undefined, reason: string): void {
    if (conn === undefined) return;
    const shadow = this.shadows.get(conn);
    this.shadows.delete(conn);
    if (shadow === undefined || shadow.outcome !== undefined) return;
    if (reason === 'agent_drop') {
      // The agent could not ship some of the connection's events (its spool was full).
      this.giveUp(shadow, 'gap');
      return;
    }
    if (reason === TCP_CLOSE.RST) {
      shadow.outcome = 'replayed';
      shadow.socket.resetAndDestroy();
      return;
    }
    // FIN, idle or evicted: the client said all it will; let the shadow answer, then close.
    shadow.ended = true;
    shadow.socket.end();
  }

  /** Ends a shadow connection early (reset); later client bytes of it are counted as not sent. */
  private giveUp(shadow: Shadow, outcome: LiveReplayOutcome): void {
    if (shadow.outcome !== undefined) return;
    shadow.outcome = outcome;
    if (!shadow.socket.destroyed) shadow.socket.resetAndDestroy();
  }

  /** Closes what is left: shadows get their end (then a bounded wait), the reassembler is flushed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.reassembler.flushAll();
    const waits = [...this.live].map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.socket.destroyed) return resolve();
          const timer = setTimeout(() => {
            s.socket.destroy();
            resolve();
          }, 2_000);
          s.socket.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          if (!s.ended) s.socket.end();
        }),
    );
    await Promise.all(waits);
  }
}
