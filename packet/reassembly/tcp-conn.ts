/**
 * A TCP connection as the reassembler tracks it (RFC 9293), and its two directions.
 *
 * `TcpConn` and `TcpDirStats` are what handlers and callers read. The fields marked
 * internal belong to the reassembler: read them if useful, never write them.
 */
import type { TcpCloseReason } from './tcp-counters.js';

/** Direction of a segment: client to server, server to client. */
export const TCP_DIR = { C2S: 0, S2C: 1 } as const;
export type TcpDir = (typeof TCP_DIR)[keyof typeof TCP_DIR];

/** Connection state, coarse (what a passive observer can know). */
export const TCP_STATE = {
  /** The client's SYN seen, nothing from the server yet. */
  SYN_SENT: 'syn_sent',
  /** The server's SYN/ACK seen. */
  SYN_RECEIVED: 'syn_received',
  /** Handshake done, or picked up mid-stream. */
  ESTABLISHED: 'established',
  /** One side sent FIN. */
  FIN_WAIT: 'fin_wait',
  /** Both sides sent FIN; waiting (up to closeTimeoutSec) for holes to be filled. */
  CLOSING: 'closing',
  /** onClose has been called. */
  CLOSED: 'closed',
} as const;
export type TcpState = (typeof TCP_STATE)[keyof typeof TCP_STATE];

/** Per-direction counters of one connection. */
export class TcpDirStats {
  /** Segments seen in this direction (pure ACKs included). */
  packets = 0;
  /** Payload bytes received, by the IP header's length. */
  payloadBytes = 0;
  /** Bytes delivered through onData. */
  bytes = 0;
  /** Bytes reported through onGap, and the events. */
  gapBytes = 0;
  gaps = 0;
  /** Received bytes at positions already received (retransmissions, overlaps). */
  overlapBytes = 0;
  /** Of overlapBytes, those whose content differed from the copy kept (held, or recently delivered). */
  overlapConflictBytes = 0;
  /** Of overlapBytes, those that could not be compared (see TcpCounters.overlapUncheckedBytes). */
  overlapUncheckedBytes = 0;
  /** Received bytes dropped under a drop reason other than duplicate (see TCP_DROP). */
  droppedBytes = 0;
  /**
   * Loss estimate that does not trust our own counters (as Zeek's capture-loss): bytes of
   * this direction the other side acknowledged that never reached onData. Gap bytes below
   * the peer's highest ACK are counted when the gap is reported or when a later ACK covers
   * it (the last 4 gaps are remembered); at close, ACKed bytes beyond everything delivered
   * or reported are added. Capped at the depth and at the FIN. An estimate: it includes
   * positions whose bytes were seen but dropped under a cap.
   */
  ackedUnseenBytes = 0;
  synSeen = false;
  finSeen = false;
  rstSeen = false;
}

/** @internal One out-of-order range held for a direction: data, or a snaplen marker (buf null). */
export class OooSeg {
  off: number;
  end: number;
  /** A copy owned by the reassembler, or null for positions announced but not captured. */
  buf: Buffer | null;
  tsSec: number;
  tsNsec: number;
  constructor(off: number, end: number, buf: Buffer | null, tsSec: number, tsNsec: number) {
    this.off = off;
    this.end = end;
    this.buf = buf;
    this.tsSec = tsSec;
    this.tsNsec = tsNsec;
  }
}

/** HalfStream.wscale: the SYN carried no window-scale option. */
export const WSCALE_ABSENT = -1;
/** HalfStream.wscale: no SYN seen from this side (the option is unknown). */
export const WSCALE_UNKNOWN = -2;
/** Largest window-scale shift (RFC 7323 §2.3); larger values are used as 14. */
export const WSCALE_MAX_SHIFT = 14;

/** Entries of HalfStream.gapRing: [start, end, ackCountedTo] each. */
export const GAP_RING_ENTRIES = 4;

/** @internal Reassembly state of one direction. Offsets are 64-bit stream offsets as safe integers. */
export class HalfStream {
  readonly stats: TcpDirStats;
  /** Offset 0 is known (SYN seen, or the first segment with data or FIN). */
  started = false;
  /** Raw ISN when synSeen. */
  isn = 0;
  /** Raw sequence number of offset 0 (or, before `started`, of the first ACK seen for this direction). */
  baseSeq = 0;
  /** Next offset to deliver; everything below was delivered or reported as a gap. */
  nextOff = 0;
  /** Raw sequence number of nextOff. */
  nextSeq = 0;
  /** Offset of the FIN, -1 until seen. */
  finOff = -1;
  /** Held out-of-order ranges: sorted, disjoint, every off >= nextOff. */
  ooo: OooSeg[] = [];
  /** Bytes + per-range overhead held by `ooo`. */
  memUsed = 0;
  /** Highest offset the peer acknowledged (exclusive), -1 when none. */
  ackOff = -1;
  /** An ACK for this direction has been seen (before `started` it set a provisional baseSeq). */
  ackKnown = false;
  /** Recent gaps, for `late` classification and the ACK-based loss estimate; allocated on the first gap. */
  gapRing: Float64Array | null = null;
  gapRingNext = 0;
  /**
   * The last delivered bytes (`overlapCheckBytes`), byte at offset o at index o % length, to
   * compare retransmissions with. Allocated at the first delivery if it fits, freed at close.
   */
  recent: Buffer | null = null;
  /** First offset whose byte `recent` holds (reset past every gap); valid: [max(recentFrom, nextOff - length), nextOff). */
  recentFrom = 0;
  /** Allocation of `recent` was attempted (once per direction). */
  recentTried = false;
  /**
   * Window-scale shift from this direction's sender's SYN (RFC 7323 §2.2): 0..14 (capped),
   * WSCALE_ABSENT when the SYN had no option, WSCALE_UNKNOWN when no SYN was seen.
   */
  wscale: number = WSCALE_UNKNOWN;
  /** Window field of this sender's SYN (never scaled, RFC 7323 §2.2); 0 when none seen. */
  synWindow = 0;
  /** Largest window field (unscaled) this sender advertised in other segments with ACK; 0 when none. */
  maxWindow = 0;

  constructor(stats: TcpDirStats) {
    this.stats = stats;
  }
}

/** List a connection is on: its timer class. */
export const CONN_LIST = { NONE: 0, LIVE: 1, CLOSING: 2, CLOSED: 3 } as const;

/**
 * One TCP connection. Passed to every handler call; stays valid (and keeps its final
 * counters) after onClose, but the reassembler no longer updates it once forgotten.
 */
export class TcpConn {
  /** Unique per reassembler, increasing in order of creation, from 1. */
  readonly id: number;
  /** 0 for the first connection on a 4-tuple, 1, 2, … for later ones while the previous is remembered. */
  readonly seqInConn: number;
  readonly ipVersion: 4 | 6;
  /** Address bytes (4 or 16), copied once per connection. */
  readonly clientAddr: Buffer;
  readonly serverAddr: Buffer;
  readonly clientPort: number;
  readonly serverPort: number;
  /** Capture time of the first packet. */
  readonly startSec: number;
  readonly startNsec: number;
  /** Capture time of the latest packet (the maximum seen). */
  endSec: number;
  endNsec: number;
  state: TcpState;
  closeReason: TcpCloseReason | null = null;
  /** No SYN seen when it was created: picked up mid-stream (client chosen by port, see TcpReassembler). */
  readonly midStream: boolean;
  readonly c2s: TcpDirStats = new TcpDirStats();
  readonly s2c: TcpDirStats = new TcpDirStats();

  /** @internal */
  readonly half0: HalfStream;
  /** @internal */
  readonly half1: HalfStream;
  /** @internal address words (IPv4 uses w0 only) of client (c*) and server (s*) */
  readonly cw0: number;
  readonly cw1: number;
  readonly cw2: number;
  readonly cw3: number;
  readonly sw0: number;
  readonly sw1: number;
  readonly sw2: number;
  readonly sw3: number;
  /** @internal */
  readonly hash: number;
  /** @internal next connection in the same hash bucket */
  hashNext: TcpConn | null = null;
  /** @internal timer list (CONN_LIST) and links */
  list: number = CONN_LIST.NONE;
  prev: TcpConn | null = null;
  next: TcpConn | null = null;
  /** @internal when it entered the CLOSING or CLOSED list */
  listSec = 0;
  listNsec = 0;

  constructor(
    id: number,
    seqInConn: number,
    ipVersion: 4 | 6,
    clientAddr: Buffer,
    serverAddr: Buffer,
    clientPort: number,
    serverPort: number,
    words: readonly [number, number, number, number, number, number, number, number],
    hash: number,
    tsSec: number,
    tsNsec: number,
    state: TcpState,
    midStream: boolean,
  ) {
    this.id = id;
    this.seqInConn = seqInConn;
    this.ipVersion = ipVersion;
    this.clientAddr = clientAddr;
    this.serverAddr = serverAddr;
    this.clientPort = clientPort;
    this.serverPort = serverPort;
    this.cw0 = words[0];
    this.cw1 = words[1];
    this.cw2 = words[2];
    this.cw3 = words[3];
    this.sw0 = words[4];
    this.sw1 = words[5];
    this.sw2 = words[6];
    this.sw3 = words[7];
    this.hash = hash;
    this.startSec = tsSec;
    this.startNsec = tsNsec;
    this.endSec = tsSec;
    this.endNsec = tsNsec;
    this.state = state;
    this.midStream = midStream;
    this.half0 = new HalfStream(this.c2s);
    this.half1 = new HalfStream(this.s2c);
  }

  /** Counters of one direction. */
  stats(dir: TcpDir): TcpDirStats {
    return dir === TCP_DIR.C2S ? this.c2s : this.s2c;
  }
}
