/**
 * The byte assembly of one TCP direction (RFC 9293 §3.4, §3.10.7.4): sequence numbers to
 * 64-bit offsets, out-of-order ranges held under the caps, overlap policy, gaps, and the
 * classification of every received byte. Connection tracking (flow table, SYN/FIN/RST
 * state, timers) is in tcp.ts; the policies are described there.
 *
 * @internal Used by TcpReassembler only; the constants and TcpHandler are re-exported by tcp.ts.
 */
import {
  GAP_RING_ENTRIES,
  type HalfStream,
  OooSeg,
  TCP_DIR,
  TCP_STATE,
  type TcpConn,
  type TcpDir,
  WSCALE_ABSENT,
  WSCALE_MAX_SHIFT,
} from './tcp-conn.js';
import {
  type TcpCloseReason,
  type TcpCounters,
  TCP_DROP,
  TCP_GAP,
  type TcpDropReason,
  type TcpGapReason,
} from './tcp-counters.js';

/** The largest TCP window (2^14 scale × 2^16, RFC 7323 §2.3): data further ahead is not plausible. */
export const MAX_AHEAD_BYTES = 2 ** 30;
/**
 * Slack of the window check on top of twice the receiver's largest window: covers tiny
 * windows, one TSO/GSO/GRO super-segment (up to 64 KiB) and rounding of the scaled window.
 */
export const OUT_OF_WINDOW_SLACK_BYTES = 64 * 1024;
/** Charged per held out-of-order range on top of its payload bytes, so tiny segments cannot exhaust memory uncounted. */
export const OOO_SEGMENT_OVERHEAD_BYTES = 64;

/** Events of the reassembler. Called synchronously from add(), flushOlderThan() and flushAll(). */
export interface TcpHandler {
  /** A connection was created (before any other event for it). */
  onOpen(conn: TcpConn): void;
  /**
   * In-order bytes of one direction at stream offset `off` (0 = first byte after the ISN).
   * `data` is valid only during the call (a view of the caller's packet or of a held copy):
   * copy what must outlive it. Offsets of successive calls and gaps are contiguous.
   */
  onData(conn: TcpConn, dir: TcpDir, data: Buffer, off: number, tsSec: number, tsNsec: number): void;
  /** `len` bytes at `off` will never be delivered; the stream continues at off + len. */
  onGap(conn: TcpConn, dir: TcpDir, off: number, len: number, reason: TcpGapReason): void;
  /** The connection is finished; no more events for it. */
  onClose(conn: TcpConn, reason: TcpCloseReason): void;
}

const DROP_BIT: Record<TcpDropReason, number> = {
  duplicate: 1,
  late: 2,
  snaplen: 4,
  mem_cap: 8,
  depth: 16,
  before_start: 32,
  out_of_window: 64,
  beyond_fin: 128,
  after_close: 256,
  unacked_beyond_hole: 512,
};

/** Freed overlap-check copies kept for reuse, in bytes (outside memUsedBytes: a fixed overhead). */
const SPARE_RECENT_BYTES = 256 * 1024;

/** walk() modes. */
const WALK_DRY = 0;
const WALK_COMMIT = 1;
const WALK_OVERLAP_ONLY = 2;

/** Bytes that differ between a[ai, ai + n) and b[bi, bi + n). Does not allocate. */
function conflicts(a: Buffer, ai: number, b: Buffer, bi: number, n: number): number {
  if (a.compare(b, bi, bi + n, ai, ai + n) === 0) return 0;
  let diff = 0;
  for (let k = 0; k < n; k++) if (a.readUInt8(ai + k) !== b.readUInt8(bi + k)) diff++;
  return diff;
}

/** Index of the first range whose end is past `off` (binary search; ranges are sorted and disjoint). */
function firstEndingAfter(ooo: readonly OooSeg[], off: number): number {
  let lo = 0;
  let hi = ooo.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ooo[mid]!.end > off) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export interface StreamLimits {
  memCap: number;
  flowCap: number;
  depth: number;
  keepLast: boolean;
  /** Bytes of recently delivered data kept per direction for overlap comparison; 0: none. */
  overlapCheck: number;
}

/** skipAcked(): no limit beyond the held data and the FIN. */
const NO_LIMIT = -1;

/**
 * Per-direction stream operations over HalfStream state, shared by all connections of one
 * reassembler (it owns the counters and the handler). Invariants kept by every method:
 * held ranges are sorted, disjoint and start past nextOff; nextOff only moves by delivered
 * data or reported gaps; every received byte is counted once.
 */
export class StreamAssembler {
  private readonly handler: TcpHandler;
  private readonly counters: TcpCounters;
  private readonly memCap: number;
  private readonly flowCap: number;
  private readonly depth: number;
  private readonly keepLast: boolean;
  private readonly overlapCheck: number;
  /** Drop reasons already counted for the current segment (segments count once per reason). */
  private dropMask = 0;
  /** Freed copies of recent deliveries, reused (at most SPARE_RECENT_BYTES together). */
  private readonly spareRecent: Buffer[] = [];
  private readonly spareRecentMax: number;

  constructor(handler: TcpHandler, counters: TcpCounters, limits: StreamLimits) {
    this.handler = handler;
    this.counters = counters;
    this.memCap = limits.memCap;
    this.flowCap = limits.flowCap;
    this.depth = limits.depth;
    this.keepLast = limits.keepLast;
    this.overlapCheck = limits.overlapCheck;
    this.spareRecentMax = limits.overlapCheck > 0 ? Math.floor(SPARE_RECENT_BYTES / limits.overlapCheck) : 0;
  }

  /** A new segment starts: its drops count as one segment per reason. */
  beginSegment(): void {
    this.dropMask = 0;
  }

  // ---- sequence space and ACKs ------------------------------------------------------------

  /** Offset 0 of a direction is `base` (raw seq). Converts a provisional ACK position. */
  start(h: HalfStream, base: number): void {
    if (h.ackKnown) {
      // baseSeq was the first ACK seen; ackOff was relative to it.
      const a = h.ackOff + ((h.baseSeq - base) | 0);
      h.ackOff = a < 0 ? -1 : a;
    }
    h.started = true;
    h.baseSeq = base;
    h.nextSeq = base;
    h.nextOff = 0;
  }

  /** Offset of raw sequence number `seq`: signed 32-bit distance from the next expected byte. */
  offOf(h: HalfStream, seq: number): number {
    return h.nextOff + ((seq - h.nextSeq) | 0);
  }

  /**
   * The peer acknowledged `ackSeq` of direction h (`dir`). A hole the ACK moved past is
   * skipped at once (gap `acked`): its bytes were received, the capture lost them.
   */
  ack(conn: TcpConn, h: HalfStream, dir: TcpDir, ackSeq: number): void {
    if (!h.ackKnown) {
      h.ackKnown = true;
      if (!h.started) {
        h.baseSeq = ackSeq;
        h.nextSeq = ackSeq;
        h.ackOff = 0;
        return;
      }
    }
    const off = this.offOf(h, ackSeq);
    const ref = h.ackOff > h.nextOff ? h.ackOff : h.nextOff;
    if (off > h.ackOff && off - ref <= MAX_AHEAD_BYTES) {
      h.ackOff = off;
      if (h.gapRing !== null) this.countAckedGaps(h);
      if (h.ooo.length > 0 || h.finOff > h.nextOff) this.skipAcked(conn, h, dir, NO_LIMIT, TCP_GAP.ACKED);
    }
  }

  /**
   * Moves past the holes the peer acknowledged (gap `reason`): from nextOff up to the ACK,
   * but never past the first thing known beyond the hole (held data, the FIN, or `limit`
   * unless NO_LIMIT), then delivers what became contiguous. An ACK that ends inside a hole
   * skips only the acknowledged part; the rest may still be retransmitted. Returns whether
   * the stream moved.
   */
  skipAcked(conn: TcpConn, h: HalfStream, dir: TcpDir, limit: number, reason: TcpGapReason): boolean {
    let moved = false;
    for (;;) {
      const a = this.ackedEnd(h);
      const next = h.nextOff;
      if (a <= next) return moved;
      const head = h.ooo[0];
      let end = head !== undefined ? head.off : -1;
      if (h.finOff > next && (end < 0 || h.finOff < end)) end = h.finOff;
      if (limit > next && (end < 0 || limit < end)) end = limit;
      if (end <= next) return moved;
      const stop = a < end ? a : end;
      this.gap(conn, h, dir, stop - next, reason);
      moved = true;
      if (stop < end) return moved;
      this.drain(conn, h, dir);
    }
  }

  /**
   * The receiver's window for the data of direction h, in bytes: the largest it advertised
   * (its SYN's window, or a later window scaled by the negotiated shift); 0 when unknown.
   * Scaling applies when both SYNs carried the option (RFC 7323 §2.2); when a SYN is missing
   * and neither is known to lack the option, the largest shift (14) is assumed, so that
   * in-window data is never taken for out of window.
   */
  windowOf(h: HalfStream, peer: HalfStream): number {
    let shift: number;
    if (h.wscale >= 0 && peer.wscale >= 0) shift = peer.wscale;
    else if (h.wscale === WSCALE_ABSENT || peer.wscale === WSCALE_ABSENT) shift = 0;
    else shift = WSCALE_MAX_SHIFT;
    const w = peer.maxWindow * 2 ** shift;
    return w > peer.synWindow ? w : peer.synWindow;
  }

  /**
   * Data of direction h starting at offset s (> nextOff) lies beyond the receiver's window:
   * more than 2 × its largest window + OUT_OF_WINDOW_SLACK_BYTES past its highest ACK (or
   * the next expected byte, whichever is further). Twice the window because the ACK that
   * opened the window may not have been captured; the largest window ever, because the
   * latest advertisement may be missing too. No window known: false (MAX_AHEAD_BYTES applies).
   */
  beyondWindow(conn: TcpConn, h: HalfStream, dir: TcpDir, s: number): boolean {
    const ref = h.ackOff > h.nextOff ? h.ackOff : h.nextOff;
    if (s <= ref) return false;
    const w = this.windowOf(h, dir === TCP_DIR.C2S ? conn.half1 : conn.half0);
    return w > 0 && s - ref > 2 * w + OUT_OF_WINDOW_SLACK_BYTES;
  }

  /** ACKed offset, capped at the FIN and the depth (the ACK of a FIN is one past it). */
  ackedEnd(h: HalfStream): number {
    let a = h.ackOff;
    if (h.finOff >= 0 && a > h.finOff) a = h.finOff;
    if (this.depth > 0 && a > this.depth) a = this.depth;
    return a;
  }

  addAckedUnseen(h: HalfStream, n: number): void {
    h.stats.ackedUnseenBytes += n;
    this.counters.ackedUnseenBytes += n;
  }

  countAckedGaps(h: HalfStream): void {
    const ring = h.gapRing!;
    const a = this.ackedEnd(h);
    for (let i = 0; i < 3 * GAP_RING_ENTRIES; i += 3) {
      const end = ring[i + 1]!;
      const counted = ring[i + 2]!;
      if (counted < end && a > counted) {
        const to = a < end ? a : end;
        this.addAckedUnseen(h, to - counted);
        ring[i + 2] = to;
      }
    }
  }

  fin(conn: TcpConn, h: HalfStream, dir: TcpDir, finOff: number): void {
    h.stats.finSeen = true;
    if (h.finOff >= 0) return; // retransmitted FIN: the first position stands
    // A FIN never ends a direction before data already delivered or held.
    let end = finOff;
    if (end < h.nextOff) end = h.nextOff;
    const last = h.ooo[h.ooo.length - 1];
    if (last !== undefined && end < last.end) end = last.end;
    if (end - h.nextOff > MAX_AHEAD_BYTES) return;
    h.finOff = end;
    if (conn.state !== TCP_STATE.CLOSING) conn.state = TCP_STATE.FIN_WAIT;
    if (h.ackOff > h.nextOff) this.skipAcked(conn, h, dir, NO_LIMIT, TCP_GAP.ACKED);
  }

  halfDone(h: HalfStream): boolean {
    if (h.finOff < 0) return false;
    const end = this.depth > 0 && this.depth < h.finOff ? this.depth : h.finOff;
    return h.nextOff >= end;
  }

  /**
   * The connection closes: acknowledged holes still open become gaps `reason` (rare: they
   * are normally skipped when the ACK is seen); data still held sits beyond a hole no ACK
   * covers and is dropped (`unacked_beyond_hole`), without a gap. Frees the direction's memory.
   */
  finish(conn: TcpConn, h: HalfStream, dir: TcpDir, reason: TcpGapReason): void {
    this.skipAcked(conn, h, dir, NO_LIMIT, reason);
    if (h.ooo.length > 0) this.dropHeld(h, TCP_DROP.UNACKED_BEYOND_HOLE);
    const a = this.ackedEnd(h);
    if (a > h.nextOff) this.addAckedUnseen(h, a - h.nextOff);
    h.gapRing = null;
    if (h.recent !== null) {
      const n = h.recent.length;
      if (this.spareRecent.length < this.spareRecentMax) this.spareRecent.push(h.recent);
      h.recent = null;
      this.counters.overlapCheckMemBytes -= n;
      this.counters.memUsedBytes -= n;
    }
  }

  /** Drops everything held (a marker's bytes were already counted as snaplen); `segments` counts the data ranges. */
  dropHeld(h: HalfStream, reason: TcpDropReason): void {
    let bytes = 0;
    let dataRanges = 0;
    const ranges = h.ooo.length;
    for (const seg of h.ooo) {
      if (seg.buf === null) continue;
      bytes += seg.end - seg.off;
      dataRanges++;
    }
    h.ooo.length = 0;
    this.release(h, bytes, ranges);
    if (bytes === 0) return;
    const d = this.counters.drops[reason];
    d.bytes += bytes;
    d.segments += dataRanges;
    h.stats.droppedBytes += bytes;
  }

  // ---- data -----------------------------------------------------------------------------

  drop(h: HalfStream, reason: TcpDropReason, n: number): void {
    const d = this.counters.drops[reason];
    d.bytes += n;
    const bit = DROP_BIT[reason];
    if ((this.dropMask & bit) === 0) {
      this.dropMask |= bit;
      d.segments++;
    }
    if (reason !== TCP_DROP.DUPLICATE) h.stats.droppedBytes += n;
  }

  /**
   * Payload of `payLen` bytes at stream offset `off`, of which the first `capLen` are in
   * `payload`. Classifies every byte: before_start, beyond_fin, depth, out_of_window,
   * snaplen, then duplicate/late, delivered, held or mem_cap (after_close when `closed`).
   */
  data(
    conn: TcpConn, h: HalfStream, dir: TcpDir, off: number, payload: Buffer, capLen: number, payLen: number,
    tsSec: number, tsNsec: number, closed: boolean,
  ): void {
    let s = off;
    let e = off + payLen;
    if (s < 0) {
      const stop = e < 0 ? e : 0;
      this.drop(h, TCP_DROP.BEFORE_START, stop - s);
      s = stop;
      if (s >= e) return;
    }
    if (h.finOff >= 0 && e > h.finOff) {
      const from = s > h.finOff ? s : h.finOff;
      this.drop(h, TCP_DROP.BEYOND_FIN, e - from);
      e = from;
      if (s >= e) return;
    }
    if (this.depth > 0 && e > this.depth) {
      const from = s > this.depth ? s : this.depth;
      this.drop(h, TCP_DROP.DEPTH, e - from);
      e = from;
      if (s >= e) return;
    }
    if (s - h.nextOff > MAX_AHEAD_BYTES || this.beyondWindow(conn, h, dir, s)) {
      this.drop(h, TCP_DROP.OUT_OF_WINDOW, e - s);
      return;
    }
    let capStop = off + capLen;
    if (capStop > e) capStop = e;
    if (capStop < s) capStop = s;
    if (capStop < e) this.drop(h, TCP_DROP.SNAPLEN, e - capStop);
    if (closed) {
      if (s < capStop && s < h.nextOff) {
        const stop = capStop < h.nextOff ? capStop : h.nextOff;
        this.behind(h, s, stop, null, 0);
        s = stop;
      }
      if (s < capStop) this.drop(h, TCP_DROP.AFTER_CLOSE, capStop - s);
      return;
    }
    if (s < capStop) this.captured(conn, h, dir, payload, off, s, capStop, tsSec, tsNsec);
    if (capStop < e) this.missing(conn, h, dir, capStop, e, tsSec, tsNsec);
  }

  /** Captured bytes [s, e) of `buf` (buf[0] is at offset `base`). */
  captured(
    conn: TcpConn, h: HalfStream, dir: TcpDir, buf: Buffer, base: number, s: number, e: number, tsSec: number, tsNsec: number,
  ): void {
    for (;;) {
      if (s < h.nextOff) {
        const stop = e < h.nextOff ? e : h.nextOff;
        this.behind(h, s, stop, buf, base);
        s = stop;
        if (s >= e) return;
      }
      if (s === h.nextOff) {
        this.inOrder(conn, h, dir, buf, base, s, e, tsSec, tsNsec);
        return;
      }
      // The ACK came before this data (or this data ends a hole it covers): skip, then retry.
      if (h.ackOff > h.nextOff && this.skipAcked(conn, h, dir, s, TCP_GAP.ACKED)) continue;
      const charge = this.walk(h, buf, base, s, e, tsSec, tsNsec, WALK_DRY);
      if (h.memUsed + charge > this.flowCap) {
        // Move past the first hole (up to this segment if it comes first), then retry.
        const head = h.ooo[0];
        const target = head !== undefined && head.off < s ? head.off : s;
        this.gap(conn, h, dir, target - h.nextOff, TCP_GAP.FLOW_OOO_CAP);
        this.drain(conn, h, dir);
        continue;
      }
      if (this.counters.memUsedBytes + charge > this.memCap) {
        const lost = this.walk(h, buf, base, s, e, tsSec, tsNsec, WALK_OVERLAP_ONLY);
        if (lost > 0) this.drop(h, TCP_DROP.MEM_CAP, lost);
        return;
      }
      this.walk(h, buf, base, s, e, tsSec, tsNsec, WALK_COMMIT);
      return;
    }
  }

  /**
   * Bytes [s, e) below nextOff: late where a recent gap was, otherwise duplicates. Duplicates
   * still in the direction's copy of recent deliveries are compared with it (`buf`, where
   * buf[0] is at offset `base`; null: nothing to compare); older ones are unchecked.
   */
  behind(h: HalfStream, s: number, e: number, buf: Buffer | null, base: number): void {
    let late = 0;
    const ring = h.gapRing;
    if (ring !== null) {
      for (let i = 0; i < 3 * GAP_RING_ENTRIES; i += 3) {
        const gs = ring[i]!;
        const ge = ring[i + 1]!;
        const lo = gs > s ? gs : s;
        const hi = ge < e ? ge : e;
        if (hi > lo) late += hi - lo;
      }
    }
    const dup = e - s - late;
    if (late > 0) this.drop(h, TCP_DROP.LATE, late);
    if (dup > 0) {
      h.stats.overlapBytes += dup;
      this.counters.overlapBytes += dup;
      this.drop(h, TCP_DROP.DUPLICATE, dup);
      let checked = 0;
      const r = h.recent;
      if (buf !== null && r !== null) {
        // Positions >= recentFrom are past every gap, so none of [cs, e) is late.
        const size = r.length;
        let cs = h.nextOff - size;
        if (cs < h.recentFrom) cs = h.recentFrom;
        if (cs < s) cs = s;
        let diff = 0;
        for (let o = cs; o < e; ) {
          const pos = o % size;
          const n = size - pos < e - o ? size - pos : e - o;
          diff += conflicts(buf, o - base, r, pos, n);
          checked += n;
          o += n;
        }
        if (diff > 0) this.addConflicts(h, diff);
      }
      if (checked < dup) this.addUnchecked(h, dup - checked);
    }
  }

  addConflicts(h: HalfStream, n: number): void {
    h.stats.overlapConflictBytes += n;
    this.counters.overlapConflictBytes += n;
  }

  addUnchecked(h: HalfStream, n: number): void {
    h.stats.overlapUncheckedBytes += n;
    this.counters.overlapUncheckedBytes += n;
  }

  /** n received bytes overlap held bytes: count them, and those that differ. */
  overlap(h: HalfStream, a: Buffer, ai: number, b: Buffer, bi: number, n: number): void {
    h.stats.overlapBytes += n;
    this.counters.overlapBytes += n;
    const diff = conflicts(a, ai, b, bi, n);
    if (diff > 0) this.addConflicts(h, diff);
    this.drop(h, TCP_DROP.DUPLICATE, n);
  }

  /** In-order bytes [s, e) (s === nextOff): deliver as views, merging with held ranges by the policy. */
  inOrder(
    conn: TcpConn, h: HalfStream, dir: TcpDir, buf: Buffer, base: number, s: number, e: number, tsSec: number, tsNsec: number,
  ): void {
    let cur = s;
    while (cur < e) {
      const seg = h.ooo[0];
      if (seg === undefined || seg.off >= e) {
        this.deliverView(conn, h, dir, buf, cur - base, e - base, tsSec, tsNsec);
        break;
      }
      if (seg.off > cur) {
        this.deliverView(conn, h, dir, buf, cur - base, seg.off - base, tsSec, tsNsec);
        cur = seg.off;
      }
      const ovEnd = seg.end < e ? seg.end : e;
      const n = ovEnd - cur;
      if (seg.buf === null || this.keepLast) {
        if (seg.buf !== null) this.overlap(h, buf, cur - base, seg.buf, 0, n);
        this.deliverView(conn, h, dir, buf, cur - base, ovEnd - base, tsSec, tsNsec);
        this.trimHead(h, seg, n);
        cur = ovEnd;
      } else {
        this.overlap(h, buf, cur - base, seg.buf, 0, n);
        this.popDeliver(conn, h, dir);
        cur = h.nextOff;
      }
    }
    this.drain(conn, h, dir);
  }

  /** Bytes [s, e) announced but not captured. In order: gaps (held data still wins); ahead: markers. */
  missing(conn: TcpConn, h: HalfStream, dir: TcpDir, s: number, e: number, tsSec: number, tsNsec: number): void {
    if (s > h.nextOff && h.ackOff > h.nextOff) this.skipAcked(conn, h, dir, s, TCP_GAP.ACKED);
    if (s < h.nextOff) s = h.nextOff;
    if (s >= e) return;
    if (s === h.nextOff) {
      while (h.nextOff < e) {
        const seg = h.ooo[0];
        if (seg === undefined || seg.off > h.nextOff) {
          const stop = seg === undefined || seg.off >= e ? e : seg.off;
          this.gap(conn, h, dir, stop - h.nextOff, TCP_GAP.SNAPLEN);
        } else {
          this.popDeliver(conn, h, dir);
        }
      }
      this.drain(conn, h, dir);
      return;
    }
    const charge = this.walk(h, null, 0, s, e, tsSec, tsNsec, WALK_DRY);
    if (h.memUsed + charge <= this.flowCap && this.counters.memUsedBytes + charge <= this.memCap) {
      this.walk(h, null, 0, s, e, tsSec, tsNsec, WALK_COMMIT);
    }
    // Otherwise the positions stay a hole, reported as a gap when the stream moves past it.
  }

  /**
   * Out-of-order bytes [s, e) (s > nextOff) against the held ranges. `buf` null: snaplen
   * markers. Returns the charge of the uncovered pieces (bytes + overhead), or in
   * WALK_OVERLAP_ONLY mode their bytes. WALK_DRY changes nothing; WALK_COMMIT counts
   * overlaps and holds copies of the pieces; WALK_OVERLAP_ONLY counts overlaps only.
   */
  walk(
    h: HalfStream, buf: Buffer | null, base: number, s: number, e: number, tsSec: number, tsNsec: number, mode: number,
  ): number {
    const ooo = h.ooo;
    let i = firstEndingAfter(ooo, s);
    let cur = s;
    let charge = 0;
    while (cur < e) {
      const seg = ooo[i];
      if (seg === undefined || seg.off >= e || seg.off > cur) {
        const stop = seg === undefined || seg.off >= e ? e : seg.off;
        const n = stop - cur;
        const bytes = buf === null ? 0 : n;
        charge += mode === WALK_OVERLAP_ONLY ? bytes : bytes + OOO_SEGMENT_OVERHEAD_BYTES;
        if (mode === WALK_COMMIT) {
          let copy: Buffer | null = null;
          if (buf !== null) {
            copy = Buffer.allocUnsafe(n);
            buf.copy(copy, 0, cur - base, stop - base);
            this.counters.copies++;
            this.counters.copiedBytes += n;
          }
          ooo.splice(i, 0, new OooSeg(cur, stop, copy, tsSec, tsNsec));
          this.hold(h, bytes, 1);
          i++;
        }
        cur = stop;
      } else {
        const ovEnd = seg.end < e ? seg.end : e;
        if (mode !== WALK_DRY && buf !== null) {
          const n = ovEnd - cur;
          if (seg.buf === null) {
            // A marker keeps its positions: count the overlap, nothing to compare.
            h.stats.overlapBytes += n;
            this.counters.overlapBytes += n;
            this.addUnchecked(h, n);
            this.drop(h, TCP_DROP.DUPLICATE, n);
          } else {
            this.overlap(h, buf, cur - base, seg.buf, cur - seg.off, n);
            if (this.keepLast) buf.copy(seg.buf, cur - seg.off, cur - base, ovEnd - base);
          }
        }
        cur = ovEnd;
        i++;
      }
    }
    return charge;
  }

  hold(h: HalfStream, bytes: number, ranges: number): void {
    const cost = bytes + ranges * OOO_SEGMENT_OVERHEAD_BYTES;
    const c = this.counters;
    h.memUsed += cost;
    c.memUsedBytes += cost;
    c.bufferedBytes += bytes;
    c.bufferedSegments += ranges;
    if (c.memUsedBytes > c.peakMemUsedBytes) c.peakMemUsedBytes = c.memUsedBytes;
  }

  release(h: HalfStream, bytes: number, ranges: number): void {
    const cost = bytes + ranges * OOO_SEGMENT_OVERHEAD_BYTES;
    const c = this.counters;
    h.memUsed -= cost;
    c.memUsedBytes -= cost;
    c.bufferedBytes -= bytes;
    c.bufferedSegments -= ranges;
  }

  /** Drops the first n positions of the head range `seg` (already delivered from another copy). */
  trimHead(h: HalfStream, seg: OooSeg, n: number): void {
    seg.off += n;
    const gone = seg.off >= seg.end;
    if (seg.buf !== null) {
      seg.buf = gone ? null : seg.buf.subarray(n);
      this.release(h, n, gone ? 1 : 0);
    } else {
      this.release(h, 0, gone ? 1 : 0);
    }
    if (gone) h.ooo.shift();
  }

  deliverView(
    conn: TcpConn, h: HalfStream, dir: TcpDir, buf: Buffer, a: number, b: number, tsSec: number, tsNsec: number,
  ): void {
    const n = b - a;
    if (n <= 0) return;
    const off = h.nextOff;
    if (this.overlapCheck > 0) this.remember(h, buf, a, b, off);
    h.nextOff += n;
    h.nextSeq = (h.nextSeq + n) >>> 0;
    h.stats.bytes += n;
    this.counters.deliveredBytes += n;
    this.handler.onData(conn, dir, a === 0 && b === buf.length ? buf : buf.subarray(a, b), off, tsSec, tsNsec);
  }

  /** Delivers the head range, which starts at nextOff (a marker becomes a snaplen gap). */
  popDeliver(conn: TcpConn, h: HalfStream, dir: TcpDir): void {
    const seg = h.ooo.shift()!;
    if (seg.off !== h.nextOff) throw new Error(`TcpReassembler bug: held range at ${seg.off} delivered at ${h.nextOff}`);
    const n = seg.end - seg.off;
    if (seg.buf === null) {
      this.release(h, 0, 1);
      this.gap(conn, h, dir, n, TCP_GAP.SNAPLEN);
      return;
    }
    this.release(h, n, 1);
    const off = h.nextOff;
    if (this.overlapCheck > 0) this.remember(h, seg.buf, 0, n, off);
    h.nextOff += n;
    h.nextSeq = (h.nextSeq + n) >>> 0;
    h.stats.bytes += n;
    this.counters.deliveredBytes += n;
    this.handler.onData(conn, dir, seg.buf, off, seg.tsSec, seg.tsNsec);
  }

  /**
   * Copies the last bytes of a delivery (buf[a, b) at offset `off`) into the direction's
   * copy of recent deliveries, allocating it at the first delivery when it fits: all copies
   * together take at most half of memCapBytes, so out-of-order data keeps the other half.
   * A direction denied once is not retried (overlapCheckDenied).
   */
  remember(h: HalfStream, buf: Buffer, a: number, b: number, off: number): void {
    let r = h.recent;
    if (r === null) {
      if (h.recentTried) return;
      h.recentTried = true;
      const size = this.overlapCheck;
      const c = this.counters;
      if (c.overlapCheckMemBytes + size > this.memCap / 2 || c.memUsedBytes + size > this.memCap) {
        c.overlapCheckDenied++;
        return;
      }
      // Unpooled, so that the bytes counted are the bytes held (plus a small pool of freed
      // copies, SPARE_RECENT_BYTES, reused: one allocation per direction made the GC work).
      r = h.recent = this.spareRecent.pop() ?? Buffer.allocUnsafeSlow(size);
      h.recentFrom = off;
      c.overlapCheckMemBytes += size;
      c.memUsedBytes += size;
      if (c.memUsedBytes > c.peakMemUsedBytes) c.peakMemUsedBytes = c.memUsedBytes;
    }
    const size = r.length;
    let o = off;
    if (b - a > size) {
      o += b - a - size;
      a = b - size;
    }
    const pos = o % size;
    const first = size - pos < b - a ? size - pos : b - a;
    buf.copy(r, pos, a, a + first);
    if (a + first < b) buf.copy(r, 0, a + first, b);
    this.counters.overlapCheckCopiedBytes += b - a;
  }

  /** Delivers held ranges that have become contiguous. */
  drain(conn: TcpConn, h: HalfStream, dir: TcpDir): void {
    for (let seg = h.ooo[0]; seg !== undefined && seg.off <= h.nextOff; seg = h.ooo[0]) this.popDeliver(conn, h, dir);
  }

  /** Reports `len` bytes at nextOff as never delivered, and moves past them. */
  gap(conn: TcpConn, h: HalfStream, dir: TcpDir, len: number, reason: TcpGapReason): void {
    if (len <= 0) return;
    const off = h.nextOff;
    const end = off + len;
    h.nextOff = end;
    h.recentFrom = end;
    h.nextSeq = (h.nextSeq + len) >>> 0;
    h.stats.gapBytes += len;
    h.stats.gaps++;
    const c = this.counters;
    c.gapBytes += len;
    c.gapEvents++;
    c.gapBytesByReason[reason] += len;
    let ring = h.gapRing;
    if (ring === null) ring = h.gapRing = new Float64Array(3 * GAP_RING_ENTRIES);
    const i = 3 * h.gapRingNext;
    h.gapRingNext = (h.gapRingNext + 1) % GAP_RING_ENTRIES;
    ring[i] = off;
    ring[i + 1] = end;
    let counted = off;
    const a = this.ackedEnd(h);
    if (a > off) {
      counted = a < end ? a : end;
      this.addAckedUnseen(h, counted - off);
    }
    ring[i + 2] = counted;
    this.handler.onGap(conn, dir, off, len, reason);
  }
}
