import t, { type Test } from 'tap';
import {
  DEFRAG_DROP_REASONS,
  DEFRAG_STATUS,
  type DefragDropReason,
  Defragmenter,
  type DefragmenterOptions,
  type FragmentIn,
} from '../../../packet/reassembly/defrag.js';

const V4_SRC = [192, 0, 2, 1];
const V4_DST = [198, 51, 100, 7];
const V6_SRC = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const V6_DST = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

interface FragSpec {
  v?: 4 | 6;
  id?: number;
  src?: number[];
  proto?: number;
  off: number;
  mf: boolean;
  data: string;
  /** payloadLen when more than data (cut by snaplen). */
  len?: number;
  t?: number;
}

/** Fills one reused FragmentIn, addresses at offsets 6 and 40 of a 0xa5-filled buffer. */
class FragWriter {
  readonly f: FragmentIn;
  private readonly addr = Buffer.alloc(64, 0xa5);
  private t = 0;
  constructor() {
    this.f = {
      tsSec: 0, tsNsec: 0, version: 4, id: 0, addrBuf: this.addr, srcOff: 6, dstOff: 40, protocol: 17,
      fragOff: 0, moreFragments: false, payload: Buffer.alloc(0), payloadLen: 0,
    };
  }
  fill(s: FragSpec): FragmentIn {
    const f = this.f;
    const v = s.v ?? 4;
    f.version = v;
    const src = s.src ?? (v === 4 ? V4_SRC : V6_SRC);
    const dst = v === 4 ? V4_DST : V6_DST;
    this.addr.fill(0xa5);
    src.forEach((b, i) => (this.addr[6 + i] = b));
    dst.forEach((b, i) => (this.addr[40 + i] = b));
    f.id = s.id ?? 0x1234;
    f.protocol = s.proto ?? 17;
    f.fragOff = s.off;
    f.moreFragments = s.mf;
    const data = Buffer.from(s.data, 'latin1');
    const frame = Buffer.alloc(data.length + 16, 0xa5);
    data.copy(frame, 10);
    f.payload = frame.subarray(10, 10 + data.length);
    f.payloadLen = s.len ?? data.length;
    this.t = s.t ?? this.t + 0.001;
    f.tsSec = Math.floor(this.t);
    f.tsNsec = Math.round((this.t % 1) * 1e9);
    return f;
  }
}

function rep(ch: string, n: number): string {
  return ch.repeat(n);
}

interface Case {
  name: string;
  options?: DefragmenterOptions;
  frags: FragSpec[];
  /** Datagrams completed, in order: payload text and protocol. */
  out: { data: string; proto: number }[];
  /** Status of each add. */
  status?: string[];
  drops?: Partial<Record<DefragDropReason, number>>;
  overlapBytes?: number;
  overlapConflictBytes?: number;
  /** flushAll at the end (default true). */
  flush?: boolean;
}

const A8 = rep('A', 8);
const B8 = rep('B', 8);
const X8 = rep('X', 8);

const cases: Case[] = [
  {
    name: 'IPv4 fragments in order reassemble into one UDP payload',
    frags: [{ off: 0, mf: true, data: A8 }, { off: 8, mf: true, data: B8 }, { off: 16, mf: false, data: 'CCCC' }],
    out: [{ data: A8 + B8 + 'CCCC', proto: 17 }],
    status: ['held', 'held', 'complete'],
  },
  {
    name: 'IPv4 fragments in reverse order reassemble the same',
    frags: [{ off: 16, mf: false, data: 'CCCC' }, { off: 8, mf: true, data: B8 }, { off: 0, mf: true, data: A8 }],
    out: [{ data: A8 + B8 + 'CCCC', proto: 17 }],
    status: ['held', 'held', 'complete'],
  },
  {
    name: 'policy first: a later XXXXXXXX over held BBBBBBBB loses, 8 conflict bytes',
    frags: [{ off: 0, mf: true, data: A8 }, { off: 8, mf: true, data: B8 }, { off: 8, mf: true, data: X8 }, { off: 16, mf: false, data: 'CCCC' }],
    out: [{ data: A8 + B8 + 'CCCC', proto: 17 }],
    drops: { duplicate: 8 },
    overlapBytes: 8,
    overlapConflictBytes: 8,
  },
  {
    name: 'policy last: a later XXXXXXXX replaces held BBBBBBBB',
    options: { overlapPolicy: 'last' },
    frags: [{ off: 0, mf: true, data: A8 }, { off: 8, mf: true, data: B8 }, { off: 8, mf: true, data: X8 }, { off: 16, mf: false, data: 'CCCC' }],
    out: [{ data: A8 + X8 + 'CCCC', proto: 17 }],
    drops: { duplicate: 8 },
    overlapBytes: 8,
    overlapConflictBytes: 8,
  },
  {
    name: 'policy first: a partial overlap keeps the held bytes and adds the rest',
    frags: [{ off: 0, mf: true, data: rep('A', 16) }, { off: 8, mf: false, data: rep('X', 16) }],
    out: [{ data: rep('A', 16) + X8, proto: 17 }],
    drops: { duplicate: 8 },
    overlapBytes: 8,
    overlapConflictBytes: 8,
  },
  {
    name: 'policy drop (RFC 5722): an overlapping fragment discards the whole datagram',
    options: { overlapPolicy: 'drop' },
    frags: [{ off: 0, mf: true, data: rep('A', 16) }, { off: 8, mf: false, data: rep('X', 16) }],
    out: [],
    status: ['held', 'dropped'],
    drops: { overlap: 32 },
    overlapBytes: 8,
    overlapConflictBytes: 8,
  },
  {
    name: 'policy drop: an exact duplicate is ignored, not an overlap',
    options: { overlapPolicy: 'drop' },
    frags: [{ off: 0, mf: true, data: A8 }, { off: 0, mf: true, data: A8 }, { off: 8, mf: false, data: 'CCCC' }],
    out: [{ data: A8 + 'CCCC', proto: 17 }],
    status: ['held', 'dropped', 'complete'],
    drops: { duplicate: 8 },
    overlapBytes: 8,
  },
  {
    name: 'policy first: an exact duplicate is counted and the datagram completes once',
    frags: [{ off: 0, mf: true, data: A8 }, { off: 0, mf: true, data: A8 }, { off: 8, mf: false, data: 'CCCC' }, { off: 8, mf: false, data: 'CCCC' }],
    out: [{ data: A8 + 'CCCC', proto: 17 }],
    status: ['held', 'held', 'complete', 'held'],
    drops: { duplicate: 8, flush: 4 },
    overlapBytes: 8,
  },
  {
    name: 'a datagram not complete 30 s after its first fragment is dropped (timeout), by capture time',
    frags: [{ off: 0, mf: true, data: A8, t: 1 }, { id: 2, off: 0, mf: true, data: B8, t: 31.5 }, { off: 8, mf: false, data: 'CCCC', t: 31.6 }],
    out: [],
    drops: { timeout: 8, flush: 12 },
  },
  {
    name: 'maxTrackers: the oldest datagram is dropped for a new one (max_trackers)',
    options: { maxTrackers: 2 },
    frags: [{ id: 1, off: 0, mf: true, data: A8 }, { id: 2, off: 0, mf: true, data: A8 }, { id: 3, off: 0, mf: true, data: A8 }, { id: 3, off: 8, mf: false, data: 'CC' }],
    out: [{ data: A8 + 'CC', proto: 17 }],
    drops: { max_trackers: 8, flush: 8 },
  },
  {
    name: 'maxBytes: the oldest datagrams are dropped to make room (max_bytes)',
    options: { maxBytes: 200 },
    frags: [{ id: 1, off: 0, mf: true, data: A8 }, { id: 2, off: 0, mf: true, data: A8 }, { id: 3, off: 0, mf: true, data: A8 }],
    out: [],
    drops: { max_bytes: 8, flush: 16 },
  },
  {
    name: 'maxBytes: a datagram that cannot fit alone is dropped, the others kept',
    options: { maxBytes: 200 },
    frags: [{ id: 1, off: 0, mf: true, data: A8 }, { id: 2, off: 8, mf: false, data: rep('B', 137) }, { id: 1, off: 8, mf: false, data: 'C' }],
    out: [{ data: A8 + 'C', proto: 17 }],
    status: ['held', 'dropped', 'complete'],
    drops: { max_bytes: 137 },
  },
  {
    name: 'too large: a fragment ending past 65515 bytes drops the datagram (ping of death)',
    frags: [{ off: 0, mf: true, data: A8 }, { off: 65512, mf: false, data: rep('Z', 16) }],
    out: [],
    status: ['held', 'dropped'],
    drops: { too_large: 24 },
  },
  {
    name: 'inconsistent: a fragment beyond the known end drops the datagram',
    frags: [{ off: 8, mf: false, data: B8 }, { off: 16, mf: true, data: X8 }, { off: 0, mf: true, data: A8 }],
    out: [],
    status: ['held', 'dropped', 'held'],
    drops: { inconsistent: 16, flush: 8 },
  },
  {
    name: 'inconsistent: a second last fragment with another end drops the datagram',
    frags: [{ off: 8, mf: false, data: B8 }, { off: 8, mf: false, data: 'BBBB' }],
    out: [],
    drops: { inconsistent: 12 },
  },
  {
    name: 'inconsistent: a non-last fragment whose length is not a multiple of 8 is dropped alone',
    frags: [{ off: 0, mf: true, data: 'AAAAAAA' }, { off: 0, mf: true, data: A8 }, { off: 8, mf: false, data: 'C' }],
    out: [{ data: A8 + 'C', proto: 17 }],
    drops: { inconsistent: 7 },
  },
  {
    name: 'a fragment cut by snaplen is dropped (truncated): it can never be reassembled',
    frags: [{ off: 0, mf: true, data: 'AAAA', len: 8 }, { off: 8, mf: false, data: 'C' }],
    out: [],
    drops: { truncated: 8, flush: 1 },
  },
  {
    name: 'maxFragmentsPerDatagram: one piece too many drops the datagram',
    options: { maxFragmentsPerDatagram: 2 },
    frags: [{ off: 0, mf: true, data: A8 }, { off: 8, mf: true, data: B8 }, { off: 16, mf: false, data: 'C' }],
    out: [],
    drops: { too_many_fragments: 17 },
  },
  {
    name: 'IPv4: the same id with another protocol is another datagram',
    frags: [{ off: 0, mf: true, data: A8, proto: 17 }, { off: 8, mf: false, data: 'C', proto: 6 }, { off: 8, mf: false, data: 'D', proto: 17 }],
    out: [{ data: A8 + 'D', proto: 17 }],
    drops: { flush: 1 },
  },
  {
    name: 'IPv6: 32-bit id, the protocol is the Next Header of the offset-0 fragment',
    frags: [
      { v: 6, id: 0x89abcdef, off: 8, mf: false, data: 'CCCC', proto: 17 },
      { v: 6, id: 0x89abcdee, off: 0, mf: true, data: X8, proto: 17 },
      { v: 6, id: 0x89abcdef, off: 0, mf: true, data: A8, proto: 6 },
    ],
    out: [{ data: A8 + 'CCCC', proto: 6 }],
    drops: { flush: 8 },
  },
  {
    name: 'IPv6: an atomic fragment (offset 0, M clear) is returned as is (RFC 6946)',
    frags: [{ v: 6, id: 7, off: 0, mf: true, data: A8 }, { v: 6, id: 7, off: 0, mf: false, data: 'ZZZZ', proto: 58 }],
    out: [{ data: 'ZZZZ', proto: 58 }],
    status: ['held', 'complete'],
    drops: { flush: 8 },
  },
  {
    name: 'an empty last fragment (no payload, M clear) ends the datagram and counts as one of its fragments',
    frags: [{ off: 0, mf: true, data: A8 }, { off: 8, mf: false, data: '' }],
    out: [{ data: A8, proto: 17 }],
    status: ['held', 'complete'],
  },
  {
    name: 'an empty last fragment first, the data after it: the same datagram',
    frags: [{ v: 6, off: 8, mf: false, data: '' }, { v: 6, off: 0, mf: true, data: A8 }],
    out: [{ data: A8, proto: 17 }],
    status: ['held', 'complete'],
  },
  {
    name: 'an empty last fragment alone is held, then flushed as one fragment of 0 bytes',
    frags: [{ off: 16, mf: false, data: '' }],
    out: [],
    status: ['held'],
    drops: { flush: 0 },
  },
  {
    name: 'IPv6: another source address is another datagram',
    frags: [
      { v: 6, off: 0, mf: true, data: A8 },
      { v: 6, off: 8, mf: false, data: 'C', src: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9] },
      { v: 6, off: 8, mf: false, data: 'D' },
    ],
    out: [{ data: A8 + 'D', proto: 17 }],
    drops: { flush: 1 },
  },
];

function checkBalance(t: Test, d: Defragmenter): void {
  const c = d.counters;
  let dropBytes = 0;
  let dropFrags = 0;
  for (const r of DEFRAG_DROP_REASONS) {
    dropBytes += c.drops[r].bytes;
    dropFrags += c.drops[r].fragments;
  }
  t.equal(c.receivedBytes, c.deliveredBytes + c.heldBytes + dropBytes, 'bytes: received == delivered + held + Σ drops');
  t.equal(c.receivedFragments, c.deliveredFragments + c.heldFragments + dropFrags, 'fragments: received == delivered + held + Σ drops');
  t.equal(c.memUsedBytes, c.heldBytes + 64 * c.heldPieces, 'memory: held bytes + overhead per piece');
}

for (const k of cases) {
  t.test(k.name, async (t) => {
    const d = new Defragmenter(k.options ?? {});
    const w = new FragWriter();
    const out: { data: string; proto: number }[] = [];
    const status: string[] = [];
    for (const s of k.frags) {
      const st = d.add(w.fill(s));
      status.push(st);
      if (st === DEFRAG_STATUS.COMPLETE) out.push({ data: d.payload.toString('latin1'), proto: d.protocol });
      checkBalance(t, d);
      t.ok(d.counters.memUsedBytes <= d.options.maxBytes, 'memory under maxBytes');
      t.ok(d.size <= d.options.maxTrackers, 'trackers under maxTrackers');
    }
    if (k.flush !== false) d.flushAll();
    t.same(out, k.out, 'datagrams');
    if (k.status !== undefined) t.same(status, k.status, 'statuses');
    for (const r of DEFRAG_DROP_REASONS) t.equal(d.counters.drops[r].bytes, k.drops?.[r] ?? 0, `drops.${r} bytes`);
    t.equal(d.counters.overlapBytes, k.overlapBytes ?? 0, 'overlapBytes');
    t.equal(d.counters.overlapConflictBytes, k.overlapConflictBytes ?? 0, 'overlapConflictBytes');
    checkBalance(t, d);
    t.equal(d.counters.heldBytes, 0, 'nothing held after flushAll');
    t.equal(d.size, 0);
  });
}

t.test('the completed payload is owned by the defragmenter until the next call', async (t) => {
  const d = new Defragmenter();
  const w = new FragWriter();
  d.add(w.fill({ off: 0, mf: true, data: A8 }));
  t.equal(d.add(w.fill({ off: 8, mf: false, data: 'CC' })), 'complete');
  const first = d.payload;
  t.equal(first.toString(), A8 + 'CC');
  d.add(w.fill({ id: 9, off: 0, mf: true, data: B8 }));
  d.add(w.fill({ id: 9, off: 8, mf: false, data: 'DD' }));
  t.equal(d.payload.toString(), B8 + 'DD');
  t.equal(d.fragments, 2);
});

t.test('flushOlderThan drops datagrams whose first fragment is older (timeout)', async (t) => {
  const d = new Defragmenter();
  const w = new FragWriter();
  d.add(w.fill({ id: 1, off: 0, mf: true, data: A8, t: 10 }));
  d.add(w.fill({ id: 2, off: 0, mf: true, data: A8, t: 20 }));
  t.equal(d.flushOlderThan(15, 0), 1);
  t.equal(d.counters.drops.timeout.bytes, 8);
  t.equal(d.size, 1);
  checkBalance(t, d);
});

t.test('options are validated at construction', async (t) => {
  t.throws(() => new Defragmenter({ maxTrackers: 0 }), RangeError);
  t.throws(() => new Defragmenter({ overlapPolicy: 'bsd' as 'first' }), RangeError);
  t.match(new Defragmenter().options, { maxTrackers: 4096, maxBytes: 4 * 1024 * 1024, timeoutSec: 30, overlapPolicy: 'first', maxFragmentsPerDatagram: 256 });
});

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const seedBase = process.env['PODSPAN_SEED'] !== undefined ? Number(process.env['PODSPAN_SEED']) : (Date.now() & 0x7fffffff);

t.test('random fragments: never throw, stay under the caps, balances hold, every datagram output is exact', async (t) => {
  const deadline = Date.now() + 3000;
  let runs = 0;
  let completed = 0;
  const content = (id: number, i: number): number => (Math.imul(id * 131 + i, 0x9e3779b1) >>> 24) & 0xff;
  for (let seed = seedBase; Date.now() < deadline; seed++) {
    const rnd = mulberry32(seed);
    const policies = ['first', 'last', 'drop'] as const;
    const options: DefragmenterOptions = {
      maxTrackers: 1 + Math.floor(rnd() * 6),
      maxBytes: Math.floor(rnd() * 3000),
      timeoutSec: rnd() * 5,
      overlapPolicy: policies[Math.floor(rnd() * 3)]!,
      maxFragmentsPerDatagram: 1 + Math.floor(rnd() * 20),
    };
    const d = new Defragmenter(options);
    const w = new FragWriter();
    // Datagrams with consistent content; fragments random (aligned or not), shuffled, some lost or repeated.
    const frags: FragSpec[] = [];
    const lengths = new Map<number, number>();
    for (let g = 0; g < 1 + Math.floor(rnd() * 8); g++) {
      const id = Math.floor(rnd() * 5);
      const v = rnd() < 0.5 ? 4 : 6;
      const total = lengths.get(id * 10 + v) ?? 1 + Math.floor(rnd() * (rnd() < 0.05 ? 70000 : 600));
      lengths.set(id * 10 + v, total);
      for (let off = 0; off < total; ) {
        let len = 8 * (1 + Math.floor(rnd() * 20));
        if (rnd() < 0.05) len += 1 + Math.floor(rnd() * 7);
        const end = Math.min(total, off + len);
        const mk = (a: number, b: number): void => {
          let data = '';
          for (let i = a; i < b; i++) data += String.fromCharCode(content(id * 10 + v, i));
          const spec: FragSpec = { v, id, off: a, mf: b < total, data };
          if (rnd() < 0.03) spec.len = b - a + 1;
          if (rnd() > 0.05) frags.push(spec);
        };
        mk(off, end);
        if (rnd() < 0.15) mk(Math.max(0, off - 8 * Math.floor(rnd() * 3)), end);
        off = end;
      }
    }
    for (let i = frags.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [frags[i], frags[j]] = [frags[j]!, frags[i]!];
    }
    let time = 100;
    try {
      for (const f of frags) {
        time += rnd() < 0.95 ? rnd() * 0.1 : rnd() * 5;
        f.t = time;
        const st = d.add(w.fill(f));
        if (st === DEFRAG_STATUS.COMPLETE) {
          completed++;
          const key = f.id! * 10 + f.v!;
          for (let i = 0; i < d.payload.length; i++) {
            if (d.payload.readUInt8(i) !== content(key, i)) throw new Error(`datagram ${key} byte ${i} wrong`);
          }
          if (d.payload.length !== lengths.get(key)) throw new Error(`datagram ${key}: ${d.payload.length} bytes, expected ${lengths.get(key)}`);
        }
        const c = d.counters;
        if (c.memUsedBytes > options.maxBytes!) throw new Error(`memUsed ${c.memUsedBytes} > ${options.maxBytes}`);
        if (d.size > options.maxTrackers!) throw new Error(`${d.size} trackers > ${options.maxTrackers}`);
      }
      d.flushAll();
    } catch (e) {
      t.fail(`seed ${seed} ${JSON.stringify(options)}: ${(e as Error).stack ?? String(e)}`);
      return;
    }
    const c = d.counters;
    let dropBytes = 0;
    let dropFrags = 0;
    for (const r of DEFRAG_DROP_REASONS) {
      dropBytes += c.drops[r].bytes;
      dropFrags += c.drops[r].fragments;
    }
    if (c.receivedBytes !== c.deliveredBytes + dropBytes || c.receivedFragments !== c.deliveredFragments + dropFrags || c.heldBytes !== 0 || c.memUsedBytes !== 0) {
      t.fail(`seed ${seed}: balance broken ${JSON.stringify(c)}`);
      return;
    }
    runs++;
  }
  t.pass(`${runs} random runs, ${completed} datagrams completed (seeds from ${seedBase})`);
});
