/**
 * Test harness for the TCP reassembler: segments written as compact specs (sequence numbers
 * relative to each side's ISN, lettered payloads), and a recording handler that checks the
 * event contract on every call (contiguous offsets, no empty data, nothing after close) and
 * renders each direction as text, gaps as `[gap N reason]`.
 */
import {
  TCP_FLAG,
  type TcpCloseReason,
  type TcpConn,
  type TcpDir,
  type TcpGapReason,
  type TcpHandler,
  TcpReassembler,
  type TcpReassemblerOptions,
  type TcpSegmentIn,
} from '../../../packet/reassembly/tcp.js';

export const CLIENT_IP = [10, 0, 0, 1];
export const SERVER_IP = [10, 0, 0, 2];
export const CLIENT_PORT = 40000;
export const SERVER_PORT = 80;

export interface ConnRecord {
  conn: TcpConn;
  text: [string, string];
  next: [number, number];
  closes: TcpCloseReason[];
  events: string[];
}

/** Records every event, checking the handler contract as it goes; `errors` lists violations. */
export class Recorder implements TcpHandler {
  readonly conns: ConnRecord[] = [];
  readonly errors: string[] = [];
  private readonly byId = new Map<number, ConnRecord>();

  private rec(conn: TcpConn, what: string): ConnRecord | undefined {
    const r = this.byId.get(conn.id);
    if (r === undefined) this.errors.push(`${what} for unknown connection ${conn.id}`);
    else if (r.closes.length > 0) this.errors.push(`${what} after close of connection ${conn.id}`);
    return r;
  }

  onOpen(conn: TcpConn): void {
    if (this.byId.has(conn.id)) this.errors.push(`second onOpen for ${conn.id}`);
    const r: ConnRecord = { conn, text: ['', ''], next: [0, 0], closes: [], events: [] };
    this.byId.set(conn.id, r);
    this.conns.push(r);
  }

  onData(conn: TcpConn, dir: TcpDir, data: Buffer, off: number, tsSec: number, tsNsec: number): void {
    const r = this.rec(conn, 'onData');
    if (r === undefined) return;
    if (data.length === 0) this.errors.push(`empty onData on ${conn.id}`);
    if (off !== r.next[dir]) this.errors.push(`onData at ${off} on ${conn.id}/${dir}, expected ${r.next[dir]}`);
    if (!Number.isSafeInteger(tsSec) || !Number.isSafeInteger(tsNsec)) this.errors.push('bad timestamp');
    r.next[dir] = off + data.length;
    r.text[dir] += data.toString('latin1');
    r.events.push(`data ${dir} ${off} ${data.length}`);
  }

  onGap(conn: TcpConn, dir: TcpDir, off: number, len: number, reason: TcpGapReason): void {
    const r = this.rec(conn, 'onGap');
    if (r === undefined) return;
    if (!(len > 0)) this.errors.push(`gap of ${len} on ${conn.id}`);
    if (off !== r.next[dir]) this.errors.push(`onGap at ${off} on ${conn.id}/${dir}, expected ${r.next[dir]}`);
    r.next[dir] = off + len;
    r.text[dir] += `[gap ${len} ${reason}]`;
    r.events.push(`gap ${dir} ${off} ${len} ${reason}`);
  }

  onClose(conn: TcpConn, reason: TcpCloseReason): void {
    const r = this.rec(conn, 'onClose');
    if (r === undefined) return;
    r.closes.push(reason);
    r.events.push(`close ${reason}`);
  }
}

/** A segment spec: `from` client or server, seq/ack relative to the sender's/receiver's ISN. */
export interface SegSpec {
  from: 'c' | 's';
  /** Relative sequence number: 0 is the ISN (the SYN), 1 the first data byte. */
  seq: number;
  /** Relative ack (0 = peer ISN); omitted: no ACK flag unless flags say 'A'. */
  ack?: number;
  /** tcpdump letters: S SYN, F FIN, R RST, P PSH, A ACK. */
  flags?: string;
  data?: string;
  /** payloadLen when larger than data (bytes cut by snaplen). */
  len?: number;
  /** Capture time in seconds (default: previous + 1 ms). */
  t?: number;
  /** Window field (default 65535). */
  win?: number;
  /** Window-scale shift on a SYN (default -1: no option). */
  wscale?: number;
}

export function flagsOf(letters: string): number {
  let f = 0;
  for (const ch of letters) {
    if (ch === 'S') f |= TCP_FLAG.SYN;
    else if (ch === 'F') f |= TCP_FLAG.FIN;
    else if (ch === 'R') f |= TCP_FLAG.RST;
    else if (ch === 'P') f |= TCP_FLAG.PSH;
    else if (ch === 'A' || ch === '.') f |= TCP_FLAG.ACK;
    else throw new Error(`unknown flag letter ${ch}`);
  }
  return f;
}

export interface Endpoints {
  clientIp: number[];
  serverIp: number[];
  clientPort: number;
  serverPort: number;
}

export const DEFAULT_ENDPOINTS: Endpoints = { clientIp: CLIENT_IP, serverIp: SERVER_IP, clientPort: CLIENT_PORT, serverPort: SERVER_PORT };

/** Fills a reused TcpSegmentIn from a spec, as the decoder would. */
export class SegmentWriter {
  readonly seg: TcpSegmentIn;
  private readonly addr: Buffer;
  private t = 0;

  constructor() {
    this.addr = Buffer.alloc(64, 0xa5);
    this.seg = {
      tsSec: 0, tsNsec: 0, addrBuf: this.addr, srcOff: 0, dstOff: 0, addrLen: 4, sport: 0, dport: 0,
      seq: 0, ack: 0, flags: 0, window: 65535, wscale: -1, payload: Buffer.alloc(0), payloadLen: 0,
    };
  }

  fill(spec: SegSpec, cIsn: number, sIsn: number, ep: Endpoints = DEFAULT_ENDPOINTS): TcpSegmentIn {
    const s = this.seg;
    const fromClient = spec.from === 'c';
    const src = fromClient ? ep.clientIp : ep.serverIp;
    const dst = fromClient ? ep.serverIp : ep.clientIp;
    const len = src.length as 4 | 16;
    // Addresses at offsets 10 and 30 of a buffer pre-filled with 0xa5.
    this.addr.fill(0xa5);
    for (let i = 0; i < len; i++) {
      this.addr[10 + i] = src[i]!;
      this.addr[30 + i] = dst[i]!;
    }
    s.srcOff = 10;
    s.dstOff = 30;
    s.addrLen = len;
    s.sport = fromClient ? ep.clientPort : ep.serverPort;
    s.dport = fromClient ? ep.serverPort : ep.clientPort;
    const own = fromClient ? cIsn : sIsn;
    const other = fromClient ? sIsn : cIsn;
    s.seq = (own + spec.seq) >>> 0;
    let flags = flagsOf(spec.flags ?? (spec.data !== undefined ? 'PA' : 'A'));
    if (spec.ack !== undefined) flags |= TCP_FLAG.ACK;
    s.flags = flags;
    s.ack = spec.ack !== undefined ? (other + spec.ack) >>> 0 : 0;
    const data = Buffer.from(spec.data ?? '', 'latin1');
    // The payload as a view at offset 7 of a larger buffer, like a frame.
    const frame = Buffer.alloc(data.length + 20, 0xa5);
    data.copy(frame, 7);
    s.payload = frame.subarray(7, 7 + data.length);
    s.payloadLen = spec.len ?? data.length;
    s.window = spec.win ?? 65535;
    s.wscale = spec.wscale ?? -1;
    this.t = spec.t !== undefined ? spec.t : this.t + 0.001;
    s.tsSec = Math.floor(this.t);
    s.tsNsec = Math.round((this.t - Math.floor(this.t)) * 1e9);
    return s;
  }
}

export interface RunResult {
  r: TcpReassembler;
  rec: Recorder;
}

/** Feeds specs on one 4-tuple (or per-spec endpoints) and optionally flushes at the end. */
export function runSpecs(
  specs: readonly (SegSpec & { ep?: Endpoints })[],
  opts: { cIsn: number; sIsn: number; options?: TcpReassemblerOptions; flush?: boolean },
): RunResult {
  const rec = new Recorder();
  const r = new TcpReassembler(rec, opts.options ?? {});
  const w = new SegmentWriter();
  for (const spec of specs) r.add(w.fill(spec, opts.cIsn, opts.sIsn, spec.ep ?? DEFAULT_ENDPOINTS));
  if (opts.flush !== false) r.flushAll();
  return { r, rec };
}

/** Handshake specs: SYN, SYN/ACK, ACK. */
export function handshake(t?: number): SegSpec[] {
  const first: SegSpec = { from: 'c', seq: 0, flags: 'S' };
  if (t !== undefined) first.t = t;
  return [first, { from: 's', seq: 0, ack: 1, flags: 'SA' }, { from: 'c', seq: 1, ack: 1, flags: 'A' }];
}

