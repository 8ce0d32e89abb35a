import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { synthTraffic } from '../../packet/synth/traffic.js';
import { PcapWriter } from '../../packet/capfile/pcap-writer.js';
import { CapfileReader } from '../../packet/capfile/reader.js';
import { Parser } from '../../packet/decode/parser.js';
import { PodspanError } from '../../packet/errors.js';
import { Defragmenter } from '../../packet/reassembly/defrag.js';
import { TcpSegmentFeed } from '../../packet/reassembly/from-parser.js';
import { TcpReassembler } from '../../packet/reassembly/tcp.js';
import { Recorder } from '../packet/reassembly/tcp-harness.js';
import { corpusSeeds, fuzz, REGRESSIONS, TIME_BOX_MS, type Seed } from './mutate.js';

// Fuzzing the path of `podspan streams` (reader, decoder, IPv4/IPv6 defragmentation, TCP
// reassembly) with mutated captures, small caps on both so that caps are hit: never a throw
// that is not a PodspanError, never a runaway loop, the reassembler's callbacks in order
// (Recorder), and both accounting identities after the flush: the reassembler's stream
// balance, and the defragmenter's received == delivered + held + dropped, in bytes and in
// fragments.


function seeds(): Seed[] {
  const w = new PcapWriter({ linkType: 1, snapLen: 262144, nanosecond: true });
  const parts = [w.header()];
  for (const f of synthTraffic({ connections: 6, concurrency: 3, requestsPerConnection: 2, vxlanEvery: 3, seed: 5 })) {
    parts.push(...w.record({ tsSec: f.tsSec, tsNsec: f.tsNsec, capLen: f.data.length, wireLen: f.data.length, data: f.data }));
  }
  // And the corpus's small captures: fragments (IPv4 and IPv6), overlaps, tunnels, odd link types.
  return [{ name: 'synthetic', data: Buffer.concat(parts), own: true }, ...corpusSeeds()];
}

/** What is wrong with this input's run, or undefined. */
function check(input: Buffer, chunk: () => number): string | undefined {
  const reader = new CapfileReader();
  const parser = new Parser();
  const feed = new TcpSegmentFeed(new Defragmenter({ maxBytes: 4096, maxTrackers: 4, maxFragmentsPerDatagram: 16 }));
  const rec = new Recorder();
  const ra = new TcpReassembler(rec, { memCapBytes: 64 * 1024, perFlowOooCapBytes: 16 * 1024, maxConnections: 8 });
  const maxRecords = Math.floor(input.length / 16) + 1;
  let records = 0;
  try {
    const drain = (): boolean => {
      for (let r = reader.next(); r !== null; r = reader.next()) {
        if (++records > maxRecords) return false;
        parser.decode(r.data, r.iface.linkType, r.wireLen);
        const seg = feed.next(parser, r.tsSec, r.tsNsec);
        if (seg !== undefined) ra.add(seg);
      }
      return true;
    };
    for (let pos = 0; pos < input.length; ) {
      const n = Math.max(1, chunk());
      reader.push(input.subarray(pos, pos + n));
      pos += n;
      if (!drain()) return `runaway: more than ${maxRecords} records`;
    }
    reader.end();
    if (!drain()) return `runaway: more than ${maxRecords} records`;
  } catch (e) {
    // A PodspanError is the reader refusing bad input: what came before it still balances.
    if (!(e instanceof PodspanError)) return `threw ${(e as Error).stack ?? String(e)}`;
  }
  try {
    ra.flushAll();
    feed.defrag.flushAll();
  } catch (e) {
    return `flush threw ${(e as Error).stack ?? String(e)}`;
  }
  if (rec.errors.length > 0) return `callbacks out of order: ${rec.errors.slice(0, 3).join('; ')}`;
  const b = ra.balance();
  if (!b.ok) return `reassembler balance broken: ${JSON.stringify(b)}`;
  const d = feed.defrag.counters;
  let dropped = 0;
  let droppedFragments = 0;
  for (const x of Object.values(d.drops)) {
    dropped += x.bytes;
    droppedFragments += x.fragments;
  }
  if (d.receivedBytes !== d.deliveredBytes + d.heldBytes + dropped || d.heldBytes !== 0) {
    return `defragmenter byte balance broken: received ${d.receivedBytes}, delivered ${d.deliveredBytes}, held ${d.heldBytes}, dropped ${dropped}`;
  }
  if (d.receivedFragments !== d.deliveredFragments + d.heldFragments + droppedFragments || d.heldFragments !== 0) {
    return `defragmenter fragment balance broken: received ${d.receivedFragments}, delivered ${d.deliveredFragments}, held ${d.heldFragments}, dropped ${droppedFragments}`;
  }
  return undefined;
}

t.test('committed regression inputs through the streams path: no bug, balances hold', async (t) => {
  const files = readdirSync(REGRESSIONS).filter((f) => f.endsWith('.bin'));
  t.ok(files.length > 0, `${files.length} regression inputs`);
  for (const f of files) {
    const input = readFileSync(join(REGRESSIONS, f));
    for (const size of [7, 65536]) t.equal(check(input, () => size), undefined, `${f} in ${size}-byte chunks`);
  }
});

t.test(`mutated captures through the streams path for ${TIME_BOX_MS} ms: no bug, no runaway, balances hold`, async (t) => {
  const pool = seeds();
  t.equal(check(pool[0]!.data, () => 4096), undefined, 'the unmutated synthetic capture');
  fuzz(t, pool, 50, (input, rnd) => check(input, () => 1 + Math.floor(rnd() * 4096)));
});
