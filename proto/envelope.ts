/**
 * The envelope codec of the WebSocket tunnel (proto/podspan.proto): one WebSocket binary
 * message is one `Envelope`. Decoding checks sizes BEFORE protobufjs builds any object (a
 * hostile peer's 16 MiB of empty `Frame`s would otherwise be millions of objects), then
 * decodes with the generated static code, then validates what the schema cannot say
 * (lengths agree, nanoseconds < 1e9, names bounded). Everything wrong is an EnvelopeError
 * with a stable code; decodeEnvelope never throws anything else.
 *
 * The generated code (proto/podspan.js, committed; `npm run proto`) is plain JavaScript that
 * tsc does not copy to dist/, so it is loaded from beside this file when a build put it there,
 * else from the source tree (`dist/proto/../../proto/podspan.js`).
 */
import type { podspan as PodspanTypes } from './podspan.js';

type Generated = { podspan: typeof PodspanTypes };

async function loadGenerated(): Promise<Generated> {
  try {
    return (await import('./podspan.js')) as Generated;
  } catch (first) {
    try {
      return (await import(new URL('../../proto/podspan.js', import.meta.url).href)) as Generated;
    } catch {
      throw first;
    }
  }
}

/** The generated message classes (podspan.Envelope, podspan.Batch, ...). */
export const pb: typeof PodspanTypes = (await loadGenerated()).podspan;

export const PROTOCOL_VERSION = 1;

/** Stable codes of envelope and tunnel errors (docs/errors.md). */
export const WS_ERR = {
  /** The message is larger than maxMessageBytes. */
  TOO_LARGE: 'PODSPAN_ERR_WS_TOO_LARGE',
  /** A batch holds more frames (or interfaces, counters) than allowed. */
  TOO_MANY: 'PODSPAN_ERR_WS_TOO_MANY',
  /** Not a protobuf Envelope, or fields that contradict each other. */
  MALFORMED: 'PODSPAN_ERR_WS_MALFORMED',
  /** A valid message out of place (no hello first, a batch out of sequence...). */
  PROTOCOL: 'PODSPAN_ERR_WS_PROTOCOL',
  /** The bearer token is missing or wrong. */
  AUTH: 'PODSPAN_ERR_WS_AUTH',
  /** TLS failed: unknown CA, wrong host name, bad certificate files. */
  TLS: 'PODSPAN_ERR_WS_TLS',
  /** The peer sends faster than allowed. */
  FLOOD: 'PODSPAN_ERR_WS_FLOOD',
  /** The collector could not store batches it had not acknowledged yet: the agent resends them. */
  STORE: 'PODSPAN_ERR_WS_STORE',
  /** The agent's first connection failed otherwise (refused, timed out, not a WebSocket server). */
  CONNECT: 'PODSPAN_ERR_WS_CONNECT',
} as const;
export type WsErrorCode = (typeof WS_ERR)[keyof typeof WS_ERR];

export class EnvelopeError extends Error {
  readonly code: WsErrorCode;
  constructor(code: WsErrorCode, message: string) {
    super(message);
    this.name = 'EnvelopeError';
    this.code = code;
  }
}

export function isEnvelopeError(e: unknown): e is EnvelopeError {
  return e instanceof EnvelopeError;
}

export interface EnvelopeLimits {
  /** Largest encoded message. Default 16 MiB. */
  maxMessageBytes: number;
  /** Most frames in one batch. Default 65536. */
  maxFrames: number;
  /** Most interfaces in one batch or hello. Default 1024. */
  maxInterfaces: number;
  /** Most counters in one batch, and drop reasons per counter. Default 64. */
  maxCounters: number;
  /** Largest frame (cap_len). Default 262144 (the largest snap length). */
  maxFrameBytes: number;
  /** Longest string field, in bytes. Default 1024. */
  maxStringBytes: number;
  /** Most stream events in one batch. Default 65536. */
  maxStreamEvents: number;
  /** Largest data of one stream event. Default 262144. */
  maxStreamEventBytes: number;
}

export const DEFAULT_ENVELOPE_LIMITS: Readonly<EnvelopeLimits> = {
  maxMessageBytes: 16 * 1024 * 1024,
  maxFrames: 65536,
  maxInterfaces: 1024,
  maxCounters: 64,
  maxFrameBytes: 262144,
  maxStringBytes: 1024,
  maxStreamEvents: 65536,
  maxStreamEventBytes: 262144,
};

/** StreamEvent.kind values. */
export const STREAM_KIND = { OPEN: 0, DATA: 1, GAP: 2, CLOSE: 3 } as const;

/** One reassembled TCP stream event (agent `--mode streams`). */
export interface WireStreamEvent {
  conn: number;
  kind: number;
  /** 0 c2s, 1 s2c. */
  dir: number;
  offset: number;
  /** data events: a view of the message (valid while the message buffer is). */
  data: Buffer;
  /** gap events: missing bytes. */
  length: number;
  tsSec: number;
  tsNsec: number;
  clientIp: Buffer;
  clientPort: number;
  serverIp: Buffer;
  serverPort: number;
  midStream: boolean;
  reason: string;
}

export interface WireInterface {
  id: number;
  name: string;
  podIp: string;
  podName: string;
  podNamespace: string;
  linkType: number;
  snapLen: number;
}

export interface WireFrame {
  iface: number;
  tsSec: number;
  tsNsec: number;
  capLen: number;
  wireLen: number;
  /** A view of the message (valid while the message buffer is). */
  data: Buffer;
}

export interface WireCounter {
  stage: string;
  received: number;
  delivered: number;
  dropped: Record<string, number>;
}

export interface HelloMsg {
  type: 'hello';
  version: number;
  agent: string;
  node: string;
  session: string;
  resumeSeq: number;
  software: string;
  interfaces: WireInterface[];
}
export interface WelcomeMsg {
  type: 'welcome';
  version: number;
  committedSeq: number;
}
export interface BatchMsg {
  type: 'batch';
  seq: number;
  interfaces: WireInterface[];
  frames: WireFrame[];
  counters: WireCounter[];
  streams: WireStreamEvent[];
}
export interface AckMsg {
  type: 'ack';
  seq: number;
}
export interface ErrorMsg {
  type: 'error';
  code: string;
  message: string;
}
export type TunnelMessage = HelloMsg | WelcomeMsg | BatchMsg | AckMsg | ErrorMsg;

/** protobuf wire types (protobuf encoding guide, "Message Structure"). */
const WIRE = { VARINT: 0, I64: 1, LEN: 2, SGROUP: 3, EGROUP: 4, I32: 5 } as const;
/** Envelope.batch, Batch.interfaces, Batch.frames, Batch.counters, Hello.interfaces field numbers. */
const FIELD = { ENVELOPE_HELLO: 1, ENVELOPE_BATCH: 3, BATCH_INTERFACES: 2, BATCH_FRAMES: 3, BATCH_COUNTERS: 4, BATCH_STREAMS: 5, HELLO_INTERFACES: 7 } as const;
/** Most fields the pre-scan walks in one message (anything legal stays far below). */
const MAX_SCAN_FIELDS = 4 * 1024 * 1024;

interface Cursor {
  pos: number;
}

/** A varint at c.pos (at most 10 bytes); advances; -1 when cut or too long. Exact below 2^53. */
function readVarint(b: Uint8Array, end: number, c: Cursor): number {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (c.pos >= end) return -1;
    const byte = b[c.pos++]!;
    result += (byte & 0x7f) * mul;
    if ((byte & 0x80) === 0) return result;
    mul *= 128;
  }
  return -1;
}

/**
 * Walks the fields of one message in b[start, end) and counts the LEN fields numbered
 * `count`; calls `onLen` for every LEN field (false stops the walk as malformed). Returns
 * the count, or -1 when the bytes are not a well-formed sequence of fields. Does not
 * allocate (besides the cursor).
 */
function scanFields(b: Uint8Array, start: number, end: number, count: number, onLen: ((field: number, s: number, e: number) => boolean) | undefined): number {
  const c: Cursor = { pos: start };
  let n = 0;
  for (let k = 0; c.pos < end; k++) {
    if (k > MAX_SCAN_FIELDS) return -1;
    const tag = readVarint(b, end, c);
    if (tag < 0) return -1;
    const field = Math.floor(tag / 8);
    const wt = tag % 8;
    if (field === 0) return -1;
    switch (wt) {
      case WIRE.VARINT:
        if (readVarint(b, end, c) < 0) return -1;
        break;
      case WIRE.I64:
        c.pos += 8;
        break;
      case WIRE.I32:
        c.pos += 4;
        break;
      case WIRE.LEN: {
        const len = readVarint(b, end, c);
        if (len < 0 || c.pos + len > end) return -1;
        if (field === count) n++;
        if (onLen !== undefined && !onLen(field, c.pos, c.pos + len)) return -1;
        c.pos += len;
        break;
      }
      default:
        return -1; // groups are not in proto3; 6 and 7 do not exist
    }
    if (c.pos > end) return -1;
  }
  return n;
}

/**
 * Checks sizes and counts without decoding: the message length, and for a batch or hello
 * the number of frames, interfaces and counters. Throws EnvelopeError.
 */
export function precheckEnvelope(b: Uint8Array, limits: Readonly<EnvelopeLimits> = DEFAULT_ENVELOPE_LIMITS): void {
  if (b.length > limits.maxMessageBytes) throw new EnvelopeError(WS_ERR.TOO_LARGE, `message of ${b.length} bytes is larger than the limit of ${limits.maxMessageBytes}`);
  let problem: EnvelopeError | undefined;
  const top = scanFields(b, 0, b.length, -1, (field, s, e) => {
    if (field === FIELD.ENVELOPE_BATCH) {
      let ifaces = 0;
      let counters = 0;
      let streams = 0;
      const frames = scanFields(b, s, e, FIELD.BATCH_FRAMES, (f) => {
        if (f === FIELD.BATCH_INTERFACES) ifaces++;
        else if (f === FIELD.BATCH_COUNTERS) counters++;
        else if (f === FIELD.BATCH_STREAMS) streams++;
        return true;
      });
      if (frames < 0) return false;
      if (frames > limits.maxFrames) problem = new EnvelopeError(WS_ERR.TOO_MANY, `batch of ${frames} frames (limit ${limits.maxFrames})`);
      else if (ifaces > limits.maxInterfaces) problem = new EnvelopeError(WS_ERR.TOO_MANY, `batch with ${ifaces} interfaces (limit ${limits.maxInterfaces})`);
      else if (counters > limits.maxCounters) problem = new EnvelopeError(WS_ERR.TOO_MANY, `batch with ${counters} counters (limit ${limits.maxCounters})`);
      else if (streams > limits.maxStreamEvents) problem = new EnvelopeError(WS_ERR.TOO_MANY, `batch of ${streams} stream events (limit ${limits.maxStreamEvents})`);
    } else if (field === FIELD.ENVELOPE_HELLO) {
      const ifaces = scanFields(b, s, e, FIELD.HELLO_INTERFACES, undefined);
      if (ifaces < 0) return false;
      if (ifaces > limits.maxInterfaces) problem = new EnvelopeError(WS_ERR.TOO_MANY, `hello with ${ifaces} interfaces (limit ${limits.maxInterfaces})`);
    }
    return true;
  });
  if (problem !== undefined) throw problem;
  if (top < 0) throw new EnvelopeError(WS_ERR.MALFORMED, 'not a protobuf message (bad field encoding)');
}

type LongLike = number | { toNumber(): number; high: number; low: number; unsigned: boolean };

function num(v: LongLike | null | undefined, what: string): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return v;
  // Long: exact only below 2^53.
  if (v.high >>> 0 > 0x1fffff) throw new EnvelopeError(WS_ERR.MALFORMED, `${what} is larger than 2^53`);
  return v.toNumber();
}

function str(v: string | null | undefined, what: string, limits: Readonly<EnvelopeLimits>): string {
  const s = v ?? '';
  if (s.length > limits.maxStringBytes) throw new EnvelopeError(WS_ERR.MALFORMED, `${what} is longer than ${limits.maxStringBytes} characters`);
  return s;
}

function toBuffer(u: Uint8Array | null | undefined): Buffer {
  if (u === null || u === undefined) return Buffer.alloc(0);
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

function iface(i: PodspanTypes.Interface.$Properties, limits: Readonly<EnvelopeLimits>): WireInterface {
  const snapLen = i.snapLen ?? 0;
  return {
    id: i.id ?? 0,
    name: str(i.name, 'interface name', limits),
    podIp: str(i.podIp, 'pod IP', limits),
    podName: str(i.podName, 'pod name', limits),
    podNamespace: str(i.podNamespace, 'pod namespace', limits),
    linkType: i.linkType ?? 0,
    snapLen,
  };
}

function streamEvent(ev: PodspanTypes.StreamEvent.$Properties, seq: number, limits: Readonly<EnvelopeLimits>): WireStreamEvent {
  const kind = ev.kind ?? 0;
  const dir = ev.dir ?? 0;
  const data = toBuffer(ev.data);
  const clientIp = toBuffer(ev.clientIp);
  const serverIp = toBuffer(ev.serverIp);
  const tsNsec = ev.tsNsec ?? 0;
  const bad = (why: string): EnvelopeError => new EnvelopeError(WS_ERR.MALFORMED, `batch ${seq}: stream event: ${why}`);
  if (kind > STREAM_KIND.CLOSE) throw bad(`unknown kind ${kind}`);
  if (dir > 1) throw bad(`unknown dir ${dir}`);
  if (tsNsec >= 1_000_000_000) throw bad(`ts_nsec ${tsNsec} is not below 1e9`);
  if (data.length > limits.maxStreamEventBytes) throw new EnvelopeError(WS_ERR.TOO_LARGE, `batch ${seq}: a stream event of ${data.length} bytes (limit ${limits.maxStreamEventBytes})`);
  if (kind !== STREAM_KIND.DATA && data.length > 0) throw bad('data in an event that is not data');
  if (kind === STREAM_KIND.OPEN) {
    if (!((clientIp.length === 4 && serverIp.length === 4) || (clientIp.length === 16 && serverIp.length === 16))) throw bad('open: addresses must be 4 or 16 bytes, both the same');
    if ((ev.clientPort ?? 0) > 65535 || (ev.serverPort ?? 0) > 65535) throw bad('open: port above 65535');
  }
  return {
    conn: num(ev.conn as LongLike, 'conn'),
    kind,
    dir,
    offset: num(ev.offset as LongLike, 'offset'),
    data,
    length: num(ev.length as LongLike, 'length'),
    tsSec: ev.tsSec ?? 0,
    tsNsec,
    clientIp,
    clientPort: ev.clientPort ?? 0,
    serverIp,
    serverPort: ev.serverPort ?? 0,
    midStream: ev.midStream ?? false,
    reason: str(ev.reason, 'reason', limits),
  };
}

/**
 * Decodes and validates one message. The frames' `data` are views of `b` (no copy).
 * Throws EnvelopeError (and only that).
 */
export function decodeEnvelope(b: Uint8Array, limits: Readonly<EnvelopeLimits> = DEFAULT_ENVELOPE_LIMITS): TunnelMessage {
  precheckEnvelope(b, limits);
  let env: PodspanTypes.Envelope;
  try {
    env = pb.Envelope.decode(b);
  } catch (e) {
    throw new EnvelopeError(WS_ERR.MALFORMED, `not a podspan envelope: ${(e as Error).message}`);
  }
  try {
    return validate(env, limits);
  } catch (e) {
    if (e instanceof EnvelopeError) throw e;
    throw new EnvelopeError(WS_ERR.MALFORMED, `bad envelope: ${(e as Error).message}`);
  }
}

function validate(env: PodspanTypes.Envelope, limits: Readonly<EnvelopeLimits>): TunnelMessage {
  switch (env.msg) {
    case 'hello': {
      const h = env.hello!;
      const session = str(h.session, 'session', limits);
      if (!/^[0-9a-f]{16}$/.test(session)) throw new EnvelopeError(WS_ERR.MALFORMED, 'hello: session must be 16 lower-case hex digits');
      const agent = str(h.agent, 'agent name', limits);
      if (agent === '') throw new EnvelopeError(WS_ERR.MALFORMED, 'hello: no agent name');
      return {
        type: 'hello',
        version: h.version ?? 0,
        agent,
        node: str(h.node, 'node', limits),
        session,
        resumeSeq: num(h.resumeSeq as LongLike, 'resume_seq'),
        software: str(h.software, 'software', limits),
        interfaces: (h.interfaces ?? []).map((i) => iface(i, limits)),
      };
    }
    case 'welcome': {
      const w = env.welcome!;
      return { type: 'welcome', version: w.version ?? 0, committedSeq: num(w.committedSeq as LongLike, 'committed_seq') };
    }
    case 'batch': {
      const bt = env.batch!;
      const seq = num(bt.seq as LongLike, 'seq');
      if (seq < 1) throw new EnvelopeError(WS_ERR.MALFORMED, 'batch: seq must be 1 or more');
      const frames: WireFrame[] = [];
      for (const f of bt.frames ?? []) {
        const data = toBuffer(f.data);
        const capLen = f.capLen ?? 0;
        const wireLen = f.wireLen ?? 0;
        const tsNsec = f.tsNsec ?? 0;
        if (capLen !== data.length) throw new EnvelopeError(WS_ERR.MALFORMED, `batch ${seq}: a frame says cap_len ${capLen} but holds ${data.length} bytes`);
        if (capLen > limits.maxFrameBytes) throw new EnvelopeError(WS_ERR.TOO_LARGE, `batch ${seq}: a frame of ${capLen} bytes (limit ${limits.maxFrameBytes})`);
        if (wireLen < capLen) throw new EnvelopeError(WS_ERR.MALFORMED, `batch ${seq}: wire_len ${wireLen} < cap_len ${capLen}`);
        if (tsNsec >= 1_000_000_000) throw new EnvelopeError(WS_ERR.MALFORMED, `batch ${seq}: ts_nsec ${tsNsec} is not below 1e9`);
        frames.push({ iface: f.iface ?? 0, tsSec: f.tsSec ?? 0, tsNsec, capLen, wireLen, data });
      }
      const counters: WireCounter[] = [];
      for (const c of bt.counters ?? []) {
        const dropped: Record<string, number> = {};
        const entries = Object.entries(c.dropped ?? {});
        if (entries.length > limits.maxCounters) throw new EnvelopeError(WS_ERR.TOO_MANY, `batch ${seq}: ${entries.length} drop reasons (limit ${limits.maxCounters})`);
        for (const [k, v] of entries) dropped[str(k, 'drop reason', limits)] = num(v as LongLike, 'counter');
        counters.push({ stage: str(c.stage, 'stage', limits), received: num(c.received as LongLike, 'counter'), delivered: num(c.delivered as LongLike, 'counter'), dropped });
      }
      const streams: WireStreamEvent[] = [];
      for (const ev of bt.streams ?? []) streams.push(streamEvent(ev, seq, limits));
      return { type: 'batch', seq, interfaces: (bt.interfaces ?? []).map((i) => iface(i, limits)), frames, counters, streams };
    }
    case 'ack':
      return { type: 'ack', seq: num(env.ack!.seq as LongLike, 'seq') };
    case 'error':
      return { type: 'error', code: str(env.error!.code, 'code', limits), message: str(env.error!.message, 'message', limits) };
    default:
      throw new EnvelopeError(WS_ERR.MALFORMED, 'empty envelope (no message in it)');
  }
}

/** Input of encodeEnvelope: frames' data may be any Uint8Array view. */
export type TunnelMessageInput =
  | HelloMsg
  | WelcomeMsg
  | AckMsg
  | ErrorMsg
  | {
      type: 'batch';
      seq: number;
      interfaces: WireInterface[];
      frames: Array<Omit<WireFrame, 'data'> & { data: Uint8Array }>;
      counters: WireCounter[];
      streams?: Array<Omit<WireStreamEvent, 'data' | 'clientIp' | 'serverIp'> & { data: Uint8Array; clientIp: Uint8Array; serverIp: Uint8Array }>;
    };

function ifaceOut(i: WireInterface): PodspanTypes.Interface.$Properties {
  return { id: i.id, name: i.name, podIp: i.podIp, podName: i.podName, podNamespace: i.podNamespace, linkType: i.linkType, snapLen: i.snapLen };
}

/**
 * Encodes one message. Throws EnvelopeError TOO_LARGE / TOO_MANY when the result would be
 * refused by a peer with the same limits.
 */
export function encodeEnvelope(m: TunnelMessageInput, limits: Readonly<EnvelopeLimits> = DEFAULT_ENVELOPE_LIMITS): Uint8Array {
  let env: PodspanTypes.Envelope.$Properties;
  switch (m.type) {
    case 'hello':
      if (m.interfaces.length > limits.maxInterfaces) throw new EnvelopeError(WS_ERR.TOO_MANY, `hello with ${m.interfaces.length} interfaces (limit ${limits.maxInterfaces})`);
      env = {
        hello: { version: m.version, agent: m.agent, node: m.node, session: m.session, resumeSeq: m.resumeSeq, software: m.software, interfaces: m.interfaces.map(ifaceOut) },
      };
      break;
    case 'welcome':
      env = { welcome: { version: m.version, committedSeq: m.committedSeq } };
      break;
    case 'batch':
      if (m.frames.length > limits.maxFrames) throw new EnvelopeError(WS_ERR.TOO_MANY, `batch of ${m.frames.length} frames (limit ${limits.maxFrames})`);
      if ((m.streams?.length ?? 0) > limits.maxStreamEvents) throw new EnvelopeError(WS_ERR.TOO_MANY, `batch of ${m.streams!.length} stream events (limit ${limits.maxStreamEvents})`);
      env = {
        batch: {
          seq: m.seq,
          interfaces: m.interfaces.map(ifaceOut),
          frames: m.frames.map((f) => ({ iface: f.iface, tsSec: f.tsSec, tsNsec: f.tsNsec, capLen: f.capLen, wireLen: f.wireLen, data: f.data })),
          counters: m.counters.map((c) => ({ stage: c.stage, received: c.received, delivered: c.delivered, dropped: { ...c.dropped } })),
          streams: (m.streams ?? []).map((e) => ({
            conn: e.conn,
            kind: e.kind,
            dir: e.dir,
            offset: e.offset,
            data: e.data,
            length: e.length,
            tsSec: e.tsSec,
            tsNsec: e.tsNsec,
            clientIp: e.clientIp,
            clientPort: e.clientPort,
            serverIp: e.serverIp,
            serverPort: e.serverPort,
            midStream: e.midStream,
            reason: e.reason,
          })),
        },
      };
      break;
    case 'ack':
      env = { ack: { seq: m.seq } };
      break;
    case 'error':
      env = { error: { code: m.code, message: m.message } };
      break;
  }
  const out = pb.Envelope.encode(env).finish();
  if (out.length > limits.maxMessageBytes) throw new EnvelopeError(WS_ERR.TOO_LARGE, `message of ${out.length} bytes is larger than the limit of ${limits.maxMessageBytes}`);
  return out;
}
