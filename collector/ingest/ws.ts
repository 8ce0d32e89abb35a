/**
 * WebSocket ingest (`collector --ws ADDR`): podspan agents (`--to ws://` / `wss://`) send
 * protobuf batches (proto/podspan.proto); frames reach the sinks with the agent's capture
 * timestamps and their interface / pod as the source (one pcapng IDB each).
 *
 * Authentication: the upgrade request must carry `Authorization: Bearer TOKEN`; the token
 * is compared in constant time (SHA-256 of both, then timingSafeEqual). A wrong or missing
 * token gets HTTP 401 and is counted (`ws_connections` stage, `auth_failed`). A listener
 * without a token is only allowed with `--insecure-no-token` (cli/collector.ts).
 * TLS (wss): `tls: { cert, key }` (node:https).
 *
 * Acknowledgement and the no-loss / no-duplicate guarantee:
 * - per agent session (agent name + the random session id of its Hello) the ingest keeps
 *   `seq`, the last batch whose frames were all handed to the sinks, and while a batch is
 *   being handed over, `partialSeq`/`partialFrames` (how many of its frames are in).
 * - Every `commitIntervalMs` (and whenever the store finishes a file) the collector commits:
 *   the store writes and fsyncs its files and appends {file lengths, this state} to its
 *   journal (collector/sink/pcapng-store.ts). Only then are the batches up to each
 *   session's committed `seq` acknowledged; the agent keeps every unacknowledged batch.
 * - A collector SIGKILLed and restarted cuts its files back to the last commit and gets
 *   that commit's state back: the Welcome tells each returning agent the committed `seq`;
 *   the agent resends every later batch it holds; batches (and the first `partialFrames` of
 *   batch `partialSeq`) the store already holds are skipped and counted `duplicate`.
 *   So, within the agent's spool, no frame is lost and none is stored twice.
 * - Without a store (`--stdout` only) a commit is immediate: acks mean "written to stdout".
 *
 * Hostile peers: every message is checked before it is decoded (size, frame count:
 * proto/envelope.ts); a bad one is counted in the `ws_messages` stage under its reason,
 * answered with an Error envelope and a close code (1003 not binary, 1007 malformed, 1008
 * protocol / sequence / flood, 1009 too large), and the collector carries on. Connections
 * are capped (`maxConnections`), a Hello must come within `helloTimeoutMs`, and each
 * connection may send at most `maxMessagesPerSec` messages (a token bucket).
 *
 * Stages: `ws_connections` (upgrade requests: accepted or dropped per reason),
 * `ws_messages` (messages: accepted or dropped per reason), `ws` (frames of accepted
 * batches: to the sinks, or dropped as duplicate / unknown_interface / ...).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';

import { WebSocketServer, type WebSocket } from 'ws';

import {
  DEFAULT_ENVELOPE_LIMITS,
  PROTOCOL_VERSION,
  WS_ERR,
  decodeEnvelope,
  encodeEnvelope,
  isEnvelopeError,
  type BatchMsg,
  type EnvelopeLimits,
  type HelloMsg,
  type WireInterface,
  type WireStreamEvent,
} from '../../proto/envelope.js';
import type { CollectorMetrics, Stage } from '../metrics.js';
import { IngestFrame, type FrameHandler } from './frame.js';
import type { Source, SourceTable } from './source.js';
import { WsSourceTable } from './ws-source.js';
import { ETHERNET_HEADER_LEN } from '../../packet/wire/ethernet.js';

export const WS_CONNECTION_DROP_REASONS = ['auth_failed', 'too_many_connections', 'bad_upgrade'] as const;
export type WsConnectionDropReason = (typeof WS_CONNECTION_DROP_REASONS)[number];

export const WS_MESSAGE_DROP_REASONS = [
  /** Larger than the message limit (or a frame larger than the frame limit). */
  'too_large',
  /** More frames, interfaces or counters than allowed in one message. */
  'too_many',
  /** Not a protobuf Envelope, or contradictory fields. */
  'malformed',
  /** A text message. */
  'not_binary',
  /** Valid, but out of place: no Hello first, a second Hello, a collector-only message, a wrong version. */
  'protocol',
  /** A batch that skips sequence numbers. */
  'bad_sequence',
  /** Over maxMessagesPerSec. */
  'flood',
  /** An exception while handling it: a bug, counted and survived. */
  'decoder_bug',
  /** Arrived after the collector decided to close the connection (the rest of a flood...). */
  'after_close',
] as const;
export type WsMessageDropReason = (typeof WS_MESSAGE_DROP_REASONS)[number];

export const WS_DROP_REASONS = [
  /** Already stored (resent after a reconnect or a collector restart). */
  'duplicate',
  /** Refers to an interface the agent never described. */
  'unknown_interface',
  /** The interface is not Ethernet (the store writes one link type per file). */
  'unsupported_link_type',
  /** A new interface past the source table's cap. */
  'too_many_sources',
  /** Shorter than an Ethernet header (14 bytes), as the VXLAN and GRE ingests count it. */
  'short_frame',
  /** An exception while handing the frame over: a bug, counted and survived. */
  'decoder_bug',
] as const;
export type WsDropReason = (typeof WS_DROP_REASONS)[number];

/** Stream events (agent `--mode streams`): the `streams` stage counts events, not frames. */
export const WS_STREAM_DROP_REASONS = [
  /** Already handed over (resent after a reconnect). */
  'duplicate',
  /** The collector has no stream sink (no --replay-to). */
  'no_stream_sink',
  /** An exception in the stream sink: a bug, counted and survived. */
  'decoder_bug',
] as const;
export type WsStreamDropReason = (typeof WS_STREAM_DROP_REASONS)[number];

/** Takes the stream events of one agent session (`sessionKey`), in order. */
export type StreamEventHandler = (sessionKey: string, ev: WireStreamEvent) => void;

/** WebSocket close codes (RFC 6455 §7.4.1). */
export const WS_CLOSE = { NORMAL: 1000, GOING_AWAY: 1001, UNSUPPORTED: 1003, INVALID: 1007, POLICY: 1008, TOO_BIG: 1009, INTERNAL: 1011, REPLACED: 4000 } as const;

export const WS_DEFAULT_COMMIT_INTERVAL_MS = 50;
export const WS_DEFAULT_MAX_CONNECTIONS = 256;
export const WS_DEFAULT_MAX_SESSIONS = 1024;
export const WS_DEFAULT_HELLO_TIMEOUT_MS = 10_000;
export const WS_DEFAULT_MAX_MESSAGES_PER_SEC = 2000;
/** An interface whose frames are not Ethernet (the store writes one link type per file). */
const NOT_ETHERNET = 'not-ethernet';
/** TCP connections allowed beyond maxConnections, for upgrades in progress. */
const PRE_UPGRADE_SLACK = 64;
/** Most interfaces one session may describe. */
const MAX_SESSION_INTERFACES = 4096;
const LINKTYPE_ETHERNET = 1;

export interface WsListenerOptions {
  host: string;
  /** TCP port; 0 picks a free one (see `port` after open). */
  port: number;
  /** PEM certificate chain and key: wss. */
  tls?: { cert: Buffer; key: Buffer };
  /** Bearer token agents must present; undefined: none required (--insecure-no-token). */
  token: string | undefined;
  sources: SourceTable;
  stage: Stage<WsDropReason>;
  messageStage: Stage<WsMessageDropReason>;
  connectionStage: Stage<WsConnectionDropReason>;
  metrics: CollectorMetrics;
  onFrame: FrameHandler;
  /** Stream events (agent `--mode streams`); absent: counted as `no_stream_sink`. */
  onStreamEvent?: StreamEventHandler | undefined;
  /** The `streams` stage; absent: made (in `metrics`) when the first event arrives. */
  streamStage?: Stage<WsStreamDropReason>;
  /**
   * Makes what the sinks hold durable and returns true, or false when it could not (then
   * nothing is acknowledged). Called with the listener's state current.
   */
  commit: () => boolean;
  /** The state of the last commit before a restart (from the store's journal). */
  recoveredState?: string | undefined;
  limits?: EnvelopeLimits;
  commitIntervalMs?: number;
  maxConnections?: number;
  maxSessions?: number;
  helloTimeoutMs?: number;
  maxMessagesPerSec?: number;
}

/** One agent session: the sequence state the acks and the journal are about. */
interface Session {
  readonly key: string;
  readonly agent: string;
  node: string;
  /** Last batch all of whose frames went to the sinks. */
  seq: number;
  /** The batch being handed over (0: none) and how many of its frames went (by index). */
  partialSeq: number;
  partialFrames: number;
  /** Last seq made durable by a commit (what acks and Welcome say), and that commit's partial batch. */
  committedSeq: number;
  committedPartialSeq: number;
  committedPartialFrames: number;
  /** Frames handed to the sinks since the last commit. */
  framesSinceCommit: number;
  /** Last seq acknowledged on the live connection. */
  ackedSeq: number;
  conn: Conn | undefined;
  /** Interface id → source (NOT_ETHERNET, or null when the source table was full). */
  readonly ifaces: Map<number, Source | typeof NOT_ETHERNET | null>;
  lastSeenMs: number;
}

interface Conn {
  readonly ws: WebSocket;
  readonly remote: string;
  session: Session | undefined;
  tokens: number;
  lastRefillMs: number;
  helloTimer: NodeJS.Timeout | undefined;
  closing: boolean;
}

/** Persistent form of the sessions: key → [seq, partialSeq, partialFrames]. */
type StateJson = { v: 1; sessions: Record<string, [number, number, number]> };

/** Longest agent, stage or reason name kept in a counter line (the peer chooses them). */
const COUNTER_NAME_MAX = 64;

/** A peer-chosen name for a counter line: printable ASCII without spaces, at most COUNTER_NAME_MAX characters. */
function counterName(s: string): string {
  const t = s.replace(/[^\x21-\x7e]/g, '_');
  return t.length > COUNTER_NAME_MAX ? `${t.slice(0, COUNTER_NAME_MAX - 1)}~` : t;
}

function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export class WsListener {
  readonly host: string;
  port: number;
  readonly secure: boolean;
  /** Commits that failed (nothing acknowledged then). */
  commitFailures: number;
  /** Times the store rolled back and the sessions went back to their last commit. */
  rewinds: number;
  /** The last exception counted as a bug. */
  lastBug: unknown;

  private readonly opts: WsListenerOptions;
  private readonly limits: EnvelopeLimits;
  private readonly tokenHash: Buffer | undefined;
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private readonly conns = new Set<Conn>();
  private readonly sessions = new Map<string, Session>();
  private readonly wsSources: WsSourceTable;
  private readonly frame: IngestFrame;
  private readonly commitTimer: NodeJS.Timeout;
  /** Sessions' [seq, partialSeq, partialFrames] at the last journalState() call, applied by committed(). */
  private snapshot: Array<[Session, number, number, number]>;
  private dirty: boolean;
  private closed: boolean;
  private streamStage: Stage<WsStreamDropReason> | undefined;

  private constructor(opts: WsListenerOptions, server: Server) {
    this.opts = opts;
    this.host = opts.host;
    this.port = opts.port;
    this.secure = opts.tls !== undefined;
    this.commitFailures = 0;
    this.rewinds = 0;
    this.lastBug = undefined;
    this.limits = opts.limits ?? { ...DEFAULT_ENVELOPE_LIMITS };
    this.tokenHash = opts.token === undefined ? undefined : tokenDigest(opts.token);
    this.server = server;
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.limits.maxMessageBytes, perMessageDeflate: false });
    this.wsSources = new WsSourceTable(opts.sources);
    this.frame = new IngestFrame();
    this.snapshot = [];
    this.dirty = false;
    this.closed = false;
    this.streamStage = opts.streamStage;
    this.restore(opts.recoveredState);
    this.commitTimer = setInterval(() => this.commitNow(), opts.commitIntervalMs ?? WS_DEFAULT_COMMIT_INTERVAL_MS);
    this.commitTimer.unref();
  }

  /** Binds and starts accepting. Rejects with the listen error (EADDRINUSE, EACCES...). */
  static open(opts: WsListenerOptions): Promise<WsListener> {
    // A connection that has not finished its upgrade request within the hello timeout is
    // closed (slowloris), and at most PRE_UPGRADE_SLACK more TCP connections than WebSocket
    // connections are held: idle sockets cannot take every file descriptor.
    const helloMs = opts.helloTimeoutMs ?? WS_DEFAULT_HELLO_TIMEOUT_MS;
    const httpOpts = { headersTimeout: helloMs, requestTimeout: helloMs, connectionsCheckingInterval: Math.min(1000, helloMs) };
    const server = opts.tls !== undefined ? createHttpsServer({ ...httpOpts, cert: opts.tls.cert, key: opts.tls.key }) : createHttpServer(httpOpts);
    server.maxConnections = (opts.maxConnections ?? WS_DEFAULT_MAX_CONNECTIONS) + PRE_UPGRADE_SLACK;
    const l = new WsListener(opts, server);
    server.on('drop', () => {
      // Refused by the kernel-level cap above: counted like any refused attempt.
      opts.connectionStage.received++;
      opts.connectionStage.drop('too_many_connections');
    });
    server.on('request', (_req, res) => {
      // Not an upgrade: counted as a connection attempt refused.
      opts.connectionStage.received++;
      opts.connectionStage.drop('bad_upgrade');
      res.writeHead(426, { 'content-type': 'text/plain', connection: 'close' });
      res.end('podspan collector: WebSocket only (podspan agent --to ws://...)\n');
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => l.onUpgrade(req, socket, head));
    server.on('clientError', (_e, socket: Duplex) => socket.destroy());
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => {
        clearInterval(l.commitTimer);
        reject(e);
      };
      server.once('error', onError);
      server.listen({ host: opts.host, port: opts.port, exclusive: true }, () => {
        server.off('error', onError);
        server.on('error', () => undefined);
        const a = server.address();
        if (a !== null && typeof a === 'object') l.port = a.port;
        resolve(l);
      });
    });
  }

  /** Live connections (for tests and the summary). */
  get connections(): number {
    return this.conns.size;
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const cs = this.opts.connectionStage;
    cs.received++;
    // Each attempt is counted once: accepted, or dropped under one reason.
    let settled = false;
    socket.on('error', () => undefined);
    const refuse = (reason: WsConnectionDropReason, status: string): void => {
      if (settled) return;
      settled = true;
      cs.drop(reason);
      const extra = status.startsWith('401') ? 'WWW-Authenticate: Bearer realm="podspan"\r\n' : '';
      socket.end(`HTTP/1.1 ${status}\r\n${extra}Connection: close\r\nContent-Length: 0\r\n\r\n`);
      setTimeout(() => socket.destroy(), 1000).unref();
    };
    // handleUpgrade answers a bad handshake itself (400) without calling back.
    socket.once('close', () => {
      if (!settled) {
        settled = true;
        cs.drop('bad_upgrade');
      }
    });
    if (this.closed) {
      refuse('too_many_connections', '503 Service Unavailable');
      return;
    }
    if (this.tokenHash !== undefined && !this.authorized(req.headers.authorization)) {
      refuse('auth_failed', '401 Unauthorized');
      return;
    }
    if (this.conns.size >= (this.opts.maxConnections ?? WS_DEFAULT_MAX_CONNECTIONS)) {
      refuse('too_many_connections', '503 Service Unavailable');
      return;
    }
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      refuse('bad_upgrade', '400 Bad Request');
      return;
    }
    try {
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        if (settled) {
          ws.terminate();
          return;
        }
        settled = true;
        cs.delivered++;
        this.onConnection(ws, req.socket.remoteAddress ?? '?');
      });
    } catch {
      refuse('bad_upgrade', '400 Bad Request');
    }
  }

  /** Constant-time comparison of the presented bearer token with ours. */
  private authorized(header: string | undefined): boolean {
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
    const presented = tokenDigest(m?.[1] ?? '');
    return timingSafeEqual(presented, this.tokenHash!) && m !== null;
  }

  private onConnection(ws: WebSocket, remote: string): void {
    const max = this.opts.maxMessagesPerSec ?? WS_DEFAULT_MAX_MESSAGES_PER_SEC;
    const c: Conn = { ws, remote, session: undefined, tokens: max, lastRefillMs: Date.now(), helloTimer: undefined, closing: false };
    this.conns.add(c);
    c.helloTimer = setTimeout(() => {
      if (c.session === undefined) this.reject(c, 'protocol', WS_CLOSE.POLICY, WS_ERR.PROTOCOL, 'no hello within the time allowed', false);
    }, this.opts.helloTimeoutMs ?? WS_DEFAULT_HELLO_TIMEOUT_MS);
    c.helloTimer.unref();
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(c, data, isBinary));
    ws.on('error', (e: Error & { code?: string }) => {
      // ws reports frames it refused (oversized, bad opcode, bad UTF-8) here, then closes.
      const ms = this.opts.messageStage;
      ms.received++;
      ms.drop(e.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'too_large' : 'malformed');
    });
    ws.on('close', () => {
      this.conns.delete(c);
      if (c.helloTimer !== undefined) clearTimeout(c.helloTimer);
      if (c.session !== undefined && c.session.conn === c) c.session.conn = undefined;
    });
  }

  /** Counts a bad message, tells the peer why, and closes the connection. */
  private reject(c: Conn, reason: WsMessageDropReason, closeCode: number, errCode: string, message: string, counted = true): void {
    if (counted) this.opts.messageStage.drop(reason);
    if (c.closing) return;
    c.closing = true;
    try {
      c.ws.send(encodeEnvelope({ type: 'error', code: errCode, message }));
      c.ws.close(closeCode, message.slice(0, 120));
    } catch {
      c.ws.terminate();
    }
    // A peer that never answers the close handshake is cut off.
    setTimeout(() => c.ws.terminate(), 2000).unref();
  }

  private onMessage(c: Conn, data: Buffer, isBinary: boolean): void {
    const ms = this.opts.messageStage;
    ms.received++;
    if (c.closing) {
      ms.drop('after_close');
      return;
    }
    // Token bucket: maxMessagesPerSec, refilled continuously, burst of one second.
    const max = this.opts.maxMessagesPerSec ?? WS_DEFAULT_MAX_MESSAGES_PER_SEC;
    const now = Date.now();
    c.tokens = Math.min(max, c.tokens + ((now - c.lastRefillMs) * max) / 1000);
    c.lastRefillMs = now;
    if (c.tokens < 1) {
      this.reject(c, 'flood', WS_CLOSE.POLICY, WS_ERR.FLOOD, `more than ${max} messages per second`);
      return;
    }
    c.tokens--;
    if (!isBinary) {
      this.reject(c, 'not_binary', WS_CLOSE.UNSUPPORTED, WS_ERR.MALFORMED, 'text message: the tunnel speaks binary protobuf');
      return;
    }
    let m;
    try {
      m = decodeEnvelope(data, this.limits);
    } catch (e) {
      if (isEnvelopeError(e)) {
        if (e.code === WS_ERR.TOO_LARGE) this.reject(c, 'too_large', WS_CLOSE.TOO_BIG, e.code, e.message);
        else if (e.code === WS_ERR.TOO_MANY) this.reject(c, 'too_many', WS_CLOSE.TOO_BIG, e.code, e.message);
        else this.reject(c, 'malformed', WS_CLOSE.INVALID, e.code, e.message);
      } else {
        this.lastBug = e;
        this.reject(c, 'decoder_bug', WS_CLOSE.INVALID, WS_ERR.MALFORMED, 'could not decode');
      }
      return;
    }
    try {
      if (m.type === 'hello') this.onHello(c, m);
      else if (m.type === 'batch') this.onBatch(c, m);
      else this.reject(c, 'protocol', WS_CLOSE.POLICY, WS_ERR.PROTOCOL, `an agent does not send ${m.type}`);
    } catch (e) {
      this.lastBug = e;
      if (!ms.balanced()) this.reject(c, 'decoder_bug', WS_CLOSE.INVALID, WS_ERR.PROTOCOL, 'internal error');
    }
  }

  private onHello(c: Conn, h: HelloMsg): void {
    if (c.session !== undefined) {
      this.reject(c, 'protocol', WS_CLOSE.POLICY, WS_ERR.PROTOCOL, 'second hello on one connection');
      return;
    }
    if (h.version !== PROTOCOL_VERSION) {
      this.reject(c, 'protocol', WS_CLOSE.POLICY, WS_ERR.PROTOCOL, `protocol version ${h.version}; this collector speaks ${PROTOCOL_VERSION}`);
      return;
    }
    const key = `${h.agent}\u0000${h.session}`;
    let s = this.sessions.get(key);
    if (s === undefined) {
      if (!this.makeRoom()) {
        this.reject(c, 'protocol', WS_CLOSE.POLICY, WS_ERR.PROTOCOL, 'too many agent sessions');
        return;
      }
      // A session this collector does not know (new, or its state was lost or evicted):
      // whatever the agent had acknowledged was stored by someone; go on from there.
      const r = h.resumeSeq;
      s = { key, agent: h.agent, node: h.node, seq: r, partialSeq: 0, partialFrames: 0, committedSeq: r, committedPartialSeq: 0, committedPartialFrames: 0, framesSinceCommit: 0, ackedSeq: r, conn: undefined, ifaces: new Map(), lastSeenMs: Date.now() };
      this.sessions.set(key, s);
    }
    s.node = h.node;
    s.lastSeenMs = Date.now();
    if (s.conn !== undefined && s.conn !== c) {
      // The agent reconnected before we saw its old connection go.
      const old = s.conn;
      old.session = undefined;
      old.closing = true;
      old.ws.close(WS_CLOSE.REPLACED, 'replaced by a new connection of the same session');
    }
    if (!this.addInterfaces(s, h.interfaces)) {
      this.reject(c, 'too_many', WS_CLOSE.POLICY, WS_ERR.TOO_MANY, `more than ${MAX_SESSION_INTERFACES} interfaces`);
      return;
    }
    s.conn = c;
    c.session = s;
    if (c.helloTimer !== undefined) clearTimeout(c.helloTimer);
    c.helloTimer = undefined;
    s.ackedSeq = s.committedSeq;
    this.opts.messageStage.delivered++;
    c.ws.send(encodeEnvelope({ type: 'welcome', version: PROTOCOL_VERSION, committedSeq: s.committedSeq }));
  }

  /** Evicts the least recently seen disconnected session when the table is full. */
  private makeRoom(): boolean {
    if (this.sessions.size < (this.opts.maxSessions ?? WS_DEFAULT_MAX_SESSIONS)) return true;
    let oldest: Session | undefined;
    for (const s of this.sessions.values()) if (s.conn === undefined && (oldest === undefined || s.lastSeenMs < oldest.lastSeenMs)) oldest = s;
    if (oldest === undefined) return false;
    this.sessions.delete(oldest.key);
    return true;
  }

  private addInterfaces(s: Session, list: readonly WireInterface[]): boolean {
    for (const w of list) {
      if (s.ifaces.has(w.id)) continue;
      if (s.ifaces.size >= MAX_SESSION_INTERFACES) return false;
      s.ifaces.set(w.id, w.linkType === LINKTYPE_ETHERNET ? (this.wsSources.source(s.agent, s.node, w) ?? null) : NOT_ETHERNET);
    }
    return true;
  }

  private onBatch(c: Conn, b: BatchMsg): void {
    const s = c.session;
    if (s === undefined) {
      this.reject(c, 'protocol', WS_CLOSE.POLICY, WS_ERR.PROTOCOL, 'batch before hello');
      return;
    }
    const st = this.opts.stage;
    const n = b.frames.length;
    if (b.seq <= s.seq) {
      // Resent after a reconnect: already in the sinks.
      this.opts.messageStage.delivered++;
      st.received += n;
      st.dropped.duplicate += n;
      if (b.streams.length > 0) {
        const ss = this.streams();
        ss.received += b.streams.length;
        ss.dropped.duplicate += b.streams.length;
      }
      return;
    }
    if (b.seq !== s.seq + 1) {
      this.reject(c, 'bad_sequence', WS_CLOSE.POLICY, WS_ERR.PROTOCOL, `batch ${b.seq} after ${s.seq}: sequence numbers must not skip`);
      return;
    }
    if (!this.addInterfaces(s, b.interfaces)) {
      this.reject(c, 'too_many', WS_CLOSE.POLICY, WS_ERR.TOO_MANY, `more than ${MAX_SESSION_INTERFACES} interfaces`);
      return;
    }
    this.opts.messageStage.delivered++;
    const skip = s.partialSeq === b.seq ? s.partialFrames : 0;
    s.partialSeq = b.seq;
    const f = this.frame;
    const onFrame = this.opts.onFrame;
    const rewinds = this.rewinds;
    this.handFrames(s, b, skip, f, onFrame, st);
    // The store rolled back while taking this batch (a rotation inside write() committed after
    // a write error): the session went back to its last commit and its agent, disconnected,
    // resends from there. Advancing past this batch now would lose what was cut.
    if (this.rewinds !== rewinds) return;
    this.finishBatch(s, b);
  }

  /** Hands the frames of batch `b` (from index `skip`) to the sinks; stops when a rewind happens meanwhile. */
  private handFrames(s: Session, b: BatchMsg, skip: number, f: IngestFrame, onFrame: FrameHandler, st: Stage<WsDropReason>): void {
    const n = b.frames.length;
    const rewinds = this.rewinds;
    for (let i = 0; i < n; i++) {
      if (this.rewinds !== rewinds) return; // see onBatch
      const w = b.frames[i]!;
      st.received++;
      // Counted as handed over before the sinks see it: a commit the store makes inside
      // write() (rotation) must count this frame, which is then in the file.
      s.partialFrames = i + 1;
      if (i < skip) {
        st.drop('duplicate');
        continue;
      }
      const source = s.ifaces.get(w.iface);
      if (source === undefined || source === null || source === NOT_ETHERNET) {
        st.drop(source === NOT_ETHERNET ? 'unsupported_link_type' : source === null ? 'too_many_sources' : 'unknown_interface');
        continue;
      }
      if (w.data.length < ETHERNET_HEADER_LEN) {
        st.drop('short_frame');
        continue;
      }
      f.data = w.data;
      f.wireLen = w.wireLen > w.data.length ? w.wireLen : -1;
      f.tsSec = w.tsSec;
      f.tsNsec = w.tsNsec;
      f.source = source;
      source.frames++;
      s.framesSinceCommit++;
      st.delivered++;
      st.deliveredBytes += w.capLen;
      try {
        onFrame(f as IngestFrame & { source: Source });
      } catch (e) {
        this.lastBug = e;
      }
    }
  }

  /** The whole batch is handed over: the session moves past it. */
  private finishBatch(s: Session, b: BatchMsg): void {
    if (b.streams.length > 0) this.handStreams(s.key, b.streams);
    s.seq = b.seq;
    s.partialSeq = 0;
    s.partialFrames = 0;
    s.lastSeenMs = Date.now();
    this.dirty = true;
    for (const ctr of b.counters) {
      const drops = Object.entries(ctr.dropped).filter(([, v]) => v !== 0);
      const agent = counterName(s.agent);
      const stage = counterName(ctr.stage);
      this.opts.metrics.setRemote(
        `${agent} ${stage}`,
        `agent ${agent} ${stage} received=${ctr.received} delivered=${ctr.delivered} dropped=${drops.reduce((a, [, v]) => a + v, 0)}${drops.length > 0 ? `{${drops.map(([k, v]) => `${counterName(k)}=${v}`).join(',')}}` : ''}`,
      );
    }
  }

  private streams(): Stage<WsStreamDropReason> {
    if (this.streamStage === undefined) this.streamStage = this.opts.metrics.stage('streams', WS_STREAM_DROP_REASONS);
    return this.streamStage;
  }

  /**
   * A batch's stream events to the stream sink. They are committed with the batch once handed
   * over (the replay sink keeps nothing to make durable).
   */
  private handStreams(key: string, events: WireStreamEvent[]): void {
    const ss = this.streams();
    const on = this.opts.onStreamEvent;
    for (const ev of events) {
      ss.received++;
      if (on === undefined) {
        ss.drop('no_stream_sink');
        continue;
      }
      try {
        on(key, ev);
        ss.delivered++;
        ss.deliveredBytes += ev.data.length;
      } catch (e) {
        this.lastBug = e;
        ss.drop('decoder_bug');
      }
    }
  }

  /** The sessions' state for the store's journal (exact for the frames handed over so far). */
  journalState(): string {
    const out: StateJson = { v: 1, sessions: {} };
    const snap: Array<[Session, number, number, number]> = [];
    for (const s of this.sessions.values()) {
      out.sessions[s.key] = [s.seq, s.partialSeq, s.partialFrames];
      snap.push([s, s.seq, s.partialSeq, s.partialFrames]);
      s.framesSinceCommit = 0;
    }
    this.snapshot = snap;
    return JSON.stringify(out);
  }

  /** After a durable commit: what the snapshot said is acknowledged. */
  committed(): void {
    for (const [s, seq, partialSeq, partialFrames] of this.snapshot) {
      if (seq > s.committedSeq) s.committedSeq = seq;
      s.committedPartialSeq = partialSeq;
      s.committedPartialFrames = partialFrames;
      const c = s.conn;
      if (c !== undefined && !c.closing && s.committedSeq > s.ackedSeq) {
        s.ackedSeq = s.committedSeq;
        try {
          c.ws.send(encodeEnvelope({ type: 'ack', seq: s.committedSeq }));
        } catch {
          // the close handler cleans up
        }
      }
    }
    this.snapshot = [];
  }

  /**
   * The store went back to its last commit (a write error): every session that handed it
   * frames since then goes back to the committed state, and its agent is disconnected
   * (1011) so that it reconnects, hears the committed seq in the Welcome and resends the
   * rest. Nothing after the last ack is lost, and nothing is stored twice.
   */
  rewind(): void {
    this.rewinds++;
    for (const s of this.sessions.values()) {
      if (s.framesSinceCommit === 0 && s.seq === s.committedSeq && s.partialFrames === s.committedPartialFrames) continue;
      s.seq = s.committedSeq;
      s.partialSeq = s.committedPartialSeq;
      s.partialFrames = s.committedPartialFrames;
      s.framesSinceCommit = 0;
      const c = s.conn;
      if (c === undefined || c.closing) continue;
      c.closing = true;
      try {
        c.ws.send(encodeEnvelope({ type: 'error', code: WS_ERR.STORE, message: `the collector could not store batches after ${s.committedSeq}: resend them` }));
        c.ws.close(WS_CLOSE.INTERNAL, 'store write failed: resend after the last ack');
      } catch {
        c.ws.terminate();
      }
      setTimeout(() => c.ws.terminate(), 2000).unref();
    }
  }

  /** Commits now when a batch arrived since the last commit; acks follow a successful commit. */
  commitNow(): void {
    if (!this.dirty) return;
    this.dirty = false;
    let ok = false;
    try {
      ok = this.opts.commit();
    } catch (e) {
      this.lastBug = e;
    }
    if (!ok) {
      this.commitFailures++;
      this.dirty = true;
    }
  }

  private restore(state: string | undefined): void {
    if (state === undefined || state === '') return;
    let parsed: StateJson;
    try {
      parsed = JSON.parse(state) as StateJson;
    } catch {
      return;
    }
    if (parsed === null || typeof parsed !== 'object' || parsed.v !== 1 || parsed.sessions === null || typeof parsed.sessions !== 'object') return;
    for (const [key, v] of Object.entries(parsed.sessions)) {
      if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => Number.isSafeInteger(x) && x >= 0)) continue;
      const agent = key.split('\u0000')[0] ?? '';
      const [seq, partialSeq, partialFrames] = v;
      this.sessions.set(key, {
        key, agent, node: '', seq, partialSeq, partialFrames,
        committedSeq: seq, committedPartialSeq: partialSeq, committedPartialFrames: partialFrames, framesSinceCommit: 0,
        ackedSeq: seq, conn: undefined, ifaces: new Map(), lastSeenMs: Date.now(),
      });
    }
  }

  /**
   * Stops accepting, commits (acks what is stored), closes every connection (1001) and the
   * server; no frame is delivered after the promise resolves. Idempotent.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.commitTimer);
    for (const c of this.conns) {
      c.ws.removeAllListeners('message');
      c.closing = true;
    }
    this.commitNow();
    for (const c of this.conns) {
      try {
        c.ws.close(WS_CLOSE.GOING_AWAY, 'collector stopping');
      } catch {
        c.ws.terminate();
      }
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        for (const c of this.conns) c.ws.terminate();
        resolve();
      }, 1000);
      const check = (): void => {
        if (this.conns.size === 0) {
          clearTimeout(timer);
          resolve();
        } else setTimeout(check, 10);
      };
      check();
    });
    this.wss.close();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }
}
