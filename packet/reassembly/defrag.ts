/**
 * IPv4 and IPv6 defragmentation: RFC 791 §3.2 (IPv4 fragmentation and reassembly),
 * RFC 8200 §4.5 (IPv6 Fragment header), RFC 5722 (overlapping IPv6 fragments),
 * RFC 6946 (IPv6 atomic fragments).
 *
 * ```
 * IPv6 Fragment header (RFC 8200 §4.5)        IPv4 header bytes 4..7 (RFC 791 §3.1)
 *  0               1               2               3
 * +---------------+---------------+-----------------------+-+-+-+
 * |  Next Header  |   Reserved    |  Fragment Offset (13) |Res|M|   (IPv6)
 * +---------------+---------------+-----------------------+-+-+-+
 * |                       Identification (32)                   |
 * +-------------------------------------------------------------+
 * |        Identification (16)    |Flags|   Fragment Offset (13) |  (IPv4, flags: 0 DF MF)
 * ```
 *
 * The caller decodes the IP header and fills one reused `FragmentIn`; the offset is given
 * in bytes (the header field × 8). Fragments are keyed by (source, destination,
 * identification, protocol) for IPv4 and (source, destination, identification) for IPv6.
 * Held fragments are copied (they must outlive the call) under `maxBytes`, counted exactly
 * as payload bytes + DEFRAG_PIECE_OVERHEAD_BYTES per held piece. Time comes only from capture
 * timestamps: a datagram not complete `timeoutSec` after its first fragment is dropped.
 *
 * Every received fragment byte is delivered in a datagram, held, or dropped under a named
 * reason: receivedBytes == deliveredBytes + heldBytes + Σ drops[reason].bytes (and the same
 * for fragments; a fragment that only duplicated held bytes counts as `duplicate`).
 *
 * Overlaps (policy `first`, default): bytes already held win, as gopacket's ip4defrag keeps
 * the first copy; `last`: the newest bytes win; `drop`: an overlapping fragment discards the
 * whole datagram, as RFC 5722 requires for IPv6 and Linux does for both since 4.19 (an exact
 * duplicate of a held fragment is then ignored, not an overlap). Overlapping bytes are counted
 * in `overlapBytes`, those whose content differs in `overlapConflictBytes`.
 */
import { endpointHash, finishHash, mixWord } from './flow-hash.js';
import { durNsec, durSec, NSEC_PER_SEC, tsBefore } from './time.js';

/** Largest reassembled IPv4 payload: 65535 total length − the minimal 20-byte header (RFC 791). */
export const IPV4_MAX_PAYLOAD_LEN = 65535 - 20;
/** Largest reassembled IPv6 fragmentable part: 65535 payload length − the 8-byte Fragment header (RFC 8200). */
export const IPV6_MAX_PAYLOAD_LEN = 65535 - 8;
/** Charged per held piece on top of its bytes, so 8-byte fragments cannot exhaust memory uncounted. */
export const DEFRAG_PIECE_OVERHEAD_BYTES = 64;

/** One fragment, filled by the caller. Reuse one object: read during `add()` only. */
export interface FragmentIn {
  /** Capture time. */
  tsSec: number;
  tsNsec: number;
  version: 4 | 6;
  /** Identification: 16-bit for IPv4, 32-bit for IPv6. */
  id: number;
  /** Source and destination addresses (4 bytes for IPv4, 16 for IPv6) at srcOff/dstOff of addrBuf. */
  addrBuf: Buffer;
  srcOff: number;
  dstOff: number;
  /** IPv4 protocol, or the Next Header field of the IPv6 Fragment header. */
  protocol: number;
  /** Fragment offset in bytes (the header field × 8). */
  fragOff: number;
  /** The MF (more fragments) flag. */
  moreFragments: boolean;
  /** Captured fragment payload (a view, valid during the call only). */
  payload: Buffer;
  /** Fragment payload length per the IP header; > payload.length when cut by snaplen. */
  payloadLen: number;
}

/** Result of Defragmenter.add(). */
export const DEFRAG_STATUS = {
  /** Held, datagram not complete yet. */
  HELD: 'held',
  /** A datagram is complete: read `payload` and `protocol`. */
  COMPLETE: 'complete',
  /** The fragment (and possibly its datagram) was dropped and counted. */
  DROPPED: 'dropped',
} as const;
export type DefragStatus = (typeof DEFRAG_STATUS)[keyof typeof DEFRAG_STATUS];

export const DEFRAG_DROP = {
  /** Bytes already held (the losing copy of an overlap); a fragment adding nothing counts here too. */
  DUPLICATE: 'duplicate',
  /** Datagram not complete within timeoutSec of its first fragment. */
  TIMEOUT: 'timeout',
  /** Oldest datagram dropped to make room for a new one (maxTrackers). */
  MAX_TRACKERS: 'max_trackers',
  /** Held bytes would exceed maxBytes (oldest datagrams dropped first, then this one). */
  MAX_BYTES: 'max_bytes',
  /** Reassembled size would exceed the largest IP payload (ping of death): the datagram is dropped. */
  TOO_LARGE: 'too_large',
  /**
   * Contradicts what is known: a fragment beyond the known end, a second different last
   * fragment, a last fragment before held data, a non-last fragment whose length is not a
   * multiple of 8 or is 0, an offset not a multiple of 8. The first three drop the datagram.
   */
  INCONSISTENT: 'inconsistent',
  /** Policy `drop`: a fragment overlapped held data; the datagram is dropped (RFC 5722). */
  OVERLAP: 'overlap',
  /** More than maxFragmentsPerDatagram pieces. */
  TOO_MANY_FRAGMENTS: 'too_many_fragments',
  /** The fragment was cut by snaplen: it can never be reassembled. */
  TRUNCATED: 'truncated',
  /** Incomplete at flushAll(). */
  FLUSH: 'flush',
} as const;
export type DefragDropReason = (typeof DEFRAG_DROP)[keyof typeof DEFRAG_DROP];
export const DEFRAG_DROP_REASONS: readonly DefragDropReason[] = Object.values(DEFRAG_DROP);

export class DefragDropCount {
  bytes = 0;
  fragments = 0;
}

export class DefragCounters {
  receivedFragments = 0;
  /** By the IP header's length. */
  receivedBytes = 0;
  /** Datagrams output (atomic/unfragmented ones included), their bytes and fragments. */
  datagrams = 0;
  deliveredBytes = 0;
  deliveredFragments = 0;
  /** Datagrams that were not fragmented (offset 0, no MF), passed through without copying. */
  atomic = 0;
  /** Held right now: bytes, pieces, fragments, datagrams being reassembled. */
  heldBytes = 0;
  heldPieces = 0;
  heldFragments = 0;
  trackers = 0;
  /** heldBytes + DEFRAG_PIECE_OVERHEAD_BYTES per piece: what maxBytes bounds. */
  memUsedBytes = 0;
  peakMemUsedBytes = 0;
  overlapBytes = 0;
  overlapConflictBytes = 0;
  drops: Record<DefragDropReason, DefragDropCount> = (() => {
    const r = {} as Record<DefragDropReason, DefragDropCount>;
    for (const k of DEFRAG_DROP_REASONS) r[k] = new DefragDropCount();
    return r;
  })();
}

export const DEFRAG_OVERLAP_POLICY = { FIRST: 'first', LAST: 'last', DROP: 'drop' } as const;
export type DefragOverlapPolicy = (typeof DEFRAG_OVERLAP_POLICY)[keyof typeof DEFRAG_OVERLAP_POLICY];

export interface DefragmenterOptions {
  /** Datagrams being reassembled at once; the oldest is dropped for a new one. Default 4096. */
  maxTrackers?: number;
  /** Held memory (bytes + per-piece overhead). Default 4 MiB (Linux ipfrag_high_thresh). */
  maxBytes?: number;
  /** A datagram not complete this long after its first fragment is dropped. Default 30 (Linux ipfrag_time). */
  timeoutSec?: number;
  /** Default 'first'. */
  overlapPolicy?: DefragOverlapPolicy;
  /** Pieces held per datagram. Default 256. */
  maxFragmentsPerDatagram?: number;
}

export const DEFRAGMENTER_DEFAULTS: Readonly<Required<DefragmenterOptions>> = {
  maxTrackers: 4096,
  maxBytes: 4 * 1024 * 1024,
  timeoutSec: 30,
  overlapPolicy: 'first',
  maxFragmentsPerDatagram: 256,
};

class FragPiece {
  off: number;
  end: number;
  buf: Buffer;
  constructor(off: number, end: number, buf: Buffer) {
    this.off = off;
    this.end = end;
    this.buf = buf;
  }
}

/** One datagram being reassembled. */
class FragTracker {
  readonly version: number;
  readonly id: number;
  readonly protocol: number;
  readonly w: Uint32Array;
  readonly hash: number;
  readonly firstSec: number;
  readonly firstNsec: number;
  hashNext: FragTracker | null = null;
  prev: FragTracker | null = null;
  next: FragTracker | null = null;
  /** Sorted, disjoint. */
  pieces: FragPiece[] = [];
  /** Total length once the last fragment (MF=0) is seen, else -1. */
  end = -1;
  /** Bytes held (Σ piece lengths) and fragments absorbed. */
  held = 0;
  fragments = 0;
  /** Protocol / Next Header of the offset-0 fragment, -1 until seen. */
  protocolOut = -1;

  constructor(version: number, id: number, protocol: number, w: Uint32Array, hash: number, tsSec: number, tsNsec: number) {
    this.version = version;
    this.id = id;
    this.protocol = protocol;
    this.w = w;
    this.hash = hash;
    this.firstSec = tsSec;
    this.firstNsec = tsNsec;
  }
}

function checkOpt(name: string, v: number, integer: boolean, min: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (integer && !Number.isSafeInteger(v))) {
    throw new RangeError(`Defragmenter option ${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got ${String(v)}`);
  }
}

/**
 * IPv4/IPv6 defragmenter. After `add()` returns COMPLETE, `payload` (owned by the
 * defragmenter, valid until the next call) holds the reassembled L4 payload — for IPv6 the
 * fragmentable part, which may start with further extension headers — and `protocol` the
 * protocol / Next Header of the offset-0 fragment.
 */
export class Defragmenter {
  readonly counters: DefragCounters = new DefragCounters();
  readonly options: Readonly<Required<DefragmenterOptions>>;
  /** The last completed datagram (see the class comment). Empty until one completes. */
  payload: Buffer;
  protocol = -1;
  /** Fragments in the last completed datagram. */
  fragments = 0;
  private readonly out: Buffer = Buffer.allocUnsafe(65536);
  private readonly table = new Map<number, FragTracker>();
  private head: FragTracker | null = null;
  private tail: FragTracker | null = null;
  private readonly policy: DefragOverlapPolicy;
  private readonly tSec: number;
  private readonly tNsec: number;
  private haveTime = false;
  private latestSec = 0;
  private latestNsec = 0;
  private readonly w = new Uint32Array(8);

  constructor(options: DefragmenterOptions = {}) {
    const o: Required<DefragmenterOptions> = { ...DEFRAGMENTER_DEFAULTS, ...options };
    checkOpt('maxTrackers', o.maxTrackers, true, 1);
    checkOpt('maxBytes', o.maxBytes, true, 0);
    checkOpt('timeoutSec', o.timeoutSec, false, 0);
    checkOpt('maxFragmentsPerDatagram', o.maxFragmentsPerDatagram, true, 1);
    if (o.overlapPolicy !== 'first' && o.overlapPolicy !== 'last' && o.overlapPolicy !== 'drop') {
      throw new RangeError(`Defragmenter option overlapPolicy must be 'first', 'last' or 'drop', got ${String(o.overlapPolicy)}`);
    }
    this.options = Object.freeze(o);
    this.policy = o.overlapPolicy;
    this.tSec = durSec(o.timeoutSec);
    this.tNsec = durNsec(o.timeoutSec);
    this.payload = this.out.subarray(0, 0);
  }

  /** Datagrams being reassembled. */
  get size(): number {
    return this.counters.trackers;
  }

  /**
   * Feeds one fragment (or an unfragmented datagram: offset 0 without MF is returned as is,
   * RFC 6946). Also drops datagrams older than timeoutSec by the latest capture time seen.
   */
  add(f: FragmentIn): DefragStatus {
    const c = this.counters;
    const len = f.payloadLen;
    c.receivedFragments++;
    c.receivedBytes += len;
    if (!this.haveTime || tsBefore(this.latestSec, this.latestNsec, f.tsSec, f.tsNsec)) {
      this.haveTime = true;
      this.latestSec = f.tsSec;
      this.latestNsec = f.tsNsec;
      let sec = f.tsSec - this.tSec;
      let nsec = f.tsNsec - this.tNsec;
      if (nsec < 0) {
        sec--;
        nsec += NSEC_PER_SEC;
      }
      this.flushOlderThan(sec, nsec);
    }
    if (f.payload.length < len) return this.dropFragment(DEFRAG_DROP.TRUNCATED, len);
    const start = f.fragOff;
    const end = start + len;
    if (start === 0 && !f.moreFragments) {
      this.payload = f.payload.length === len ? f.payload : f.payload.subarray(0, len);
      this.protocol = f.protocol;
      this.fragments = 1;
      c.datagrams++;
      c.atomic++;
      c.deliveredBytes += len;
      c.deliveredFragments++;
      return DEFRAG_STATUS.COMPLETE;
    }
    if (start % 8 !== 0 || (f.moreFragments && (len === 0 || len % 8 !== 0))) {
      return this.dropFragment(DEFRAG_DROP.INCONSISTENT, len);
    }

    const hash = this.hashKey(f);
    let t = this.lookup(hash, f);
    if (end > (f.version === 4 ? IPV4_MAX_PAYLOAD_LEN : IPV6_MAX_PAYLOAD_LEN)) {
      if (t !== null) this.dropTracker(t, DEFRAG_DROP.TOO_LARGE);
      return this.dropFragment(DEFRAG_DROP.TOO_LARGE, len);
    }
    if (t !== null) {
      const last = t.pieces[t.pieces.length - 1];
      if (
        (!f.moreFragments && t.end >= 0 && t.end !== end) ||
        (!f.moreFragments && last !== undefined && last.end > end) ||
        (f.moreFragments && t.end >= 0 && end > t.end)
      ) {
        this.dropTracker(t, DEFRAG_DROP.INCONSISTENT);
        return this.dropFragment(DEFRAG_DROP.INCONSISTENT, len);
      }
    } else {
      while (c.trackers >= this.options.maxTrackers && this.head !== null) this.dropTracker(this.head, DEFRAG_DROP.MAX_TRACKERS);
      t = this.create(hash, f);
    }

    // Overlaps with held pieces.
    const payload = f.payload;
    let newBytes = 0;
    let newPieces = 0;
    let overlapped = 0;
    let exactDuplicate = false;
    {
      let cur = start;
      let i = this.firstEndingAfter(t.pieces, start);
      while (cur < end) {
        const p = t.pieces[i];
        if (p === undefined || p.off >= end || p.off > cur) {
          const stop = p === undefined || p.off >= end ? end : p.off;
          newBytes += stop - cur;
          newPieces++;
          cur = stop;
        } else {
          const ovEnd = p.end < end ? p.end : end;
          overlapped += ovEnd - cur;
          if (p.off === start && p.end === end && payload.compare(p.buf, 0, len, 0, len) === 0) exactDuplicate = true;
          cur = ovEnd;
          i++;
        }
      }
    }
    if (overlapped > 0 && this.policy === DEFRAG_OVERLAP_POLICY.DROP) {
      c.overlapBytes += overlapped;
      if (exactDuplicate) return this.dropFragment(DEFRAG_DROP.DUPLICATE, len);
      this.countConflicts(t, payload, start, end);
      this.dropTracker(t, DEFRAG_DROP.OVERLAP);
      return this.dropFragment(DEFRAG_DROP.OVERLAP, len);
    }
    if (t.pieces.length + newPieces > this.options.maxFragmentsPerDatagram) {
      this.dropTracker(t, DEFRAG_DROP.TOO_MANY_FRAGMENTS);
      return this.dropFragment(DEFRAG_DROP.TOO_MANY_FRAGMENTS, len);
    }
    const charge = newBytes + newPieces * DEFRAG_PIECE_OVERHEAD_BYTES;
    const maxBytes = this.options.maxBytes;
    if (this.trackerCost(t) + charge > maxBytes) {
      // This datagram alone would not fit: drop it rather than everything else.
      this.dropTracker(t, DEFRAG_DROP.MAX_BYTES);
      return this.dropFragment(DEFRAG_DROP.MAX_BYTES, len);
    }
    while (c.memUsedBytes + charge > maxBytes) {
      // Oldest other datagrams first.
      const victim = this.head === t ? t.next : this.head;
      if (victim === null) break;
      this.dropTracker(victim, DEFRAG_DROP.MAX_BYTES);
    }

    // Commit.
    if (overlapped > 0) {
      c.overlapBytes += overlapped;
      this.countConflicts(t, payload, start, end);
      this.countDrop(DEFRAG_DROP.DUPLICATE, overlapped, newBytes === 0 && this.policy === DEFRAG_OVERLAP_POLICY.FIRST ? 1 : 0);
    }
    if (newBytes === 0 && overlapped > 0 && this.policy === DEFRAG_OVERLAP_POLICY.FIRST) {
      // Nothing new: the whole fragment was a duplicate (counted above). An empty last
      // fragment (no payload, M clear) overlaps nothing: it is held below as a fragment of
      // 0 bytes that sets the datagram's end, as with the other policies.
      if (!f.moreFragments) t.end = end;
      return this.maybeComplete(t);
    }
    {
      let cur = start;
      let i = this.firstEndingAfter(t.pieces, start);
      while (cur < end) {
        const p = t.pieces[i];
        if (p === undefined || p.off >= end || p.off > cur) {
          const stop = p === undefined || p.off >= end ? end : p.off;
          const copy = Buffer.allocUnsafe(stop - cur);
          payload.copy(copy, 0, cur - start, stop - start);
          t.pieces.splice(i, 0, new FragPiece(cur, stop, copy));
          i++;
          cur = stop;
        } else {
          const ovEnd = p.end < end ? p.end : end;
          if (this.policy === DEFRAG_OVERLAP_POLICY.LAST) payload.copy(p.buf, cur - p.off, cur - start, ovEnd - start);
          cur = ovEnd;
          i++;
        }
      }
    }
    t.held += newBytes;
    t.fragments++;
    c.heldBytes += newBytes;
    c.heldPieces += newPieces;
    c.heldFragments++;
    c.memUsedBytes += charge;
    if (c.memUsedBytes > c.peakMemUsedBytes) c.peakMemUsedBytes = c.memUsedBytes;
    if (!f.moreFragments) t.end = end;
    if (start === 0 && (t.protocolOut < 0 || this.policy === DEFRAG_OVERLAP_POLICY.LAST)) t.protocolOut = f.protocol;
    return this.maybeComplete(t);
  }

  /** Drops (reason `timeout`) every datagram whose first fragment is older than (tsSec, tsNsec). Returns how many. */
  flushOlderThan(tsSec: number, tsNsec: number): number {
    let n = 0;
    for (let t = this.head; t !== null && tsBefore(t.firstSec, t.firstNsec, tsSec, tsNsec); t = this.head) {
      this.dropTracker(t, DEFRAG_DROP.TIMEOUT);
      n++;
    }
    return n;
  }

  /** End of input: drops (reason `flush`) every incomplete datagram. Returns how many. */
  flushAll(): number {
    let n = 0;
    while (this.head !== null) {
      this.dropTracker(this.head, DEFRAG_DROP.FLUSH);
      n++;
    }
    return n;
  }

  // ----

  private hashKey(f: FragmentIn): number {
    const w = this.w;
    const b = f.addrBuf;
    if (f.version === 4) {
      w[0] = b.readUInt32BE(f.srcOff);
      w[4] = b.readUInt32BE(f.dstOff);
      w[1] = w[2] = w[3] = w[5] = w[6] = w[7] = 0;
    } else {
      for (let i = 0; i < 4; i++) {
        w[i] = b.readUInt32BE(f.srcOff + 4 * i);
        w[4 + i] = b.readUInt32BE(f.dstOff + 4 * i);
      }
    }
    let h = endpointHash(w[0]!, w[1]!, w[2]!, w[3]!, f.version);
    h = mixWord(h, endpointHash(w[4]!, w[5]!, w[6]!, w[7]!, f.version === 4 ? f.protocol : 256));
    return finishHash(mixWord(h, f.id));
  }

  private lookup(hash: number, f: FragmentIn): FragTracker | null {
    const w = this.w;
    for (let t = this.table.get(hash) ?? null; t !== null; t = t.hashNext) {
      if (t.version !== f.version || t.id !== f.id) continue;
      if (f.version === 4 && t.protocol !== f.protocol) continue;
      const tw = t.w;
      if (
        tw[0] === w[0] && tw[1] === w[1] && tw[2] === w[2] && tw[3] === w[3] &&
        tw[4] === w[4] && tw[5] === w[5] && tw[6] === w[6] && tw[7] === w[7]
      ) return t;
    }
    return null;
  }

  private create(hash: number, f: FragmentIn): FragTracker {
    const t = new FragTracker(f.version, f.id, f.version === 4 ? f.protocol : -1, Uint32Array.from(this.w), hash, f.tsSec, f.tsNsec);
    t.hashNext = this.table.get(hash) ?? null;
    this.table.set(hash, t);
    t.prev = this.tail;
    if (this.tail !== null) this.tail.next = t;
    else this.head = t;
    this.tail = t;
    this.counters.trackers++;
    return t;
  }

  private remove(t: FragTracker): void {
    const head = this.table.get(t.hash) ?? null;
    if (head === t) {
      if (t.hashNext === null) this.table.delete(t.hash);
      else this.table.set(t.hash, t.hashNext);
    } else {
      for (let p = head; p !== null; p = p.hashNext) {
        if (p.hashNext === t) {
          p.hashNext = t.hashNext;
          break;
        }
      }
    }
    if (t.prev !== null) t.prev.next = t.next;
    else this.head = t.next;
    if (t.next !== null) t.next.prev = t.prev;
    else this.tail = t.prev;
    t.prev = t.next = t.hashNext = null;
    const c = this.counters;
    c.trackers--;
    c.heldBytes -= t.held;
    c.heldPieces -= t.pieces.length;
    c.heldFragments -= t.fragments;
    c.memUsedBytes -= this.trackerCost(t);
    t.pieces = [];
  }

  private trackerCost(t: FragTracker): number {
    return t.held + t.pieces.length * DEFRAG_PIECE_OVERHEAD_BYTES;
  }

  private firstEndingAfter(pieces: readonly FragPiece[], off: number): number {
    let lo = 0;
    let hi = pieces.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (pieces[mid]!.end > off) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  private countConflicts(t: FragTracker, payload: Buffer, start: number, end: number): void {
    let diff = 0;
    for (let i = this.firstEndingAfter(t.pieces, start); i < t.pieces.length; i++) {
      const p = t.pieces[i]!;
      if (p.off >= end) break;
      const lo = p.off > start ? p.off : start;
      const hi = p.end < end ? p.end : end;
      for (let k = lo; k < hi; k++) if (payload.readUInt8(k - start) !== p.buf.readUInt8(k - p.off)) diff++;
    }
    this.counters.overlapConflictBytes += diff;
  }

  private countDrop(reason: DefragDropReason, bytes: number, fragments: number): void {
    const d = this.counters.drops[reason];
    d.bytes += bytes;
    d.fragments += fragments;
  }

  private dropFragment(reason: DefragDropReason, len: number): DefragStatus {
    this.countDrop(reason, len, 1);
    return DEFRAG_STATUS.DROPPED;
  }

  private dropTracker(t: FragTracker, reason: DefragDropReason): void {
    this.countDrop(reason, t.held, t.fragments);
    this.remove(t);
  }

  private maybeComplete(t: FragTracker): DefragStatus {
    if (t.end < 0 || t.held !== t.end || t.protocolOut < 0) return DEFRAG_STATUS.HELD;
    const out = this.out;
    for (const p of t.pieces) p.buf.copy(out, p.off);
    this.payload = out.subarray(0, t.end);
    this.protocol = t.protocolOut;
    this.fragments = t.fragments;
    const c = this.counters;
    c.datagrams++;
    c.deliveredBytes += t.held;
    c.deliveredFragments += t.fragments;
    this.remove(t); // delivered, not dropped: no drop counted
    return DEFRAG_STATUS.COMPLETE;
  }
}
