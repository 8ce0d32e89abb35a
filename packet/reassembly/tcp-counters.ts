/**
 * Counters of the TCP reassembler, and the names of every reason a byte is not delivered.
 *
 * Two exact balances hold at every moment (checked by `tcpBalance`):
 *
 *   input space:  receivedBytes == deliveredBytes + bufferedBytes + Σ drops[reason].bytes
 *                 every payload byte handed to `add()` (by the IP header's length, so bytes cut
 *                 by snaplen included) is delivered once, held out of order, or dropped under a
 *                 named reason. After `flushAll()` bufferedBytes is 0.
 *   stream space: streamBytes == deliveredBytes + gapBytes
 *                 every position a stream moved past (Σ over directions of the next expected
 *                 offset) was delivered or reported in an `onGap` event. A gap covers bytes
 *                 that were never captured as well as bytes dropped under a cap, so gapBytes
 *                 is not a term of the input balance.
 *
 * Byte counts are plain numbers (exact up to 2^53).
 */

/** Why received payload bytes were not delivered (label `reason` of the drop counter). */
export const TCP_DROP = {
  /** Positions already delivered or buffered: retransmissions and the losing side of an overlap. */
  DUPLICATE: 'duplicate',
  /** Positions the stream had already moved past as a gap (the data came too late). */
  LATE: 'late',
  /** Not captured: the segment was cut by the snapshot length. */
  SNAPLEN: 'snaplen',
  /** Out-of-order bytes that did not fit under `memCapBytes`. */
  MEM_CAP: 'mem_cap',
  /** Beyond `perFlowDepthBytes` of their direction: counted, never delivered. */
  DEPTH: 'depth',
  /** Before offset 0: before the ISN, or before the first segment seen of a stream picked up mid-way. */
  BEFORE_START: 'before_start',
  /**
   * Starts beyond the receiver's window: past (its highest ACK, or the next expected byte) +
   * 2 × its largest advertised window + OUT_OF_WINDOW_SLACK_BYTES; or, no window known, more
   * than MAX_AHEAD_BYTES (2^30, the largest TCP window, RFC 7323 §2.3) past the next expected byte.
   */
  OUT_OF_WINDOW: 'out_of_window',
  /** Past the FIN of their direction. */
  BEYOND_FIN: 'beyond_fin',
  /** New data on a connection already closed by FIN or RST (kept for `closeTimeoutSec`). */
  AFTER_CLOSE: 'after_close',
  /**
   * Held out-of-order data still beyond a hole at close (FIN, RST, idle, eviction, flush,
   * reuse) that the receiver never acknowledged: nothing shows those bytes were received, so
   * they are not delivered and the hole is not reported as a gap (Wireshark's follow
   * semantics). Its `segments` count is the held ranges dropped.
   */
  UNACKED_BEYOND_HOLE: 'unacked_beyond_hole',
} as const;
export type TcpDropReason = (typeof TCP_DROP)[keyof typeof TCP_DROP];
export const TCP_DROP_REASONS: readonly TcpDropReason[] = Object.values(TCP_DROP);

/**
 * What made a stream move past a hole (the `reason` of an `onGap` event). A hole is never
 * filled silently: it is reported when the stream moves on. A stream moves past a hole only
 * when the receiver acknowledged it (`acked`), under the out-of-order cap, or for snaplen.
 * The close reasons (fin … reused) remain for an acknowledged hole still open at close; as
 * acknowledged holes are skipped when the ACK is seen, they are rare.
 */
export const TCP_GAP = {
  /** The direction's out-of-order buffer hit `perFlowOooCapBytes`; the stream skipped its first hole. */
  FLOW_OOO_CAP: 'flow_ooo_cap',
  /** Bytes the IP header announced but the capture cut (snaplen). */
  SNAPLEN: 'snaplen',
  /**
   * The receiver's ACK moved past the start of a hole (up to held data or a FIN): the bytes
   * were sent and received but not captured (capture loss). Skipped as soon as the ACK is seen.
   */
  ACKED: 'acked',
  /** Closed by FIN with holes left (after waiting `closeTimeoutSec` for retransmissions). */
  FIN: 'fin',
  RST: 'rst',
  IDLE: 'idle',
  EVICTED: 'evicted',
  FLUSH: 'flush',
  /** A new connection (SYN with another ISN) replaced this one on the same 4-tuple. */
  REUSED: 'reused',
} as const;
export type TcpGapReason = (typeof TCP_GAP)[keyof typeof TCP_GAP];
export const TCP_GAP_REASONS: readonly TcpGapReason[] = Object.values(TCP_GAP);

/** Why a connection was closed (the `reason` of `onClose`). */
export const TCP_CLOSE = {
  FIN: 'fin',
  RST: 'rst',
  IDLE: 'idle',
  EVICTED: 'evicted',
  FLUSH: 'flush',
  REUSED: 'reused',
} as const;
export type TcpCloseReason = (typeof TCP_CLOSE)[keyof typeof TCP_CLOSE];
export const TCP_CLOSE_REASONS: readonly TcpCloseReason[] = Object.values(TCP_CLOSE);

/** Bytes and segments dropped under one reason. A segment split over several reasons counts once in each. */
export class TcpDropCount {
  bytes = 0;
  segments = 0;
}

function record<K extends string, V>(keys: readonly K[], make: () => V): Record<K, V> {
  const r = {} as Record<K, V>;
  for (const k of keys) r[k] = make();
  return r;
}

/** Totals across all connections. Mutated in place by the reassembler; read at any time. */
export class TcpCounters {
  /** Segments handed to `add()`. */
  receivedSegments = 0;
  /** Payload bytes handed to `add()`, by the IP header's length (snaplen-cut bytes included). */
  receivedBytes = 0;
  /** Bytes passed to `onData`. */
  deliveredBytes = 0;
  /** Bytes reported in `onGap` events, and the events. */
  gapBytes = 0;
  gapEvents = 0;
  gapBytesByReason: Record<TcpGapReason, number> = record(TCP_GAP_REASONS, () => 0);
  drops: Record<TcpDropReason, TcpDropCount> = record(TCP_DROP_REASONS, () => new TcpDropCount());
  /** Received bytes at positions already received (retransmission or overlap), all connections. */
  overlapBytes = 0;
  /**
   * Of overlapBytes, those whose content differed from the copy kept: held out-of-order data,
   * or the last `overlapCheckBytes` delivered of the direction.
   */
  overlapConflictBytes = 0;
  /**
   * Of overlapBytes, those that could not be compared: delivered longer ago than the kept
   * `overlapCheckBytes` (or before a gap, or with no copy kept), or over a snaplen marker.
   */
  overlapUncheckedBytes = 0;
  /** Σ of the per-direction capture-loss estimate (see TcpDirStats.ackedUnseenBytes). */
  ackedUnseenBytes = 0;
  /** Out-of-order payload bytes held right now, and the ranges holding them (snaplen markers included). */
  bufferedBytes = 0;
  bufferedSegments = 0;
  /**
   * bufferedBytes + OOO_SEGMENT_OVERHEAD_BYTES per held range + overlapCheckMemBytes: what
   * `memCapBytes` bounds.
   */
  memUsedBytes = 0;
  peakMemUsedBytes = 0;
  /** Bytes of the per-direction copies of recently delivered data (`overlapCheckBytes` each), allocated right now. */
  overlapCheckMemBytes = 0;
  /** Directions that got no such copy because it would not fit (see `overlapCheckBytes`). */
  overlapCheckDenied = 0;
  /** Bytes copied into those copies (the tail of each delivery, at most `overlapCheckBytes` each). */
  overlapCheckCopiedBytes = 0;
  /** Copies made to hold out-of-order data (in-order data is delivered as a view, never copied). */
  copies = 0;
  copiedBytes = 0;
  connsOpened = 0;
  connsClosed: Record<TcpCloseReason, number> = record(TCP_CLOSE_REASONS, () => 0);
  /** Closed connections forgotten (after `closeTimeoutSec`, or to make room). */
  connsForgotten = 0;
  /** Connections replaced by a new one on the same 4-tuple (port reuse, or traffic after an idle close). */
  connsReused = 0;
  /** Connections in the table right now (closed ones still remembered included). */
  connsTracked = 0;
  /** RST segments without payload for no known connection: counted, no connection created. */
  rstWithoutConn = 0;
}

/** Σ drops[reason].bytes. */
export function tcpDroppedBytes(c: TcpCounters): number {
  let n = 0;
  for (const r of TCP_DROP_REASONS) n += c.drops[r].bytes;
  return n;
}

/** Both balances of the file comment; `ok` when both hold. `streamBytes` comes from the reassembler. */
export interface TcpBalance {
  received: number;
  delivered: number;
  buffered: number;
  dropped: number;
  gap: number;
  streamBytes: number;
  ok: boolean;
}

export function tcpBalance(c: TcpCounters, streamBytes: number): TcpBalance {
  const dropped = tcpDroppedBytes(c);
  return {
    received: c.receivedBytes,
    delivered: c.deliveredBytes,
    buffered: c.bufferedBytes,
    dropped,
    gap: c.gapBytes,
    streamBytes,
    ok: c.receivedBytes === c.deliveredBytes + c.bufferedBytes + dropped && streamBytes === c.deliveredBytes + c.gapBytes,
  };
}
