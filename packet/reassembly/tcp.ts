/**
 * TCP stream reassembly (RFC 9293): segments in, ordered bytes out, every byte accounted.
 *
 * The caller fills one reused `TcpSegmentIn` per segment and calls `add()`; the reassembler
 * calls the handler with in-order data, gaps and connection events. Time comes only from
 * capture timestamps (idle timeouts included), so a replayed capture gives the same events.
 *
 * Exact, bounded, honest:
 * - In-order data is delivered as a view of the caller's payload, never copied. Only
 *   out-of-order data is copied to be held (counted in `copies`/`copiedBytes`), under two
 *   caps: each direction's `perFlowOooCapBytes` and the global `memCapBytes`. Held memory is
 *   counted exactly as payload bytes + OOO_SEGMENT_OVERHEAD_BYTES per held range, plus the
 *   per-direction copies of recent deliveries kept for overlap checks (see Overlap; their
 *   copying is counted in `overlapCheckCopiedBytes`).
 * - A hole is never filled silently, and only a hole the receiver acknowledged is skipped
 *   (Wireshark's follow semantics): as soon as the other direction's ACK moves past a hole's
 *   start (up to held data or the FIN), the acknowledged bytes are reported as a gap `acked`
 *   (capture loss: they were sent and received) and the data after them is delivered. An ACK
 *   ending inside a hole skips only its acknowledged part. At close (FIN, RST, idle,
 *   eviction, flush, reuse), data still held beyond a hole no ACK covers is not delivered:
 *   it is dropped (`unacked_beyond_hole`) and no gap is reported for it. A capture of one
 *   direction only (no ACKs) therefore delivers up to its first hole, or past it only under
 *   the out-of-order cap.
 * - Caps: when a direction's buffer would exceed its cap, the stream moves past its first
 *   hole whether acknowledged or not (gap `flow_ooo_cap`, as gopacket's
 *   MaxBufferedPagesPerConnection: a resource decision); when the global cap is hit the new
 *   out-of-order bytes are dropped (drop `mem_cap`, as Suricata's stream memcap) and their
 *   positions stay a hole.
 * - Every received payload byte is delivered, held, or counted under a TCP_DROP reason;
 *   see tcp-counters.ts for the two balances.
 *
 * Policies:
 * - Overlap: `first` (default, as gopacket and the BSD/Linux receivers for held data) keeps
 *   the bytes that arrived first; `last` keeps the newest, but only for data not yet
 *   delivered: delivered bytes cannot be taken back, so a retransmission of them never
 *   changes the output under either policy. Every overlapping byte is counted in
 *   `overlapBytes`; those that differ from the copy kept in `overlapConflictBytes` (as
 *   Suricata and Zeek). The copy kept is the held out-of-order data, or for delivered data a
 *   per-direction ring of the last `overlapCheckBytes` delivered (allocated at the first
 *   delivery, counted in memUsedBytes, freed at close; all rings together take at most half
 *   of memCapBytes). Delivered bytes older than the ring, or from before a gap, cannot be
 *   compared: counted in overlapBytes and overlapUncheckedBytes only. In-order data always
 *   replaces a snaplen marker; an out-of-order marker keeps its positions (no data was lost:
 *   the bytes are counted).
 * - Client: the sender of the first SYN (a SYN/ACK seen first: its receiver). Picked up
 *   mid-stream (no SYN): the side with the higher port; equal ports: the side with the lower
 *   address (bytewise); equal addresses too: the sender of the first segment.
 * - Offsets: 0 is the byte after the ISN. A direction picked up mid-stream starts at the
 *   first segment carrying data or FIN (pure ACKs do not fix it, so a keep-alive probe does
 *   not); bytes before it are dropped as `before_start`.
 * - Port reuse: a SYN whose ISN differs from the one known for its side (or, for a side
 *   picked up mid-stream, does not precede its first byte) starts a new connection, with
 *   `seqInConn` one higher; a live old connection is closed with reason `reused`. After a
 *   close by both FINs any SYN starts a new connection, the old ISN included. A closed
 *   connection is remembered for `closeTimeoutSec` (TIME_WAIT-like) to absorb retransmissions
 *   and number the next one; one closed by idle timeout is replaced by any later segment.
 *   Numbering restarts at 0 once a 4-tuple is forgotten: consumers naming files by it must
 *   still avoid collisions.
 * - FIN: a direction ends at its FIN; data past it is dropped (`beyond_fin`), a retransmitted
 *   FIN changes nothing. When both directions are complete the connection closes (`fin`);
 *   with holes left it waits `closeTimeoutSec` for retransmissions or ACKs, then closes. A
 *   hole before the FIN (none held) is skipped like any other once acknowledged.
 * - RST: its payload is delivered (as Wireshark shows it), then the connection closes at once
 *   (held data beyond an unacknowledged hole dropped, as at any close). Any RST is accepted
 *   (a passive observer cannot validate its sequence number). A RST without payload for an
 *   unknown 4-tuple creates nothing (`rstWithoutConn`).
 * - Sequence numbers are raw uint32; offsets are 64-bit, derived by signed 32-bit distance
 *   from the next expected byte, so wrap-around is seamless.
 * - Window (RFC 9293 §3.10.7.4, RFC 7323): data starting more than 2 × W +
 *   OUT_OF_WINDOW_SLACK_BYTES (64 KiB) past the receiver's highest ACK (or the next expected
 *   byte, whichever is further) is dropped as `out_of_window`, W being the largest window the
 *   receiver ever advertised (its SYN's window, or a later one scaled by the shift negotiated
 *   when both SYNs carried the option; assumed 14 when a SYN was not seen and neither is
 *   known to lack it). Generous on purpose: the ACK or window update that allowed the data
 *   may not have been captured, and a GRO/GSO segment may be 64 KiB; only the start of a
 *   segment is checked. The cost: after a capture-loss burst longer than two windows in both
 *   directions, data may be dropped until the receiver's next ACK is seen. No window known
 *   (the receiver sent nothing, or every window field was 0): data more than 2^30 bytes (the
 *   largest window, RFC 7323 §2.3) past the next expected byte is dropped.
 *
 * Handlers must not call back into the reassembler. An exception from a handler propagates
 * (a bug, for the caller's per-batch try/catch): state and counters are consistent up to
 * that event, the rest of that segment is not processed.
 */
import { ConnList } from './conn-list.js';
import { endpointHash, symmetricFlowHash } from './flow-hash.js';
import { CONN_LIST, TCP_DIR, TCP_STATE, TcpConn, type TcpDir, WSCALE_ABSENT, WSCALE_MAX_SHIFT, WSCALE_UNKNOWN } from './tcp-conn.js';
import {
  TCP_CLOSE,
  TCP_DROP,
  TCP_GAP,
  type TcpBalance,
  type TcpCloseReason,
  TcpCounters,
  type TcpGapReason,
  tcpBalance,
} from './tcp-counters.js';
import { StreamAssembler, type TcpHandler } from './tcp-stream.js';
import { durNsec, durSec, NSEC_PER_SEC, tsBefore } from './time.js';

export { TCP_DIR, TCP_STATE, TcpConn, TcpDirStats, type TcpDir, type TcpState } from './tcp-conn.js';
export * from './tcp-counters.js';
export { MAX_AHEAD_BYTES, OOO_SEGMENT_OVERHEAD_BYTES, OUT_OF_WINDOW_SLACK_BYTES, type TcpHandler } from './tcp-stream.js';

/** TCP header flag bits, RFC 9293 §3.1 (CWR/ECE RFC 3168). */
export const TCP_FLAG = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

/**
 * One TCP segment, filled by the caller. Reuse one object: `add()` reads it during the call
 * only, and copies what must outlive the call.
 */
export interface TcpSegmentIn {
  /** Capture time. */
  tsSec: number;
  tsNsec: number;
  /** Addresses as byte views: `addrLen` bytes at `srcOff` and at `dstOff` of `addrBuf`. */
  addrBuf: Buffer;
  srcOff: number;
  dstOff: number;
  addrLen: 4 | 16;
  sport: number;
  dport: number;
  /** Raw 32-bit sequence and acknowledgment numbers. */
  seq: number;
  ack: number;
  /** TCP flags byte (TCP_FLAG). */
  flags: number;
  /** Window field as on the wire (unscaled, 0..65535); 0 everywhere means no window known. */
  window: number;
  /**
   * Shift count of the window-scale option (RFC 7323 §2.2) on a SYN, -1 when the SYN has no
   * such option; read on SYN segments only. Values above 14 are used as 14; anything else
   * (not a number) means unknown, taken as the largest shift.
   */
  wscale: number;
  /** Captured payload bytes (a view; valid during the call only). */
  payload: Buffer;
  /** Payload length per the IP header; >= payload.length, the missing tail was cut by snaplen. */
  payloadLen: number;
}

export const TCP_OVERLAP_POLICY = { FIRST: 'first', LAST: 'last' } as const;
export type TcpOverlapPolicy = (typeof TCP_OVERLAP_POLICY)[keyof typeof TCP_OVERLAP_POLICY];

export interface TcpReassemblerOptions {
  /** Global cap on held out-of-order memory (bytes + per-range overhead). Default 64 MiB. */
  memCapBytes?: number;
  /** Cap on held out-of-order memory of each direction of a connection. Default 1 MiB. */
  perFlowOooCapBytes?: number;
  /** Bytes delivered per direction; later data is counted (`depth`), not delivered. 0 = unlimited (default). */
  perFlowDepthBytes?: number;
  /** Connections tracked at once (closed ones still remembered included); the oldest is evicted. Default 100 000. */
  maxConnections?: number;
  /** A connection without packets for this long (capture time) is closed `idle`. Default 120. */
  idleTimeoutSec?: number;
  /** How long a connection with both FINs waits for missing data, and how long a closed one is remembered. Default 60. */
  closeTimeoutSec?: number;
  /** Which copy wins where received data overlaps data not yet delivered. Default 'first'. */
  overlapPolicy?: TcpOverlapPolicy;
  /**
   * Bytes of the most recently delivered data kept per direction to compare retransmissions
   * with (overlapConflictBytes). Default 4096; 0 disables. Counted in memUsedBytes.
   */
  overlapCheckBytes?: number;
}

export const TCP_REASSEMBLER_DEFAULTS: Readonly<Required<TcpReassemblerOptions>> = {
  memCapBytes: 64 * 1024 * 1024,
  perFlowOooCapBytes: 1024 * 1024,
  perFlowDepthBytes: 0,
  maxConnections: 100_000,
  idleTimeoutSec: 120,
  closeTimeoutSec: 60,
  overlapPolicy: 'first',
  overlapCheckBytes: 4096,
};

function checkNonNegative(name: string, v: number, integer: boolean): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (integer && !Number.isSafeInteger(v))) {
    throw new RangeError(`TcpReassembler option ${name} must be a non-negative ${integer ? 'integer' : 'number'}, got ${String(v)}`);
  }
}

/**
 * TCP reassembler over many connections. See the file comment for the policies.
 * `add()` does not allocate for a segment delivered whole, in order, on a known connection
 * (except at the first delivery of a direction, which allocates its `overlapCheckBytes` copy).
 */
export class TcpReassembler {
  readonly counters: TcpCounters = new TcpCounters();
  readonly options: Readonly<Required<TcpReassemblerOptions>>;
  private readonly handler: TcpHandler;
  private readonly table = new Map<number, TcpConn>();
  private readonly live = new ConnList(CONN_LIST.LIVE);
  private readonly closing = new ConnList(CONN_LIST.CLOSING);
  private readonly closed = new ConnList(CONN_LIST.CLOSED);
  private readonly stream: StreamAssembler;
  private readonly maxConns: number;
  private readonly idleSec: number;
  private readonly idleNsec: number;
  private readonly closeSec: number;
  private readonly closeNsec: number;
  private nextId = 1;
  private haveTime = false;
  private latestSec = 0;
  private latestNsec = 0;
  /** Σ nextOff of both directions of forgotten connections (for the stream balance). */
  private retiredStreamBytes = 0;
  /** Address words of the current segment: source 0..3, destination 4..7. */
  private readonly w: [number, number, number, number, number, number, number, number] = [0, 0, 0, 0, 0, 0, 0, 0];
  /** Direction of the current segment on the connection found or created. */
  private dir: TcpDir = TCP_DIR.C2S;

  constructor(handler: TcpHandler, options: TcpReassemblerOptions = {}) {
    const o: Required<TcpReassemblerOptions> = { ...TCP_REASSEMBLER_DEFAULTS, ...options };
    checkNonNegative('memCapBytes', o.memCapBytes, true);
    checkNonNegative('perFlowOooCapBytes', o.perFlowOooCapBytes, true);
    checkNonNegative('perFlowDepthBytes', o.perFlowDepthBytes, true);
    checkNonNegative('maxConnections', o.maxConnections, true);
    if (o.maxConnections < 1) throw new RangeError('TcpReassembler option maxConnections must be at least 1');
    checkNonNegative('idleTimeoutSec', o.idleTimeoutSec, false);
    checkNonNegative('closeTimeoutSec', o.closeTimeoutSec, false);
    checkNonNegative('overlapCheckBytes', o.overlapCheckBytes, true);
    if (o.overlapPolicy !== 'first' && o.overlapPolicy !== 'last') {
      throw new RangeError(`TcpReassembler option overlapPolicy must be 'first' or 'last', got ${String(o.overlapPolicy)}`);
    }
    this.options = Object.freeze(o);
    this.handler = handler;
    this.stream = new StreamAssembler(handler, this.counters, {
      memCap: o.memCapBytes,
      flowCap: o.perFlowOooCapBytes,
      depth: o.perFlowDepthBytes,
      keepLast: o.overlapPolicy === 'last',
      overlapCheck: o.overlapCheckBytes,
    });
    this.maxConns = o.maxConnections;
    this.idleSec = durSec(o.idleTimeoutSec);
    this.idleNsec = durNsec(o.idleTimeoutSec);
    this.closeSec = durSec(o.closeTimeoutSec);
    this.closeNsec = durNsec(o.closeTimeoutSec);
  }

  /** Connections tracked right now (closed ones still remembered included). */
  get size(): number {
    return this.counters.connsTracked;
  }

  /**
   * Feeds one segment. Reads `seg` during the call only. Also closes connections idle for
   * `idleTimeoutSec` and forgets closed ones after `closeTimeoutSec`, by the latest capture
   * time seen.
   */
  add(seg: TcpSegmentIn): void {
    const c = this.counters;
    c.receivedSegments++;
    this.stream.beginSegment();
    const payLen = seg.payloadLen;
    const capLen = seg.payload.length < payLen ? seg.payload.length : payLen;
    c.receivedBytes += payLen;
    const tsSec = seg.tsSec;
    const tsNsec = seg.tsNsec;
    if (!this.haveTime || tsBefore(this.latestSec, this.latestNsec, tsSec, tsNsec)) {
      this.haveTime = true;
      this.latestSec = tsSec;
      this.latestNsec = tsNsec;
      this.expire();
    }

    const hash = this.hashSegment(seg);
    const flags = seg.flags;
    const isSyn = (flags & TCP_FLAG.SYN) !== 0;
    const isAck = (flags & TCP_FLAG.ACK) !== 0;
    const isRst = (flags & TCP_FLAG.RST) !== 0;
    const isFin = (flags & TCP_FLAG.FIN) !== 0;

    let conn = this.lookup(hash, seg);
    if (conn !== null && conn.list === CONN_LIST.CLOSED && conn.closeReason === TCP_CLOSE.IDLE && isRst && payLen === 0) {
      // A RST for a connection that timed out: nothing to start.
      c.rstWithoutConn++;
      return;
    }
    if (conn !== null && this.startsNewConnection(conn, isSyn, seg.seq)) {
      const seqInConn = conn.seqInConn + 1;
      this.replace(conn);
      conn = this.create(seg, hash, isSyn, isAck, seqInConn);
    } else if (conn === null) {
      if (isRst && payLen === 0) {
        c.rstWithoutConn++;
        return;
      }
      conn = this.create(seg, hash, isSyn, isAck, 0);
    }

    const dir = this.dir;
    if (tsBefore(conn.endSec, conn.endNsec, tsSec, tsNsec)) {
      conn.endSec = tsSec;
      conn.endNsec = tsNsec;
    }
    if (conn.list === CONN_LIST.LIVE) this.live.moveToTail(conn);
    const h = dir === TCP_DIR.C2S ? conn.half0 : conn.half1;
    const peer = dir === TCP_DIR.C2S ? conn.half1 : conn.half0;
    h.stats.packets++;
    h.stats.payloadBytes += payLen;
    // Window advertised by this segment's sender (for the peer's data). A SYN's is never scaled.
    const win = seg.window;
    if (isSyn) {
      if (win > h.synWindow && win <= 0xffff) h.synWindow = win;
      const ws = seg.wscale;
      h.wscale = ws >= 0 ? (ws > WSCALE_MAX_SHIFT ? WSCALE_MAX_SHIFT : Math.floor(ws)) : ws === -1 ? WSCALE_ABSENT : WSCALE_UNKNOWN;
    } else if (isAck && !isRst && win > h.maxWindow && win <= 0xffff) {
      h.maxWindow = win;
    }

    if (conn.list === CONN_LIST.CLOSED) {
      // Remembered after FIN/RST: retransmissions are duplicates, anything new is after_close.
      if (payLen > 0 && h.started) this.stream.data(conn, h, dir, this.stream.offOf(h, isSyn ? (seg.seq + 1) >>> 0 : seg.seq), seg.payload, capLen, payLen, tsSec, tsNsec, true);
      else if (payLen > 0) this.stream.drop(h, TCP_DROP.AFTER_CLOSE, payLen);
      return;
    }

    let off: number;
    if (isSyn) {
      const base = (seg.seq + 1) >>> 0;
      if (!h.started) this.stream.start(h, base);
      if (!h.stats.synSeen) {
        h.stats.synSeen = true;
        h.isn = seg.seq;
      }
      if (isAck && conn.state === TCP_STATE.SYN_SENT) conn.state = TCP_STATE.SYN_RECEIVED;
      off = this.stream.offOf(h, base);
    } else {
      if (!h.started && (payLen > 0 || isFin)) this.stream.start(h, seg.seq);
      off = h.started ? this.stream.offOf(h, seg.seq) : 0;
      if ((conn.state === TCP_STATE.SYN_SENT || conn.state === TCP_STATE.SYN_RECEIVED) && (isAck || payLen > 0)) {
        conn.state = TCP_STATE.ESTABLISHED;
      }
    }
    if (isAck) this.stream.ack(conn, peer, dir === TCP_DIR.C2S ? TCP_DIR.S2C : TCP_DIR.C2S, seg.ack);
    if (payLen > 0) this.stream.data(conn, h, dir, off, seg.payload, capLen, payLen, tsSec, tsNsec, false);
    if (isFin) this.stream.fin(conn, h, dir, off + payLen);
    if (isRst) {
      h.stats.rstSeen = true;
      this.close(conn, TCP_CLOSE.RST, TCP_GAP.RST);
      return;
    }
    this.checkDone(conn);
  }

  /**
   * Closes (reason `idle`) every connection without a packet since (tsSec, tsNsec), and
   * finishes (reason `fin`) connections with both FINs waiting for missing data since then.
   * Returns the number of connections closed. add() does this by itself with
   * `idleTimeoutSec`; call this to drive timeouts by another clock of capture time.
   */
  flushOlderThan(tsSec: number, tsNsec: number): number {
    let n = 0;
    for (let h = this.live.head; h !== null && tsBefore(h.endSec, h.endNsec, tsSec, tsNsec); h = this.live.head) {
      this.close(h, TCP_CLOSE.IDLE, TCP_GAP.IDLE);
      n++;
    }
    for (let h = this.closing.head; h !== null; ) {
      const next = h.next;
      if (tsBefore(h.endSec, h.endNsec, tsSec, tsNsec)) {
        this.close(h, TCP_CLOSE.FIN, TCP_GAP.FIN);
        n++;
      }
      h = next;
    }
    return n;
  }

  /**
   * End of input: delivers what can be delivered (held data beyond an unacknowledged hole is
   * dropped, see the file comment), closes every open connection (`flush`, or `fin` when
   * both FINs were seen) in order of creation, and forgets all connections. Counters are kept.
   */
  flushAll(): void {
    const all: TcpConn[] = [];
    for (const list of [this.live, this.closing, this.closed]) {
      for (let h = list.head; h !== null; h = h.next) all.push(h);
    }
    all.sort((a, b) => a.id - b.id);
    for (const conn of all) {
      if (conn.list !== CONN_LIST.CLOSED) {
        this.close(conn, conn.list === CONN_LIST.CLOSING ? TCP_CLOSE.FIN : TCP_CLOSE.FLUSH, TCP_GAP.FLUSH);
      }
      this.forget(conn);
    }
  }

  /** Σ over every direction ever tracked of the stream position reached (delivered + gap). */
  streamBytes(): number {
    let n = this.retiredStreamBytes;
    for (const list of [this.live, this.closing, this.closed]) {
      for (let h = list.head; h !== null; h = h.next) n += h.half0.nextOff + h.half1.nextOff;
    }
    return n;
  }

  /** Both balances of tcp-counters.ts, checked now. */
  balance(): TcpBalance {
    return tcpBalance(this.counters, this.streamBytes());
  }

  /** Calls `fn` for every tracked connection (closed ones still remembered included). */
  forEachConnection(fn: (conn: TcpConn) => void): void {
    for (const list of [this.live, this.closing, this.closed]) {
      for (let h = list.head; h !== null; h = h.next) fn(h);
    }
  }

  // ---- flow table ---------------------------------------------------------------------

  private hashSegment(seg: TcpSegmentIn): number {
    const w = this.w;
    const b = seg.addrBuf;
    if (seg.addrLen === 4) {
      w[0] = b.readUInt32BE(seg.srcOff);
      w[1] = 0;
      w[2] = 0;
      w[3] = 0;
      w[4] = b.readUInt32BE(seg.dstOff);
      w[5] = 0;
      w[6] = 0;
      w[7] = 0;
    } else {
      w[0] = b.readUInt32BE(seg.srcOff);
      w[1] = b.readUInt32BE(seg.srcOff + 4);
      w[2] = b.readUInt32BE(seg.srcOff + 8);
      w[3] = b.readUInt32BE(seg.srcOff + 12);
      w[4] = b.readUInt32BE(seg.dstOff);
      w[5] = b.readUInt32BE(seg.dstOff + 4);
      w[6] = b.readUInt32BE(seg.dstOff + 8);
      w[7] = b.readUInt32BE(seg.dstOff + 12);
    }
    const a = endpointHash(w[0], w[1], w[2], w[3], seg.sport);
    const d = endpointHash(w[4], w[5], w[6], w[7], seg.dport);
    return symmetricFlowHash(a, d, seg.addrLen);
  }

  /** The connection of the current segment, or null; sets this.dir. Does not allocate. */
  private lookup(hash: number, seg: TcpSegmentIn): TcpConn | null {
    const w = this.w;
    const v = seg.addrLen === 4 ? 4 : 6;
    for (let c = this.table.get(hash) ?? null; c !== null; c = c.hashNext) {
      if (c.ipVersion !== v) continue;
      if (
        seg.sport === c.clientPort && seg.dport === c.serverPort &&
        w[0] === c.cw0 && w[1] === c.cw1 && w[2] === c.cw2 && w[3] === c.cw3 &&
        w[4] === c.sw0 && w[5] === c.sw1 && w[6] === c.sw2 && w[7] === c.sw3
      ) {
        this.dir = TCP_DIR.C2S;
        return c;
      }
      if (
        seg.sport === c.serverPort && seg.dport === c.clientPort &&
        w[0] === c.sw0 && w[1] === c.sw1 && w[2] === c.sw2 && w[3] === c.sw3 &&
        w[4] === c.cw0 && w[5] === c.cw1 && w[6] === c.cw2 && w[7] === c.cw3
      ) {
        this.dir = TCP_DIR.S2C;
        return c;
      }
    }
    return null;
  }

  private startsNewConnection(conn: TcpConn, isSyn: boolean, seq: number): boolean {
    const h = this.dir === TCP_DIR.C2S ? conn.half0 : conn.half1;
    if (conn.list === CONN_LIST.CLOSED) {
      if (conn.closeReason === TCP_CLOSE.IDLE) return true;
      if (!isSyn) return false;
      // After both FINs no SYN of the old connection is still in flight (its handshake was
      // done long before): a SYN, even with the old ISN, opens a new one (a client that
      // reuses its port and ISN; tcpflow and tshark see a new connection too). After other
      // closes the same ISN is a retransmission of the old SYN.
      if (conn.closeReason === TCP_CLOSE.FIN) return true;
      return !(h.stats.synSeen && h.isn === seq);
    }
    if (!isSyn) return false;
    if (h.stats.synSeen) return h.isn !== seq;
    if (h.started) return ((seq + 1) >>> 0) !== h.baseSeq;
    return false;
  }

  private create(seg: TcpSegmentIn, hash: number, isSyn: boolean, isAck: boolean, seqInConn: number): TcpConn {
    const c = this.counters;
    while (c.connsTracked >= this.maxConns) this.evictOne();
    const w = this.w;
    let srcIsClient: boolean;
    if (isSyn) srcIsClient = !isAck;
    else if (seg.sport !== seg.dport) srcIsClient = seg.sport > seg.dport;
    else {
      const cmp = seg.addrBuf.compare(seg.addrBuf, seg.dstOff, seg.dstOff + seg.addrLen, seg.srcOff, seg.srcOff + seg.addrLen);
      srcIsClient = cmp <= 0;
    }
    const len = seg.addrLen;
    const addrs = Buffer.allocUnsafe(2 * len);
    const cOff = srcIsClient ? seg.srcOff : seg.dstOff;
    const sOff = srcIsClient ? seg.dstOff : seg.srcOff;
    seg.addrBuf.copy(addrs, 0, cOff, cOff + len);
    seg.addrBuf.copy(addrs, len, sOff, sOff + len);
    const words: [number, number, number, number, number, number, number, number] = srcIsClient
      ? [w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]
      : [w[4], w[5], w[6], w[7], w[0], w[1], w[2], w[3]];
    const state = isSyn ? (isAck ? TCP_STATE.SYN_RECEIVED : TCP_STATE.SYN_SENT) : TCP_STATE.ESTABLISHED;
    const conn = new TcpConn(
      this.nextId++,
      seqInConn,
      len === 4 ? 4 : 6,
      addrs.subarray(0, len),
      addrs.subarray(len),
      srcIsClient ? seg.sport : seg.dport,
      srcIsClient ? seg.dport : seg.sport,
      words,
      hash,
      seg.tsSec,
      seg.tsNsec,
      state,
      !isSyn,
    );
    conn.hashNext = this.table.get(hash) ?? null;
    this.table.set(hash, conn);
    this.live.push(conn);
    c.connsOpened++;
    c.connsTracked++;
    this.dir = srcIsClient ? TCP_DIR.C2S : TCP_DIR.S2C;
    this.handler.onOpen(conn);
    return conn;
  }

  /** The 4-tuple starts a new connection: close the old one if needed, and forget it. */
  private replace(conn: TcpConn): void {
    if (conn.list !== CONN_LIST.CLOSED) this.close(conn, TCP_CLOSE.REUSED, TCP_GAP.REUSED);
    this.counters.connsReused++;
    this.forget(conn);
  }

  /** Makes room for one connection: forget the oldest closed one, else evict the oldest finishing or idle one. */
  private evictOne(): void {
    const closed = this.closed.head;
    if (closed !== null) {
      this.forget(closed);
      return;
    }
    const victim = this.closing.head ?? this.live.head;
    if (victim === null) throw new Error('TcpReassembler bug: table full but no connection to evict');
    this.close(victim, TCP_CLOSE.EVICTED, TCP_GAP.EVICTED);
    this.forget(victim);
  }

  private forget(conn: TcpConn): void {
    const head = this.table.get(conn.hash) ?? null;
    if (head === conn) {
      if (conn.hashNext === null) this.table.delete(conn.hash);
      else this.table.set(conn.hash, conn.hashNext);
    } else {
      for (let p = head; p !== null; p = p.hashNext) {
        if (p.hashNext === conn) {
          p.hashNext = conn.hashNext;
          break;
        }
      }
    }
    conn.hashNext = null;
    if (conn.list === CONN_LIST.LIVE) this.live.remove(conn);
    else if (conn.list === CONN_LIST.CLOSING) this.closing.remove(conn);
    else if (conn.list === CONN_LIST.CLOSED) this.closed.remove(conn);
    this.retiredStreamBytes += conn.half0.nextOff + conn.half1.nextOff;
    this.counters.connsForgotten++;
    this.counters.connsTracked--;
  }

  /** Timeouts by the latest capture time: idle connections, FIN waits, remembered closed ones. */
  private expire(): void {
    let iSec = this.latestSec - this.idleSec;
    let iNsec = this.latestNsec - this.idleNsec;
    if (iNsec < 0) {
      iSec--;
      iNsec += NSEC_PER_SEC;
    }
    let cSec = this.latestSec - this.closeSec;
    let cNsec = this.latestNsec - this.closeNsec;
    if (cNsec < 0) {
      cSec--;
      cNsec += NSEC_PER_SEC;
    }
    for (let h = this.live.head; h !== null && tsBefore(h.endSec, h.endNsec, iSec, iNsec); h = this.live.head) {
      this.close(h, TCP_CLOSE.IDLE, TCP_GAP.IDLE);
    }
    for (let h = this.closing.head; h !== null && tsBefore(h.listSec, h.listNsec, cSec, cNsec); h = this.closing.head) {
      this.close(h, TCP_CLOSE.FIN, TCP_GAP.FIN);
    }
    for (let h = this.closed.head; h !== null && tsBefore(h.listSec, h.listNsec, cSec, cNsec); h = this.closed.head) {
      this.forget(h);
    }
  }

  private checkDone(conn: TcpConn): void {
    const h0 = conn.half0;
    const h1 = conn.half1;
    if (h0.finOff < 0 || h1.finOff < 0) return;
    if (this.stream.halfDone(h0) && this.stream.halfDone(h1)) {
      this.close(conn, TCP_CLOSE.FIN, TCP_GAP.FIN);
    } else if (conn.list === CONN_LIST.LIVE) {
      this.live.remove(conn);
      conn.listSec = this.latestSec;
      conn.listNsec = this.latestNsec;
      this.closing.push(conn);
      conn.state = TCP_STATE.CLOSING;
    }
  }

  /** Delivers what is held, reports holes, calls onClose; the connection is then remembered as closed. */
  private close(conn: TcpConn, reason: TcpCloseReason, gapReason: TcpGapReason): void {
    this.stream.finish(conn, conn.half0, TCP_DIR.C2S, gapReason);
    this.stream.finish(conn, conn.half1, TCP_DIR.S2C, gapReason);
    if (conn.list === CONN_LIST.LIVE) this.live.remove(conn);
    else if (conn.list === CONN_LIST.CLOSING) this.closing.remove(conn);
    conn.listSec = this.latestSec;
    conn.listNsec = this.latestNsec;
    this.closed.push(conn);
    conn.state = TCP_STATE.CLOSED;
    conn.closeReason = reason;
    this.counters.connsClosed[reason]++;
    this.handler.onClose(conn, reason);
  }
}
