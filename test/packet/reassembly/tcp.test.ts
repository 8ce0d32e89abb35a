import t, { type Test } from 'tap';
import {
  TCP_DROP_REASONS,
  type TcpCloseReason,
  type TcpCounters,
  type TcpDirStats,
  type TcpDropReason,
  type TcpGapReason,
  TcpReassembler,
  type TcpReassemblerOptions,
} from '../../../packet/reassembly/tcp.js';
import { type Endpoints, handshake, Recorder, runSpecs, type RunResult, type SegSpec, SegmentWriter } from './tcp-harness.js';

// ISNs near 0xFFFFFFFF so that the sequence numbers of almost every case wrap around.
const C_ISN = 0xfffffffd;
const S_ISN = 0xfffffff0;

const OTHER: Endpoints = { clientIp: [10, 0, 0, 3], serverIp: [10, 0, 0, 2], clientPort: 40001, serverPort: 80 };
const THIRD: Endpoints = { clientIp: [10, 0, 0, 4], serverIp: [10, 0, 0, 2], clientPort: 40002, serverPort: 80 };

type Seg = SegSpec & { ep?: Endpoints };

interface ConnExpect {
  c2s?: string;
  s2c?: string;
  close?: TcpCloseReason[];
  seqInConn?: number;
  midStream?: boolean;
  clientPort?: number;
  clientAddr?: number[];
  c2sStats?: Partial<TcpDirStats>;
  s2cStats?: Partial<TcpDirStats>;
}

interface Case {
  name: string;
  cIsn?: number;
  sIsn?: number;
  options?: TcpReassemblerOptions;
  segs: Seg[];
  conns: ConnExpect[];
  drops?: Partial<Record<TcpDropReason, number>>;
  gaps?: Partial<Record<TcpGapReason, number>>;
  counters?: Partial<Pick<TcpCounters, 'overlapBytes' | 'overlapConflictBytes' | 'overlapUncheckedBytes' | 'copies' | 'copiedBytes' | 'rstWithoutConn' | 'connsReused' | 'ackedUnseenBytes' | 'overlapCheckDenied' | 'peakMemUsedBytes'>>;
}

const cases: Case[] = [
  {
    name: 'delivers both directions in order and closes on FIN/FIN, across the 2^32 wrap',
    segs: [
      ...handshake(),
      { from: 'c', seq: 1, ack: 1, data: 'AAAA' },
      { from: 's', seq: 1, ack: 5, data: 'XXXX' },
      { from: 'c', seq: 5, ack: 5, data: 'BBBB' },
      { from: 'c', seq: 9, ack: 5, flags: 'FA' },
      { from: 's', seq: 5, ack: 10, flags: 'FA' },
      { from: 'c', seq: 10, ack: 6, flags: 'A' },
    ],
    conns: [{ c2s: 'AAAABBBB', s2c: 'XXXX', close: ['fin'], seqInConn: 0, midStream: false, clientPort: 40000, c2sStats: { synSeen: true, finSeen: true, packets: 6, ackedUnseenBytes: 0 }, s2cStats: { ackedUnseenBytes: 0, bytes: 4 } }],
    counters: { copies: 0, overlapBytes: 0 },
  },
  {
    name: 'holds an out-of-order segment and delivers it when the hole fills',
    segs: [...handshake(), { from: 'c', seq: 5, data: 'BBBB' }, { from: 'c', seq: 1, data: 'AAAA' }],
    conns: [{ c2s: 'AAAABBBB', s2c: '', close: ['flush'] }],
    counters: { copies: 1, copiedBytes: 4 },
  },
  {
    name: 'reorders three segments whose sequence numbers cross 2^32',
    cIsn: 0xfffffff9,
    segs: [...handshake(), { from: 'c', seq: 9, data: 'CCCC' }, { from: 'c', seq: 5, data: 'BBBB' }, { from: 'c', seq: 1, data: 'AAAA' }],
    conns: [{ c2s: 'AAAABBBBCCCC', close: ['flush'] }],
  },
  {
    name: 'counts a retransmission of delivered data as overlap and delivers it once',
    segs: [...handshake(), { from: 'c', seq: 1, data: 'AAAA' }, { from: 'c', seq: 1, data: 'AAAA' }, { from: 'c', seq: 5, data: 'BBBB' }],
    conns: [{ c2s: 'AAAABBBB', c2sStats: { overlapBytes: 4, overlapConflictBytes: 0 } }],
    drops: { duplicate: 4 },
    counters: { overlapBytes: 4, overlapConflictBytes: 0 },
  },
  {
    name: 'compares a retransmission of delivered data with the copy kept: ZZZZ over delivered AAAA is 4 conflict bytes',
    segs: [...handshake(), { from: 'c', seq: 1, data: 'AAAA' }, { from: 'c', seq: 1, data: 'ZZZZ' }],
    conns: [{ c2s: 'AAAA', c2sStats: { overlapBytes: 4, overlapConflictBytes: 4, overlapUncheckedBytes: 0 } }],
    drops: { duplicate: 4 },
    counters: { overlapBytes: 4, overlapConflictBytes: 4, overlapUncheckedBytes: 0 },
  },
  {
    name: 'counts an overlap of held data with the same bytes, no conflict',
    segs: [...handshake(), { from: 'c', seq: 5, data: 'BBBB' }, { from: 'c', seq: 5, data: 'BBBB' }, { from: 'c', seq: 1, data: 'AAAA' }],
    conns: [{ c2s: 'AAAABBBB' }],
    counters: { overlapBytes: 4, overlapConflictBytes: 0, copies: 1 },
  },
  {
    name: 'policy first: held BBBB wins over a later XXXX, 4 conflict bytes',
    segs: [...handshake(), { from: 'c', seq: 5, data: 'BBBB' }, { from: 'c', seq: 5, data: 'XXXX' }, { from: 'c', seq: 1, data: 'AAAA' }],
    conns: [{ c2s: 'AAAABBBB', c2sStats: { overlapBytes: 4, overlapConflictBytes: 4 } }],
    counters: { overlapBytes: 4, overlapConflictBytes: 4 },
  },
  {
    name: 'policy last: a later XXXX replaces held BBBB, 4 conflict bytes',
    options: { overlapPolicy: 'last' },
    segs: [...handshake(), { from: 'c', seq: 5, data: 'BBBB' }, { from: 'c', seq: 5, data: 'XXXX' }, { from: 'c', seq: 1, data: 'AAAA' }],
    conns: [{ c2s: 'AAAAXXXX' }],
    counters: { overlapBytes: 4, overlapConflictBytes: 4 },
  },
  {
    name: 'policy first: a partial overlap keeps BBBB and adds only the new CCCC',
    segs: [...handshake(), { from: 'c', seq: 5, data: 'BBBB' }, { from: 'c', seq: 7, data: 'CCCCCC' }, { from: 'c', seq: 1, data: 'AAAA' }],
    conns: [{ c2s: 'AAAABBBBCCCC' }],
    counters: { overlapBytes: 2, overlapConflictBytes: 2, copies: 2 },
  },
  {
    name: 'policy last: a partial overlap overwrites the end of BBBB',
    options: { overlapPolicy: 'last' },
    segs: [...handshake(), { from: 'c', seq: 5, data: 'BBBB' }, { from: 'c', seq: 7, data: 'CCCCCC' }, { from: 'c', seq: 1, data: 'AAAA' }],
    conns: [{ c2s: 'AAAABBCCCCCC' }],
    counters: { overlapBytes: 2, overlapConflictBytes: 2 },
  },
  {
    name: 'policy first: an in-order segment overlapping held BBBB does not replace it',
    segs: [...handshake(), { from: 'c', seq: 5, data: 'BBBB' }, { from: 'c', seq: 1, data: 'AAAAXX' }],
    conns: [{ c2s: 'AAAABBBB' }],
    counters: { overlapBytes: 2, overlapConflictBytes: 2 },
  },
  {
    name: 'policy last: an in-order segment overlapping held BBBB replaces its first bytes',
    options: { overlapPolicy: 'last' },
    segs: [...handshake(), { from: 'c', seq: 5, data: 'BBBB' }, { from: 'c', seq: 1, data: 'AAAAXX' }],
    conns: [{ c2s: 'AAAAXXBB' }],
    counters: { overlapBytes: 2, overlapConflictBytes: 2 },
  },
  {
    name: 'a segment spanning two held ranges fills only the holes between them',
    segs: [
      ...handshake(),
      { from: 'c', seq: 5, data: 'BB' },
      { from: 'c', seq: 9, data: 'DD' },
      { from: 'c', seq: 3, data: 'cccccccccc' },
      { from: 'c', seq: 1, data: 'AA' },
    ],
    conns: [{ c2s: 'AAccBBccDDcc' }],
    counters: { overlapBytes: 4, overlapConflictBytes: 4, copies: 5 },
  },
  {
    name: 'delivers the payload of a RST, then closes with reason rst',
    segs: [...handshake(), { from: 'c', seq: 1, data: 'AAAA' }, { from: 'c', seq: 5, ack: 1, flags: 'RA', data: 'BBBB' }],
    conns: [{ c2s: 'AAAABBBB', close: ['rst'], c2sStats: { rstSeen: true } }],
  },
  {
    name: 'a RST closes at once: CCCC held beyond a hole nobody ACKed is dropped (unacked_beyond_hole), no gap',
    segs: [...handshake(), { from: 'c', seq: 1, data: 'AAAA' }, { from: 'c', seq: 9, data: 'CCCC' }, { from: 's', seq: 1, flags: 'R' }],
    conns: [{ c2s: 'AAAA', close: ['rst'], c2sStats: { gapBytes: 0, droppedBytes: 4 } }],
    drops: { unacked_beyond_hole: 4 },
  },
  {
    name: 'a retransmitted FIN with data delivers nothing twice',
    segs: [
      ...handshake(),
      { from: 'c', seq: 1, ack: 1, flags: 'FPA', data: 'AAAA' },
      { from: 'c', seq: 1, ack: 1, flags: 'FPA', data: 'AAAA' },
      { from: 's', seq: 1, ack: 6, flags: 'FA' },
    ],
    conns: [{ c2s: 'AAAA', close: ['fin'], c2sStats: { overlapBytes: 4 } }],
    drops: { duplicate: 4 },
  },
  {
    name: 'both FINs with a hole the server ACKed: the hole is a gap acked, the connection closes fin',
    segs: [
      ...handshake(),
      { from: 'c', seq: 1, data: 'AAAA' },
      { from: 'c', seq: 9, ack: 1, flags: 'FPA', data: 'CCCC' },
      { from: 's', seq: 1, ack: 14, flags: 'FA' },
    ],
    conns: [{ c2s: 'AAAA[gap 4 acked]CCCC', close: ['fin'], c2sStats: { ackedUnseenBytes: 4 } }],
    gaps: { acked: 4 },
  },
  {
    name: 'both FINs with a hole: a retransmission that fills it closes the connection without a gap',
    segs: [
      ...handshake(),
      { from: 'c', seq: 1, data: 'AAAA' },
      { from: 'c', seq: 9, ack: 1, flags: 'FPA', data: 'CCCC' },
      { from: 's', seq: 1, ack: 5, flags: 'FA' },
      { from: 'c', seq: 5, data: 'BBBB' },
    ],
    conns: [{ c2s: 'AAAABBBBCCCC', close: ['fin'], c2sStats: { gapBytes: 0, ackedUnseenBytes: 0 } }],
  },
  {
    name: 'both FINs with a hole nobody ACKed: after closeTimeoutSec of capture time it closes fin, CCCC dropped, no gap',
    segs: [
      { ...handshake(1)[0]!, t: 1 },
      ...handshake().slice(1),
      { from: 'c', seq: 1, data: 'AAAA' },
      { from: 'c', seq: 9, ack: 1, flags: 'FPA', data: 'CCCC' },
      { from: 's', seq: 1, ack: 5, flags: 'FA' },
      { from: 'c', seq: 1, flags: 'S', t: 100, ep: OTHER },
    ],
    conns: [{ c2s: 'AAAA', close: ['fin'], c2sStats: { gapBytes: 0 } }, { close: ['flush'] }],
    drops: { unacked_beyond_hole: 4 },
  },
  {
    name: 'a segment lost before the FIN becomes a gap up to the FIN, counted as acked but unseen',
    segs: [
      ...handshake(),
      { from: 'c', seq: 1, data: 'AAAA' },
      { from: 'c', seq: 9, ack: 1, flags: 'FA' },
      { from: 's', seq: 1, ack: 10, flags: 'FA' },
    ],
    conns: [{ c2s: 'AAAA[gap 4 acked]', close: ['fin'], c2sStats: { ackedUnseenBytes: 4, gapBytes: 4, bytes: 4 } }],
    counters: { ackedUnseenBytes: 4 },
    gaps: { acked: 4 },
  },
  {
    name: 'a FIN beyond a hole nobody ACKed: no gap, nothing dropped',
    segs: [
      ...handshake(),
      { from: 'c', seq: 1, data: 'AAAA' },
      { from: 'c', seq: 9, ack: 1, flags: 'FA' },
      { from: 's', seq: 1, ack: 5, flags: 'FA' },
    ],
    conns: [{ c2s: 'AAAA', close: ['fin'], c2sStats: { gapBytes: 0, droppedBytes: 0 } }],
  },
  {
    name: 'picked up mid-stream: the higher port is the client and offsets start at the first data',
    segs: [
      { from: 's', seq: 100, ack: 50, data: 'XXXX' },
      { from: 'c', seq: 50, ack: 104, data: 'AAAA' },
      { from: 's', seq: 104, ack: 54, data: 'YYYY' },
    ],
    conns: [{ c2s: 'AAAA', s2c: 'XXXXYYYY', midStream: true, clientPort: 40000, close: ['flush'] }],
  },
  {
    name: 'picked up mid-stream with equal ports: the lower address is the client',
    segs: [
      { from: 's', seq: 100, data: 'XXXX', ep: { clientIp: [10, 0, 0, 1], serverIp: [10, 0, 0, 2], clientPort: 5000, serverPort: 5000 } },
      { from: 'c', seq: 50, data: 'AAAA', ep: { clientIp: [10, 0, 0, 1], serverIp: [10, 0, 0, 2], clientPort: 5000, serverPort: 5000 } },
    ],
    conns: [{ c2s: 'AAAA', s2c: 'XXXX', clientAddr: [10, 0, 0, 1], midStream: true }],
  },
  {
    name: 'a SYN/ACK seen first makes its receiver the client',
    segs: [{ from: 's', seq: 0, ack: 1, flags: 'SA' }, { from: 'c', seq: 1, ack: 1, data: 'AAAA' }],
    conns: [{ c2s: 'AAAA', clientPort: 40000, midStream: false }],
  },
  {
    name: 'bytes before the first segment seen mid-stream are dropped as before_start',
    segs: [{ from: 'c', seq: 10, data: 'BBBB' }, { from: 'c', seq: 6, data: 'AAAA' }],
    conns: [{ c2s: 'BBBB' }],
    drops: { before_start: 4 },
  },
  {
    name: 'a pure ACK (keep-alive) does not fix the start of a stream picked up mid-way',
    segs: [{ from: 'c', seq: 9, flags: 'A' }, { from: 'c', seq: 10, data: 'AAAA' }],
    conns: [{ c2s: 'AAAA' }],
  },
  {
    name: 'port reuse after FIN/FIN: a SYN with another ISN starts connection 1 on the same 4-tuple',
    segs: [
      ...handshake(),
      { from: 'c', seq: 1, ack: 1, data: 'AAAA' },
      { from: 'c', seq: 5, ack: 1, flags: 'FA' },
      { from: 's', seq: 1, ack: 6, flags: 'FA' },
      { from: 'c', seq: 6, ack: 2, flags: 'A' },
      { from: 'c', seq: 100000, flags: 'S' },
      { from: 's', seq: 5000, ack: 100001, flags: 'SA' },
      { from: 'c', seq: 100001, ack: 5001, data: 'NNNN' },
    ],
    conns: [
      { c2s: 'AAAA', close: ['fin'], seqInConn: 0 },
      { c2s: 'NNNN', close: ['flush'], seqInConn: 1, midStream: false },
    ],
    counters: { connsReused: 1 },
  },
  {
    name: 'port reuse after FIN/FIN with the same ISN: a new connection, not a retransmitted SYN',
    segs: [
      ...handshake(),
      { from: 'c', seq: 1, ack: 1, data: 'AAAA' },
      { from: 'c', seq: 5, ack: 1, flags: 'FA' },
      { from: 's', seq: 1, ack: 6, flags: 'FA' },
      { from: 'c', seq: 6, ack: 2, flags: 'A' },
      ...handshake(),
      { from: 'c', seq: 1, ack: 1, data: 'BBBB' },
      { from: 's', seq: 1, ack: 5, data: 'XX' },
    ],
    conns: [
      { c2s: 'AAAA', close: ['fin'], seqInConn: 0 },
      { c2s: 'BBBB', s2c: 'XX', close: ['flush'], seqInConn: 1, midStream: false },
    ],
    counters: { connsReused: 1 },
  },
  {
    name: 'after a RST the same ISN is a retransmitted SYN of the old connection',
    segs: [{ from: 'c', seq: 0, flags: 'S' }, { from: 's', seq: 0, ack: 1, flags: 'RA' }, { from: 'c', seq: 0, flags: 'S' }],
    conns: [{ close: ['rst'], seqInConn: 0 }],
  },
  {
    name: 'a SYN with another ISN on a live connection closes it (reused) and starts a new one',
    segs: [
      ...handshake(),
      { from: 'c', seq: 1, data: 'AAAA' },
      { from: 'c', seq: 9, data: 'CCCC' },
      { from: 'c', seq: 100000, flags: 'S' },
      { from: 'c', seq: 100001, data: 'NNNN' },
    ],
    conns: [
      { c2s: 'AAAA', close: ['reused'] },
      { c2s: 'NNNN', seqInConn: 1 },
    ],
    drops: { unacked_beyond_hole: 4 },
  },
  {
    name: 'a retransmitted SYN is the same connection',
    segs: [{ from: 'c', seq: 0, flags: 'S' }, { from: 'c', seq: 0, flags: 'S' }, { from: 's', seq: 0, ack: 1, flags: 'SA' }, { from: 'c', seq: 1, data: 'AAAA' }],
    conns: [{ c2s: 'AAAA', c2sStats: { packets: 3 } }],
  },
  {
    name: 'data past the FIN is dropped as beyond_fin',
    segs: [...handshake(), { from: 'c', seq: 1, flags: 'FA', data: 'AAAA' }, { from: 'c', seq: 6, data: 'BBBB' }],
    conns: [{ c2s: 'AAAA' }],
    drops: { beyond_fin: 4 },
  },
  {
    name: 'an in-order segment cut by snaplen: the missing tail is a gap snaplen',
    segs: [...handshake(), { from: 'c', seq: 1, data: 'AAAA', len: 8 }, { from: 'c', seq: 9, data: 'BBBB' }],
    conns: [{ c2s: 'AAAA[gap 4 snaplen]BBBB' }],
    drops: { snaplen: 4 },
    gaps: { snaplen: 4 },
  },
  {
    name: 'an out-of-order segment cut by snaplen keeps its place; the stream moves on past it',
    segs: [...handshake(), { from: 'c', seq: 5, data: 'BB', len: 8 }, { from: 'c', seq: 1, data: 'AAAA' }, { from: 'c', seq: 13, data: 'CCCC' }],
    conns: [{ c2s: 'AAAABB[gap 6 snaplen]CCCC' }],
    drops: { snaplen: 6 },
  },
  {
    name: 'idle timeout by capture time closes a connection when a later packet arrives',
    segs: [
      { from: 'c', seq: 1, data: 'AAAA', t: 1 },
      { from: 'c', seq: 1, data: 'aaaa', t: 200, ep: OTHER },
    ],
    conns: [{ c2s: 'AAAA', close: ['idle'] }, { c2s: 'aaaa', close: ['flush'] }],
  },
  {
    name: 'a packet after an idle close starts connection 1 on the same 4-tuple, mid-stream',
    segs: [
      { from: 'c', seq: 1, data: 'AAAA', t: 1 },
      { from: 'c', seq: 5, data: 'BBBB', t: 200 },
    ],
    conns: [{ c2s: 'AAAA', close: ['idle'], seqInConn: 0 }, { c2s: 'BBBB', close: ['flush'], seqInConn: 1, midStream: true }],
  },
  {
    name: 'server data never captured: the client ACKs count it as acked but unseen',
    segs: [
      { from: 'c', seq: 1, ack: 1, data: 'AAAA' },
      { from: 'c', seq: 5, ack: 1001, flags: 'A' },
      { from: 'c', seq: 5, ack: 2001, flags: 'A' },
    ],
    conns: [{ c2s: 'AAAA', s2c: '', s2cStats: { ackedUnseenBytes: 2000, packets: 0 } }],
    counters: { ackedUnseenBytes: 2000 },
  },
  {
    name: 'ooo cap: the stream moves past its first hole (gap flow_ooo_cap); the late bytes are dropped as late',
    options: { perFlowOooCapBytes: 2 * (4 + 64) },
    segs: [
      ...handshake(),
      { from: 'c', seq: 1, data: 'AAAA' },
      { from: 'c', seq: 9, data: 'CCCC' },
      { from: 'c', seq: 13, data: 'DDDD' },
      { from: 'c', seq: 17, data: 'EEEE' },
      { from: 'c', seq: 5, data: 'BBBB' },
    ],
    conns: [{ c2s: 'AAAA[gap 4 flow_ooo_cap]CCCCDDDDEEEE' }],
    drops: { late: 4 },
    gaps: { flow_ooo_cap: 4 },
  },
  {
    name: 'ooo cap smaller than one segment: gap up to it, then it is delivered in order',
    options: { perFlowOooCapBytes: 50 },
    segs: [...handshake(), { from: 'c', seq: 1, data: 'AAAA' }, { from: 'c', seq: 9, data: 'CCCC' }],
    conns: [{ c2s: 'AAAA[gap 4 flow_ooo_cap]CCCC' }],
    counters: { copies: 0 },
  },
  {
    name: 'memcap: out-of-order bytes that do not fit are dropped (mem_cap), the other flow keeps its data',
    options: { memCapBytes: 100 },
    segs: [
      { from: 'c', seq: 1, data: 'AAAA' },
      { from: 'c', seq: 9, data: 'CCCC' },
      { from: 'c', seq: 1, data: 'aaaa', ep: OTHER },
      { from: 'c', seq: 9, data: 'cccc', ep: OTHER },
      { from: 'c', seq: 5, data: 'bbbb', ep: OTHER },
    ],
    conns: [{ c2s: 'AAAA' }, { c2s: 'aaaabbbb' }],
    drops: { mem_cap: 4, unacked_beyond_hole: 4 },
  },
  {
    name: 'depth: bytes past perFlowDepthBytes are counted (depth), not delivered; FIN still closes',
    options: { perFlowDepthBytes: 6 },
    segs: [
      ...handshake(),
      { from: 'c', seq: 1, data: 'AAAA' },
      { from: 'c', seq: 5, data: 'BBBB' },
      { from: 'c', seq: 9, flags: 'FA' },
      { from: 's', seq: 1, ack: 10, flags: 'FA' },
    ],
    conns: [{ c2s: 'AAAABB', close: ['fin'], c2sStats: { droppedBytes: 2 } }],
    drops: { depth: 2 },
  },
  {
    name: 'maxConnections: the least recently active connection is evicted',
    options: { maxConnections: 2 },
    segs: [
      { from: 'c', seq: 1, data: 'AAAA' },
      { from: 'c', seq: 9, data: 'CCCC' },
      { from: 'c', seq: 1, data: 'aaaa', ep: OTHER },
      { from: 'c', seq: 1, data: 'xxxx', ep: THIRD },
    ],
    conns: [{ c2s: 'AAAA', close: ['evicted'] }, { c2s: 'aaaa', close: ['flush'] }, { c2s: 'xxxx', close: ['flush'] }],
    drops: { unacked_beyond_hole: 4 },
  },
  {
    name: 'data more than 2^30 bytes ahead is dropped as out_of_window',
    segs: [{ from: 'c', seq: 1, data: 'AAAA' }, { from: 'c', seq: 1 + 2 ** 30 + 100, data: 'ZZZZ' }],
    conns: [{ c2s: 'AAAA' }],
    drops: { out_of_window: 4 },
  },
  {
    name: 'a RST without payload for an unknown 4-tuple creates no connection',
    segs: [{ from: 's', seq: 5, flags: 'R' }],
    conns: [],
    counters: { rstWithoutConn: 1 },
  },
  {
    name: 'data after a RST close is after_close; a retransmission of delivered data is duplicate',
    segs: [
      ...handshake(),
      { from: 'c', seq: 1, data: 'AAAA' },
      { from: 's', seq: 1, flags: 'R' },
      { from: 'c', seq: 1, data: 'AAAA' },
      { from: 'c', seq: 5, data: 'BBBB' },
    ],
    conns: [{ c2s: 'AAAA', close: ['rst'] }],
    drops: { after_close: 4, duplicate: 4 },
  },

  // ---- holes: skipped only once the receiver ACKed them (Wireshark's follow semantics) ----
  {
    name: 'an ACK past a hole skips it (gap acked) and delivers CCCC held after it (as eve-payload-05 tcp-simple-gap2)',
    segs: [...handshake(), { from: 'c', seq: 1, data: 'AAAA' }, { from: 'c', seq: 9, data: 'CCCC' }, { from: 's', seq: 1, ack: 13, flags: 'A' }],
    conns: [{ c2s: 'AAAA[gap 4 acked]CCCC', c2sStats: { bytes: 8, gapBytes: 4, ackedUnseenBytes: 4 } }],
    gaps: { acked: 4 },
  },
  {
    name: 'an ACK only up to the hole start skips nothing: at RST CCCC and DDDD are dropped, no gap (as tcp-rst-unacked-stream-07)',
    segs: [
      ...handshake(),
      { from: 'c', seq: 1, ack: 1, data: 'AAAAAAAAAAAAAAAA' },
      { from: 'c', seq: 33, ack: 1, data: 'CCCCCCCCCCCC' },
      { from: 'c', seq: 45, ack: 1, data: 'DDDDDDDDDDD' },
      { from: 's', seq: 1, ack: 17, flags: 'RA' },
    ],
    conns: [{ c2s: 'AAAAAAAAAAAAAAAA', close: ['rst'], c2sStats: { bytes: 16, gapBytes: 0, droppedBytes: 23 } }],
    drops: { unacked_beyond_hole: 23 },
  },
  {
    name: 'an ACK ending inside a hole skips only the ACKed part; a retransmission fills the rest',
    segs: [
      ...handshake(),
      { from: 'c', seq: 1, data: 'AAAA' },
      { from: 'c', seq: 13, data: 'DDDD' },
      { from: 's', seq: 1, ack: 7, flags: 'A' },
      { from: 'c', seq: 7, data: 'CCCCCC' },
    ],
    conns: [{ c2s: 'AAAA[gap 2 acked]CCCCCCDDDD' }],
    gaps: { acked: 2 },
  },
  {
    name: 'an ACK seen before the out-of-order CCCC: the hole is skipped when CCCC arrives',
    segs: [...handshake(), { from: 'c', seq: 1, data: 'AAAA' }, { from: 's', seq: 1, ack: 13, flags: 'A' }, { from: 'c', seq: 9, data: 'CCCC' }],
    conns: [{ c2s: 'AAAA[gap 4 acked]CCCC' }],
    gaps: { acked: 4 },
  },
  {
    name: 'an ACK over two holes skips both and delivers everything held; the late BBBB is dropped as late',
    segs: [
      ...handshake(),
      { from: 'c', seq: 1, data: 'AAAA' },
      { from: 'c', seq: 9, data: 'CCCC' },
      { from: 'c', seq: 17, data: 'EEEE' },
      { from: 's', seq: 1, ack: 21, flags: 'A' },
      { from: 'c', seq: 5, data: 'BBBB' },
    ],
    conns: [{ c2s: 'AAAA[gap 4 acked]CCCC[gap 4 acked]EEEE' }],
    gaps: { acked: 8 },
    drops: { late: 4 },
  },
  {
    name: 'one-direction capture: at flush, CCCC and DDDD held beyond the unACKed hole are dropped, no gap',
    segs: [{ from: 'c', seq: 1, data: 'AAAA' }, { from: 'c', seq: 9, data: 'CCCC' }, { from: 'c', seq: 13, data: 'DDDD' }],
    conns: [{ c2s: 'AAAA', close: ['flush'], c2sStats: { gapBytes: 0 } }],
    drops: { unacked_beyond_hole: 8 },
  },
  {
    name: 'idle close: CCCC held beyond an unACKed hole is dropped, no gap',
    segs: [
      { from: 'c', seq: 1, data: 'AAAA', t: 1 },
      { from: 'c', seq: 9, data: 'CCCC', t: 2 },
      { from: 'c', seq: 1, data: 'aaaa', t: 200, ep: OTHER },
    ],
    conns: [{ c2s: 'AAAA', close: ['idle'] }, { c2s: 'aaaa', close: ['flush'] }],
    drops: { unacked_beyond_hole: 4 },
  },
  {
    name: 'an ACK past a hole before a held snaplen marker: gap acked, then the marker is a gap snaplen',
    segs: [
      ...handshake(),
      { from: 'c', seq: 1, data: 'AAAA' },
      { from: 'c', seq: 9, data: 'CC', len: 4 },
      { from: 's', seq: 1, ack: 13, flags: 'A' },
    ],
    conns: [{ c2s: 'AAAA[gap 4 acked]CC[gap 2 snaplen]' }],
    gaps: { acked: 4, snaplen: 2 },
    drops: { snaplen: 2 },
  },

  // ---- window ----
  {
    name: 'data 100000 bytes past a 256-byte window is out_of_window: nothing delivered, no gap (as firewall/tcp-session-stream-out-of-window)',
    segs: [
      { from: 'c', seq: 0, flags: 'S', win: 256 },
      { from: 's', seq: 0, ack: 1, flags: 'SA', win: 256 },
      { from: 'c', seq: 1, ack: 1, flags: 'A', win: 256 },
      { from: 'c', seq: 100001, ack: 1, data: 'ZZZZZZZZZZZ', win: 256 },
    ],
    conns: [{ c2s: '', c2sStats: { gapBytes: 0, droppedBytes: 11 } }],
    drops: { out_of_window: 11 },
  },
  {
    name: 'window 256 unscaled: data may start up to 2 × 256 + 64 KiB past the ACK; a byte further is out_of_window',
    segs: [
      { from: 'c', seq: 0, flags: 'S', win: 256 },
      { from: 's', seq: 0, ack: 1, flags: 'SA', win: 256 },
      { from: 'c', seq: 1, ack: 1, flags: 'A' },
      { from: 'c', seq: 1, data: 'AAAA' },
      // Reference: max(ACK offset 0, next offset 4) = 4; limit 4 + 512 + 65536 = 66052.
      { from: 'c', seq: 66049, data: 'BBBB' },
      { from: 'c', seq: 66053, data: 'YYYY' },
      { from: 'c', seq: 66058, data: 'ZZZZ' },
      { from: 's', seq: 1, ack: 66057, flags: 'A', win: 256 },
    ],
    conns: [{ c2s: 'AAAA[gap 66044 acked]BBBBYYYY' }],
    drops: { out_of_window: 4 },
    gaps: { acked: 66044 },
  },
  {
    name: 'window scale on one SYN only: no scaling (RFC 7323 §2.2), data 100000 bytes ahead is out_of_window',
    segs: [
      { from: 'c', seq: 0, flags: 'S', win: 256, wscale: 7 },
      { from: 's', seq: 0, ack: 1, flags: 'SA', win: 256, wscale: -1 },
      { from: 'c', seq: 1, ack: 1, flags: 'A' },
      { from: 's', seq: 1, ack: 1, flags: 'A', win: 256 },
      { from: 'c', seq: 100001, data: 'ZZZZ' },
    ],
    conns: [{ c2s: '' }],
    drops: { out_of_window: 4 },
  },
  {
    name: 'window scale 7 on both SYNs: a window of 256 is 32 KiB, data 100000 bytes ahead is in window (held, then unacked_beyond_hole)',
    segs: [
      { from: 'c', seq: 0, flags: 'S', win: 256, wscale: 7 },
      { from: 's', seq: 0, ack: 1, flags: 'SA', win: 256, wscale: 7 },
      { from: 'c', seq: 1, ack: 1, flags: 'A' },
      { from: 's', seq: 1, ack: 1, flags: 'A', win: 256 },
      { from: 'c', seq: 100001, data: 'BBBB' },
    ],
    conns: [{ c2s: '' }],
    drops: { unacked_beyond_hole: 4 },
  },
  {
    name: 'a window-scale shift above 14 is used as 14: window 1 is 16 KiB, limit 32 KiB + 64 KiB',
    segs: [
      { from: 'c', seq: 0, flags: 'S', win: 256, wscale: 20 },
      { from: 's', seq: 0, ack: 1, flags: 'SA', win: 1, wscale: 20 },
      { from: 'c', seq: 1, ack: 1, flags: 'A' },
      { from: 's', seq: 1, ack: 1, flags: 'A', win: 1 },
      { from: 'c', seq: 98305, data: 'B' },
      { from: 'c', seq: 98306, data: 'ZZZZ' },
    ],
    conns: [{ c2s: '' }],
    drops: { unacked_beyond_hole: 1, out_of_window: 4 },
  },
  {
    name: 'the largest window ever advertised counts: a later zero window does not make in-window data out_of_window',
    segs: [
      { from: 'c', seq: 0, flags: 'S', win: 256 },
      { from: 's', seq: 0, ack: 1, flags: 'SA', win: 256 },
      { from: 'c', seq: 1, ack: 1, flags: 'A' },
      { from: 's', seq: 1, ack: 1, flags: 'A', win: 8192 },
      { from: 's', seq: 1, ack: 1, flags: 'A', win: 0 },
      { from: 'c', seq: 80001, data: 'BBBB' },
    ],
    conns: [{ c2s: '' }],
    drops: { unacked_beyond_hole: 4 },
  },
  {
    name: 'picked up mid-stream (no SYN): the window is taken as scaled by 2^14, window 1 allows 96 KiB ahead',
    segs: [
      { from: 'c', seq: 1, data: 'AAAA' },
      { from: 's', seq: 1, ack: 5, data: 'XXXX', win: 1 },
      // Reference 4; limit 4 + 2 × 16384 + 65536 = 98308.
      { from: 'c', seq: 98309, data: 'BBBB' },
      { from: 'c', seq: 98314, data: 'ZZZZ' },
    ],
    conns: [{ c2s: 'AAAA', s2c: 'XXXX' }],
    drops: { unacked_beyond_hole: 4, out_of_window: 4 },
  },
  {
    name: 'no window known (window fields 0): the 2^30 rule applies',
    segs: [
      { from: 'c', seq: 0, flags: 'S', win: 0 },
      { from: 's', seq: 0, ack: 1, flags: 'SA', win: 0 },
      { from: 'c', seq: 1, ack: 1, flags: 'A', win: 0 },
      { from: 'c', seq: 1000001, data: 'BBBB', win: 0 },
      { from: 'c', seq: 1 + 2 ** 30 + 100, data: 'ZZZZ', win: 0 },
    ],
    conns: [{ c2s: '' }],
    drops: { unacked_beyond_hole: 4, out_of_window: 4 },
  },

  // ---- overlaps with delivered data ----
  {
    name: 'GOOD delivered, then EVIL at the same sequence: 4 conflict bytes, GOOD stays (as eve-overlap-payload-01)',
    segs: [...handshake(), { from: 'c', seq: 1, data: 'GOOD' }, { from: 'c', seq: 1, data: 'EVIL' }],
    conns: [{ c2s: 'GOOD', c2sStats: { overlapBytes: 4, overlapConflictBytes: 4 } }],
    counters: { overlapBytes: 4, overlapConflictBytes: 4, overlapUncheckedBytes: 0 },
  },
  {
    name: "policy last cannot take back delivered data: GOOD stays, EVIL counts 4 conflict bytes",
    options: { overlapPolicy: 'last' },
    segs: [...handshake(), { from: 'c', seq: 1, data: 'GOOD' }, { from: 'c', seq: 1, data: 'EVIL' }],
    conns: [{ c2s: 'GOOD' }],
    counters: { overlapBytes: 4, overlapConflictBytes: 4 },
  },
  {
    name: 'a retransmission of the same delivered bytes is overlap without conflict',
    segs: [...handshake(), { from: 'c', seq: 1, data: 'AAAA' }, { from: 'c', seq: 5, data: 'BBBB' }, { from: 'c', seq: 3, data: 'AABB' }],
    conns: [{ c2s: 'AAAABBBB' }],
    counters: { overlapBytes: 4, overlapConflictBytes: 0, overlapUncheckedBytes: 0 },
  },
  {
    name: 'only the last overlapCheckBytes delivered are compared: 2 older bytes unchecked, 4 conflict bytes over BBBB',
    options: { overlapCheckBytes: 4 },
    segs: [...handshake(), { from: 'c', seq: 1, data: 'AAAA' }, { from: 'c', seq: 5, data: 'BBBB' }, { from: 'c', seq: 3, data: 'ZZZZZZ' }],
    conns: [{ c2s: 'AAAABBBB', c2sStats: { overlapBytes: 6, overlapConflictBytes: 4, overlapUncheckedBytes: 2 } }],
    counters: { overlapBytes: 6, overlapConflictBytes: 4, overlapUncheckedBytes: 2 },
  },
  {
    name: 'the kept copy wraps around: BBxCCy over delivered BBCCCC differs in 2 bytes',
    options: { overlapCheckBytes: 6 },
    segs: [
      ...handshake(),
      { from: 'c', seq: 1, data: 'AAAA' },
      { from: 'c', seq: 5, data: 'BBBB' },
      { from: 'c', seq: 9, data: 'CCCC' },
      { from: 'c', seq: 7, data: 'BBxCCy' },
    ],
    conns: [{ c2s: 'AAAABBBBCCCC' }],
    counters: { overlapBytes: 6, overlapConflictBytes: 2, overlapUncheckedBytes: 0 },
  },
  {
    name: 'a delivery longer than the kept copy keeps its last bytes',
    options: { overlapCheckBytes: 4 },
    segs: [...handshake(), { from: 'c', seq: 1, data: 'AAAABBBBCC' }, { from: 'c', seq: 5, data: 'xxxxxx' }],
    conns: [{ c2s: 'AAAABBBBCC' }],
    counters: { overlapBytes: 6, overlapConflictBytes: 4, overlapUncheckedBytes: 2 },
  },
  {
    name: 'overlapCheckBytes 0: nothing kept, a retransmission of delivered data is unchecked',
    options: { overlapCheckBytes: 0 },
    segs: [...handshake(), { from: 'c', seq: 1, data: 'AAAA' }, { from: 'c', seq: 1, data: 'ZZZZ' }],
    conns: [{ c2s: 'AAAA' }],
    counters: { overlapBytes: 4, overlapConflictBytes: 0, overlapUncheckedBytes: 4, peakMemUsedBytes: 0 },
  },
  {
    name: 'bytes delivered before a gap are not compared (unchecked); bytes after it are',
    segs: [
      ...handshake(),
      { from: 'c', seq: 1, data: 'AAAA' },
      { from: 'c', seq: 9, data: 'CCCC' },
      { from: 's', seq: 1, ack: 13, flags: 'A' },
      { from: 'c', seq: 1, data: 'ZZZZ' },
      { from: 'c', seq: 9, data: 'ZZZZ' },
    ],
    conns: [{ c2s: 'AAAA[gap 4 acked]CCCC' }],
    counters: { overlapBytes: 8, overlapConflictBytes: 4, overlapUncheckedBytes: 4 },
  },
  {
    name: 'a retransmission spanning delivered, missing and held bytes: compared with both copies, fills the hole',
    segs: [...handshake(), { from: 'c', seq: 1, data: 'AAAA' }, { from: 'c', seq: 9, data: 'CCCC' }, { from: 'c', seq: 1, data: 'ZZZZbbbbZZZZ' }],
    conns: [{ c2s: 'AAAAbbbbCCCC' }],
    counters: { overlapBytes: 8, overlapConflictBytes: 8, overlapUncheckedBytes: 0 },
  },
  {
    name: 'an overlap of a held snaplen marker cannot be compared: unchecked',
    segs: [...handshake(), { from: 'c', seq: 5, data: '', len: 4 }, { from: 'c', seq: 5, data: 'BBBB' }, { from: 'c', seq: 1, data: 'AAAA' }],
    conns: [{ c2s: 'AAAA[gap 4 snaplen]' }],
    drops: { snaplen: 4 },
    counters: { overlapBytes: 4, overlapConflictBytes: 0, overlapUncheckedBytes: 4 },
  },
  {
    name: 'the kept copies take at most half of memCapBytes: the second direction gets none (overlapCheckDenied)',
    options: { memCapBytes: 10_000, overlapCheckBytes: 4096 },
    segs: [
      ...handshake(),
      { from: 'c', seq: 1, data: 'AAAA' },
      { from: 's', seq: 1, data: 'XXXX' },
      { from: 'c', seq: 1, data: 'ZZZZ' },
      { from: 's', seq: 1, data: 'ZZZZ' },
    ],
    conns: [{ c2s: 'AAAA', s2c: 'XXXX', c2sStats: { overlapConflictBytes: 4 }, s2cStats: { overlapConflictBytes: 0, overlapUncheckedBytes: 4 } }],
    counters: { overlapBytes: 8, overlapConflictBytes: 4, overlapUncheckedBytes: 4, overlapCheckDenied: 1, peakMemUsedBytes: 4096 },
  },
];

export function checkInvariants(t: Test, res: RunResult): void {
  const { r, rec } = res;
  const c = r.counters;
  t.same(rec.errors, [], 'handler contract: contiguous offsets, no empty data, nothing after close');
  const b = r.balance();
  t.ok(b.ok, `received ${b.received} == delivered ${b.delivered} + buffered ${b.buffered} + dropped ${b.dropped}; stream ${b.streamBytes} == delivered + gap ${b.gap}`);
  t.equal(c.drops.duplicate.bytes, c.overlapBytes, 'duplicate drops are exactly the overlapping bytes');
  t.equal(c.bufferedBytes, 0, 'nothing held after flushAll');
  t.equal(c.memUsedBytes, 0, 'no memory held after flushAll');
  t.equal(c.connsTracked, 0, 'no connection tracked after flushAll');
  let delivered = 0;
  let gap = 0;
  for (const cr of rec.conns) {
    for (const [dir, st] of [[0, cr.conn.c2s], [1, cr.conn.s2c]] as const) {
      t.equal(st.bytes + st.gapBytes, cr.next[dir], `conn ${cr.conn.id} dir ${dir}: bytes + gapBytes == stream position`);
      delivered += st.bytes;
      gap += st.gapBytes;
    }
    t.equal(cr.closes.length, 1, `conn ${cr.conn.id} closed exactly once`);
  }
  t.equal(delivered, c.deliveredBytes, 'Σ per-connection bytes == deliveredBytes');
  t.equal(gap, c.gapBytes, 'Σ per-connection gapBytes == gapBytes');
}

for (const k of cases) {
  t.test(k.name, async (t) => {
    const res = runSpecs(k.segs, { cIsn: k.cIsn ?? C_ISN, sIsn: k.sIsn ?? S_ISN, options: k.options ?? {} });
    const { r, rec } = res;
    t.equal(rec.conns.length, k.conns.length, 'connections');
    k.conns.forEach((e, i) => {
      const cr = rec.conns[i];
      if (cr === undefined) return;
      if (e.c2s !== undefined) t.equal(cr.text[0], e.c2s, `conn ${i} c2s`);
      if (e.s2c !== undefined) t.equal(cr.text[1], e.s2c, `conn ${i} s2c`);
      if (e.close !== undefined) t.same(cr.closes, e.close, `conn ${i} close`);
      if (e.seqInConn !== undefined) t.equal(cr.conn.seqInConn, e.seqInConn, `conn ${i} seqInConn`);
      if (e.midStream !== undefined) t.equal(cr.conn.midStream, e.midStream, `conn ${i} midStream`);
      if (e.clientPort !== undefined) t.equal(cr.conn.clientPort, e.clientPort, `conn ${i} clientPort`);
      if (e.clientAddr !== undefined) t.same([...cr.conn.clientAddr], e.clientAddr, `conn ${i} clientAddr`);
      if (e.c2sStats !== undefined) t.match(cr.conn.c2s, e.c2sStats, `conn ${i} c2s stats`);
      if (e.s2cStats !== undefined) t.match(cr.conn.s2c, e.s2cStats, `conn ${i} s2c stats`);
    });
    for (const reason of TCP_DROP_REASONS) {
      const dflt = reason === 'duplicate' ? k.counters?.overlapBytes ?? 0 : 0;
      t.equal(r.counters.drops[reason].bytes, k.drops?.[reason] ?? dflt, `drops.${reason} bytes`);
    }
    for (const [reason, n] of Object.entries(k.gaps ?? {})) {
      t.equal(r.counters.gapBytesByReason[reason as TcpGapReason], n, `gap bytes ${reason}`);
    }
    if (k.counters !== undefined) t.match(r.counters, k.counters, 'counters');
    checkInvariants(t, res);
  });
}

t.test('stream offsets are 64-bit: a stream driven past 4 GiB by gaps keeps exact offsets', async (t) => {
  // Window scale 14 on both SYNs and a server window of 65535: ~2^30 bytes, so 2^29 steps are in window.
  const segs: Seg[] = [
    { from: 'c', seq: 0, flags: 'S', wscale: 14 },
    { from: 's', seq: 0, ack: 1, flags: 'SA', wscale: 14 },
    { from: 'c', seq: 1, ack: 1, flags: 'A' },
    { from: 's', seq: 1, ack: 1, flags: 'A' },
    { from: 'c', seq: 1, data: 'AAAA' },
  ];
  const step = 2 ** 29;
  for (let k = 1; k <= 10; k++) segs.push({ from: 'c', seq: 1 + k * step, data: 'BBBB' });
  const res = runSpecs(segs, { cIsn: C_ISN, sIsn: S_ISN, options: { perFlowOooCapBytes: 0 } });
  const ev = res.rec.conns[0]!.events.filter((e) => e.startsWith('data'));
  t.equal(ev.length, 11);
  t.equal(ev[10], `data 0 ${10 * step} 4`, 'last data at offset 5 * 2^30 (> 2^32)');
  t.equal(res.r.counters.gapBytesByReason.flow_ooo_cap, 10 * step + 4 - 44);
  checkInvariants(t, res);
});

t.test('in-order data is delivered as a view of the caller payload, never copied', async (t) => {
  const views: boolean[] = [];
  const w = new SegmentWriter();
  let current: Buffer = Buffer.alloc(0);
  const rec = new Recorder();
  const r = new TcpReassembler({
    onOpen: (c) => rec.onOpen(c),
    onData: (c, d, data, off, s, n) => {
      views.push(data.buffer === current.buffer && data.byteOffset === current.byteOffset);
      rec.onData(c, d, data, off, s, n);
    },
    onGap: (c, d, off, len, reason) => rec.onGap(c, d, off, len, reason),
    onClose: (c, reason) => rec.onClose(c, reason),
  });
  for (const spec of [...handshake(), { from: 'c', seq: 1, data: 'AAAA' }, { from: 'c', seq: 5, data: 'BBBB' }] as SegSpec[]) {
    const seg = w.fill(spec, C_ISN, S_ISN);
    current = seg.payload;
    r.add(seg);
  }
  t.same(views, [true, true]);
  t.equal(r.counters.copies, 0);
  r.flushAll();
  t.equal(rec.conns[0]!.text[0], 'AAAABBBB');
});

t.test('connection state follows the handshake and FINs', async (t) => {
  const rec = new Recorder();
  const r = new TcpReassembler(rec);
  const w = new SegmentWriter();
  const states: string[] = [];
  const steps: SegSpec[] = [
    ...handshake(),
    { from: 'c', seq: 1, ack: 1, flags: 'FA' },
    { from: 's', seq: 1, ack: 2, flags: 'FA' },
  ];
  for (const s of steps) {
    r.add(w.fill(s, C_ISN, S_ISN));
    states.push(rec.conns[0]!.conn.state);
  }
  t.same(states, ['syn_sent', 'syn_received', 'established', 'fin_wait', 'closed']);
  t.equal(rec.conns[0]!.conn.ipVersion, 4);
  t.same([...rec.conns[0]!.conn.serverAddr], [10, 0, 0, 2]);
  t.equal(r.size, 1, 'a closed connection is remembered (TIME_WAIT-like)');
  r.flushAll();
  t.equal(r.size, 0);
});

t.test('IPv6 connections are keyed by all 16 address bytes', async (t) => {
  const a = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
  const b = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
  const b2 = [0x20, 0x01, 0x0d, 0xb9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
  const ep1: Endpoints = { clientIp: a, serverIp: b, clientPort: 40000, serverPort: 443 };
  const ep2: Endpoints = { clientIp: a, serverIp: b2, clientPort: 40000, serverPort: 443 };
  const res = runSpecs(
    [
      { from: 'c', seq: 1, data: 'AAAA', ep: ep1 },
      { from: 'c', seq: 1, data: 'aaaa', ep: ep2 },
      { from: 's', seq: 1, data: 'XXXX', ep: ep1 },
      { from: 'c', seq: 5, data: 'BBBB', ep: ep1 },
    ],
    { cIsn: C_ISN, sIsn: S_ISN },
  );
  t.equal(res.rec.conns.length, 2);
  t.equal(res.rec.conns[0]!.text[0], 'AAAABBBB');
  t.equal(res.rec.conns[0]!.text[1], 'XXXX');
  t.equal(res.rec.conns[0]!.conn.ipVersion, 6);
  t.same([...res.rec.conns[0]!.conn.serverAddr], b);
  t.equal(res.rec.conns[1]!.text[0], 'aaaa');
  checkInvariants(t, res);
});

t.test('flushOlderThan closes idle connections by the given capture time', async (t) => {
  const res = runSpecs(
    [
      { from: 'c', seq: 1, data: 'AAAA', t: 10 },
      { from: 'c', seq: 1, data: 'aaaa', t: 20, ep: OTHER },
    ],
    { cIsn: C_ISN, sIsn: S_ISN, flush: false },
  );
  t.equal(res.r.flushOlderThan(15, 0), 1);
  t.same(res.rec.conns.map((c) => c.closes), [['idle'], []]);
  t.equal(res.r.flushOlderThan(15, 0), 0);
  res.r.flushAll();
  t.same(res.rec.conns.map((c) => c.closes), [['idle'], ['flush']]);
  checkInvariants(t, res);
});

t.test('options are validated at construction', async (t) => {
  const h = new Recorder();
  t.throws(() => new TcpReassembler(h, { maxConnections: 0 }), RangeError);
  t.throws(() => new TcpReassembler(h, { memCapBytes: -1 }), RangeError);
  t.throws(() => new TcpReassembler(h, { overlapPolicy: 'bsd' as 'first' }), RangeError);
  t.throws(() => new TcpReassembler(h, { overlapCheckBytes: -1 }), RangeError);
  t.throws(() => new TcpReassembler(h, { overlapCheckBytes: 1.5 }), RangeError);
  const r = new TcpReassembler(h);
  t.match(r.options, { memCapBytes: 64 * 1024 * 1024, perFlowOooCapBytes: 1024 * 1024, perFlowDepthBytes: 0, maxConnections: 100_000, idleTimeoutSec: 120, closeTimeoutSec: 60, overlapPolicy: 'first', overlapCheckBytes: 4096 });
});

t.test('a hole is skipped when the ACK is seen, not at close; an unACKed one is never reported', async (t) => {
  const res = runSpecs(
    [
      ...handshake(),
      { from: 'c', seq: 1, data: 'AAAA' },
      { from: 'c', seq: 9, data: 'CCCC' },
      { from: 'c', seq: 17, data: 'EEEE' },
      { from: 's', seq: 1, ack: 13, flags: 'A' },
    ],
    { cIsn: C_ISN, sIsn: S_ISN, flush: false },
  );
  const cr = res.rec.conns[0]!;
  t.equal(cr.text[0], 'AAAA[gap 4 acked]CCCC', 'skipped before any close');
  t.same(cr.closes, []);
  t.equal(res.r.counters.bufferedBytes, 4, 'EEEE still held beyond the unACKed hole 12..16');
  res.r.flushAll();
  t.equal(cr.text[0], 'AAAA[gap 4 acked]CCCC', 'EEEE not delivered at flush, no gap');
  t.same(res.r.counters.drops.unacked_beyond_hole, { bytes: 4, segments: 1 }, 'segments: the held ranges dropped');
  checkInvariants(t, res);
});

t.test('the copy of recent deliveries is allocated at the first delivery, counted in memUsedBytes, freed at close', async (t) => {
  const rec = new Recorder();
  const r = new TcpReassembler(rec, { overlapCheckBytes: 1000 });
  const w = new SegmentWriter();
  const mem: number[] = [];
  const steps: SegSpec[] = [
    ...handshake(),
    { from: 'c', seq: 1, data: 'AAAA' },
    { from: 'c', seq: 5, data: 'BBBB' },
    { from: 's', seq: 1, ack: 9, data: 'XXXX' },
    { from: 'c', seq: 9, ack: 5, flags: 'FA' },
    { from: 's', seq: 5, ack: 10, flags: 'FA' },
  ];
  for (const s of steps) {
    r.add(w.fill(s, C_ISN, S_ISN));
    mem.push(r.counters.memUsedBytes);
  }
  t.same(mem, [0, 0, 0, 1000, 1000, 2000, 2000, 0], 'one copy per direction, freed when the connection closes');
  t.equal(r.counters.overlapCheckMemBytes, 0);
  t.equal(r.counters.peakMemUsedBytes, 2000);
  t.equal(r.counters.overlapCheckCopiedBytes, 12);
  t.equal(r.size, 1, 'the closed connection is still remembered');
  r.flushAll();
  t.same(rec.errors, []);
});
