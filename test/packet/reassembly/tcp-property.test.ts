import t from 'tap';
import {
  TCP_FLAG,
  type TcpConn,
  type TcpDir,
  TcpReassembler,
  type TcpReassemblerOptions,
  type TcpSegmentIn,
} from '../../../packet/reassembly/tcp.js';
import { Recorder } from './tcp-harness.js';
import { prng } from '../../../packet/synth/prng.js';

// Time-boxed property tests and memory bounds. Seeds are printed so a failure can be replayed
// (set PODSPAN_SEED to rerun one seed).

/** The byte a sender (by its port) puts at raw sequence number `seq`: content is consistent by construction. */
function byteAt(port: number, seq: number): number {
  return (Math.imul(seq ^ Math.imul(port, 0x5bd1e995), 0x9e3779b1) >>> 24) & 0xff;
}

interface Tuple {
  addr: Buffer;
  srcOff: number;
  dstOff: number;
  addrLen: 4 | 16;
  sport: number;
  dport: number;
}

function makeTuples(n: number): Tuple[] {
  const out: Tuple[] = [];
  for (let i = 0; i < n; i++) {
    const v6 = i % 3 === 2;
    const len = v6 ? 16 : 4;
    const addr = Buffer.alloc(2 * len + 8, 0xa5);
    for (let k = 0; k < len; k++) {
      addr[4 + k] = 10 + (k === len - 1 ? i : 0);
      addr[4 + len + k] = 20;
    }
    out.push({ addr, srcOff: 4, dstOff: 4 + len, addrLen: len as 4 | 16, sport: 30000 + i, dport: i % 2 === 0 ? 80 : 30000 + i });
  }
  return out;
}

function fillSeg(seg: TcpSegmentIn, tu: Tuple, fromClient: boolean): void {
  seg.addrBuf = tu.addr;
  seg.addrLen = tu.addrLen;
  seg.srcOff = fromClient ? tu.srcOff : tu.dstOff;
  seg.dstOff = fromClient ? tu.dstOff : tu.srcOff;
  seg.sport = fromClient ? tu.sport : tu.dport;
  seg.dport = fromClient ? tu.dport : tu.sport;
}

function newSeg(): TcpSegmentIn {
  return {
    tsSec: 0, tsNsec: 0, addrBuf: Buffer.alloc(8), srcOff: 0, dstOff: 4, addrLen: 4, sport: 1, dport: 2,
    seq: 0, ack: 0, flags: 0, window: 0, wscale: -1, payload: Buffer.alloc(0), payloadLen: 0,
  };
}

/** A recorder that also checks every delivered byte against byteAt(sender port, raw seq). */
class CheckingRecorder extends Recorder {
  wrongBytes = 0;
  override onData(conn: TcpConn, dir: TcpDir, data: Buffer, off: number, tsSec: number, tsNsec: number): void {
    super.onData(conn, dir, data, off, tsSec, tsNsec);
    const h = dir === 0 ? conn.half0 : conn.half1;
    const port = dir === 0 ? conn.clientPort : conn.serverPort;
    for (let i = 0; i < data.length; i++) {
      if (data.readUInt8(i) !== byteAt(port, (h.baseSeq + off + i) >>> 0)) this.wrongBytes++;
    }
  }
}

const seedBase = process.env['PODSPAN_SEED'] !== undefined ? Number(process.env['PODSPAN_SEED']) : (Date.now() & 0x7fffffff);

t.test('any permutation of overlapping, duplicated segments of one stream reassembles exactly', async (t) => {
  const deadline = Date.now() + 2500;
  let runs = 0;
  for (let seed = seedBase; Date.now() < deadline; seed++) {
    const rnd = prng(seed);
    const isn = rnd() < 0.5 ? (0xffffffff - Math.floor(rnd() * 5000)) >>> 0 : Math.floor(rnd() * 2 ** 32);
    const total = 1 + Math.floor(rnd() * 6000);
    const content = Buffer.alloc(total);
    for (let i = 0; i < total; i++) content[i] = byteAt(30000, (isn + 1 + i) >>> 0);
    // Random ranges covering [0, total), some overlapping, some repeated.
    const ranges: [number, number][] = [];
    for (let off = 0; off < total; ) {
      const len = 1 + Math.floor(rnd() * 700);
      const end = Math.min(total, off + len);
      ranges.push([off, end]);
      if (rnd() < 0.3) ranges.push([Math.max(0, off - Math.floor(rnd() * 50)), Math.min(total, end + Math.floor(rnd() * 50))]);
      if (rnd() < 0.1) ranges.push([off, end]);
      off = end;
    }
    for (let i = ranges.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [ranges[i], ranges[j]] = [ranges[j]!, ranges[i]!];
    }
    const rec = new Recorder();
    const policy = rnd() < 0.5 ? 'first' : 'last';
    // Small copies of recent deliveries wrap often; every retransmitted byte compared must match.
    const overlapCheckBytes = rnd() < 0.5 ? 4096 : Math.floor(rnd() * 300);
    const r = new TcpReassembler(rec, { overlapPolicy: policy, overlapCheckBytes });
    const [tu] = makeTuples(1);
    const seg = newSeg();
    fillSeg(seg, tu!, true);
    seg.flags = TCP_FLAG.SYN;
    seg.seq = isn;
    r.add(seg);
    seg.flags = TCP_FLAG.ACK | TCP_FLAG.PSH;
    for (const [a, b] of ranges) {
      seg.seq = (isn + 1 + a) >>> 0;
      seg.payload = content.subarray(a, b);
      seg.payloadLen = b - a;
      r.add(seg);
    }
    r.flushAll();
    const got = rec.conns[0]!.text[0];
    const c = r.counters;
    if (
      got !== content.toString('latin1') || rec.errors.length > 0 || c.gapBytes !== 0 || c.overlapConflictBytes !== 0 ||
      c.overlapUncheckedBytes > c.overlapBytes || (overlapCheckBytes >= total && c.overlapUncheckedBytes !== 0) ||
      !r.balance().ok || c.memUsedBytes !== 0
    ) {
      t.fail(`seed ${seed}: policy ${policy}, overlapCheckBytes ${overlapCheckBytes}, ${ranges.length} segments, got ${got.length} of ${total} bytes, conflicts ${c.overlapConflictBytes}, errors ${rec.errors.join('; ')}`);
      return;
    }
    runs++;
  }
  t.pass(`${runs} random streams reassembled exactly (seeds from ${seedBase})`);
});

t.test('random segments on many connections: never throw, stay under every cap, every byte accounted and correct', async (t) => {
  const deadline = Date.now() + 5000;
  let runs = 0;
  let segments = 0;
  let outOfWindow = 0;
  let unacked = 0;
  let compared = 0;
  for (let seed = seedBase; Date.now() < deadline; seed++) {
    const rnd = prng(seed);
    const options: TcpReassemblerOptions = {
      memCapBytes: 2000 + Math.floor(rnd() * 6000),
      perFlowOooCapBytes: Math.floor(rnd() * 3000),
      perFlowDepthBytes: rnd() < 0.3 ? Math.floor(rnd() * 3000) : 0,
      maxConnections: 1 + Math.floor(rnd() * 5),
      idleTimeoutSec: 1 + rnd() * 5,
      closeTimeoutSec: rnd() * 3,
      overlapPolicy: rnd() < 0.5 ? 'first' : 'last',
      overlapCheckBytes: rnd() < 0.2 ? 0 : Math.floor(rnd() * 600),
    };
    const rec = new CheckingRecorder();
    const r = new TcpReassembler(rec, options);
    const tuples = makeTuples(1 + Math.floor(rnd() * 7));
    // Per tuple and side: the sender's current sequence base.
    const bases = tuples.map(() => [Math.floor(rnd() * 2 ** 32), (0xffffffff - Math.floor(rnd() * 3000)) >>> 0]);
    const seg = newSeg();
    let time = 1000;
    const n = 200 + Math.floor(rnd() * 800);
    try {
      for (let i = 0; i < n; i++) {
        const ti = Math.floor(rnd() * tuples.length);
        const tu = tuples[ti]!;
        const side = rnd() < 0.5 ? 0 : 1;
        fillSeg(seg, tu, side === 0);
        const base = bases[ti]!;
        if (rnd() < 0.01) base[side] = Math.floor(rnd() * 2 ** 32); // a new ISN (port reuse)
        const x = rnd();
        let rel: number;
        if (x < 0.7) rel = Math.floor(rnd() * 4000);
        else if (x < 0.8) rel = -Math.floor(rnd() * 3000);
        else if (x < 0.9) rel = Math.floor(rnd() * 2 ** 32);
        else rel = Math.floor(rnd() * 2 ** 31);
        seg.seq = (base[side]! + rel) >>> 0;
        seg.ack = (base[1 - side]! + Math.floor(rnd() * 5000)) >>> 0;
        let flags = rnd() < 0.9 ? TCP_FLAG.ACK : 0;
        const f = rnd();
        if (f < 0.04) flags |= TCP_FLAG.SYN;
        else if (f < 0.07) flags |= TCP_FLAG.FIN;
        else if (f < 0.09) flags |= TCP_FLAG.RST;
        seg.flags = flags;
        // Windows: unknown (0) or random; window scale on SYNs: absent, 0..15, or not a number.
        seg.window = rnd() < 0.3 ? 0 : Math.floor(rnd() * 65536);
        const ws = rnd();
        seg.wscale = ws < 0.4 ? -1 : ws < 0.9 ? Math.floor(rnd() * 16) : Number.NaN;
        const len = rnd() < 0.2 ? 0 : Math.floor(rnd() * 400);
        const startSeq = (flags & TCP_FLAG.SYN) !== 0 ? (seg.seq + 1) >>> 0 : seg.seq;
        const data = Buffer.alloc(len);
        for (let k = 0; k < len; k++) data[k] = byteAt(seg.sport, (startSeq + k) >>> 0);
        const cap = rnd() < 0.1 ? Math.floor(rnd() * len) : len;
        seg.payload = data.subarray(0, cap);
        seg.payloadLen = len;
        const dt = rnd();
        time += dt < 0.9 ? rnd() * 0.2 : dt < 0.97 ? rnd() * 10 : -rnd();
        seg.tsSec = Math.floor(Math.max(0, time));
        seg.tsNsec = Math.floor((Math.max(0, time) % 1) * 1e9);
        r.add(seg);
        segments++;
        const c = r.counters;
        if (c.memUsedBytes > options.memCapBytes!) throw new Error(`memUsed ${c.memUsedBytes} > memCap ${options.memCapBytes}`);
        if (c.overlapCheckMemBytes > options.memCapBytes! / 2) throw new Error(`overlap copies ${c.overlapCheckMemBytes} > memCap / 2`);
        if (c.connsTracked > options.maxConnections!) throw new Error(`${c.connsTracked} connections > ${options.maxConnections}`);
        r.forEachConnection((conn) => {
          for (const h of [conn.half0, conn.half1]) {
            if (h.memUsed > options.perFlowOooCapBytes!) throw new Error(`direction holds ${h.memUsed} > ${options.perFlowOooCapBytes}`);
            for (let k = 0; k < h.ooo.length; k++) {
              const s = h.ooo[k]!;
              if (s.off < h.nextOff || s.end <= s.off || (k > 0 && s.off < h.ooo[k - 1]!.end)) throw new Error('held ranges not sorted/disjoint/ahead');
            }
          }
        });
        if (i % 50 === 0 && !r.balance().ok) throw new Error(`balance broken: ${JSON.stringify(r.balance())}`);
      }
      r.flushAll();
    } catch (e) {
      t.fail(`seed ${seed} (${JSON.stringify(options)}): ${(e as Error).stack ?? String(e)}`);
      return;
    }
    const b = r.balance();
    const c = r.counters;
    // Content is consistent by construction (byteAt), so no compared byte may differ.
    if (!b.ok || rec.errors.length > 0 || rec.wrongBytes > 0 || c.bufferedBytes !== 0 || c.memUsedBytes !== 0 || c.overlapCheckMemBytes !== 0 || c.overlapConflictBytes !== 0 || c.overlapUncheckedBytes > c.overlapBytes) {
      t.fail(`seed ${seed}: balance ${JSON.stringify(b)}, errors ${rec.errors.slice(0, 3).join('; ')}, wrong bytes ${rec.wrongBytes}, conflicts ${c.overlapConflictBytes}`);
      return;
    }
    outOfWindow += c.drops.out_of_window.bytes;
    unacked += c.drops.unacked_beyond_hole.bytes;
    compared += c.overlapBytes - c.overlapUncheckedBytes;
    runs++;
  }
  t.pass(`${runs} random runs, ${segments} segments (seeds from ${seedBase}); bytes out_of_window ${outOfWindow}, unacked_beyond_hole ${unacked}, overlaps compared ${compared}`);
});

t.test('100 000 half-open connections stay within maxConnections; the oldest are evicted and counted', async (t) => {
  const rec = { onOpen() {}, onData() {}, onGap() {}, onClose() {} };
  const max = 10_000;
  const r = new TcpReassembler(rec, { maxConnections: max });
  const seg = newSeg();
  const addr = Buffer.alloc(8);
  seg.addrBuf = addr;
  seg.flags = TCP_FLAG.SYN;
  seg.dport = 443;
  addr.writeUInt32BE(0x0a000001, 4);
  let over = 0;
  for (let i = 0; i < 100_000; i++) {
    addr.writeUInt32BE(0xac100000 + (i >>> 14), 0);
    seg.sport = 1024 + (i & 0x3fff);
    seg.seq = Math.imul(i, 2654435761) >>> 0;
    seg.tsSec = 1000 + (i >>> 10);
    r.add(seg);
    if (r.size > max) over++;
  }
  t.equal(over, 0, 'never more than maxConnections');
  t.equal(r.size, max);
  t.equal(r.counters.connsOpened, 100_000);
  t.equal(r.counters.connsClosed.evicted, 90_000, 'each eviction counted');
  t.equal(r.counters.memUsedBytes, 0);
  r.flushAll();
  t.equal(r.size, 0);
});

t.test('an out-of-order flood over 2000 connections keeps held memory under memCapBytes', async (t) => {
  const rec = { onOpen() {}, onData() {}, onGap() {}, onClose() {} };
  const memCap = 1024 * 1024;
  const flowCap = 64 * 1024;
  const r = new TcpReassembler(rec, { memCapBytes: memCap, perFlowOooCapBytes: flowCap });
  const seg = newSeg();
  const addr = Buffer.alloc(8);
  seg.addrBuf = addr;
  seg.dport = 80;
  addr.writeUInt32BE(0x0a000002, 4);
  const payload = Buffer.alloc(1000, 0x41);
  let peakOk = true;
  for (let round = 0; round < 40; round++) {
    for (let c = 0; c < 2000; c++) {
      addr.writeUInt32BE(0x0a010000 + c, 0);
      seg.sport = 20000 + c;
      seg.flags = TCP_FLAG.ACK;
      // First segment of each connection at 0, then always one segment ahead of a hole.
      seg.seq = round === 0 ? 0 : 1000 * (2 * round);
      seg.payload = payload;
      seg.payloadLen = 1000;
      seg.tsSec = 1 + round;
      r.add(seg);
      if (r.counters.memUsedBytes > memCap) peakOk = false;
    }
  }
  t.ok(peakOk, 'memUsedBytes never above memCapBytes');
  t.ok(r.counters.peakMemUsedBytes <= memCap, `peak ${r.counters.peakMemUsedBytes} <= ${memCap}`);
  t.ok(r.counters.drops.mem_cap.bytes > 0, 'the flood was dropped under mem_cap');
  r.flushAll();
  const b = r.balance();
  t.ok(b.ok, JSON.stringify(b));
  t.equal(r.counters.memUsedBytes, 0);
});
