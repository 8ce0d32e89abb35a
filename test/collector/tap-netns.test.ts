// `podspan collector --tap IF`: VXLAN datagrams sent from one namespace to a collector in
// another, whose decapsulated frames are re-injected onto a veth there; tcpdump on the
// veth's peer (where an IDS would listen) is the oracle: the inner frames, byte-identical,
// in order. And the TapSink's bounded queue: overload is dropped and counted, never queued.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Stage } from '../../collector/metrics.js';
import { TAP_DROP_REASONS, TapSink } from '../../collector/sink/tap.js';
import { IngestFrame } from '../../collector/ingest/frame.js';
import type { Source } from '../../collector/ingest/source.js';
import { inNetns, ip, makeNetnsPair, parseSummary, readStoredFile, sleep, startCollector, startTcpdump, testFrame } from './helpers.js';


/**
 * Sends VXLAN (VNI 42) datagrams carrying `frames` from inside `ns` to host:port, in order,
 * gently paced. The frames go to the sender through a file (length-prefixed), not argv.
 */
async function sendVxlan(ns: string, host: string, port: number, frames: Buffer[], dir: string): Promise<void> {
  const file = join(dir, 'frames.bin');
  const parts: Buffer[] = [];
  for (const f of frames) {
    const h = Buffer.alloc(4);
    h.writeUInt32BE(f.length);
    parts.push(h, f);
  }
  writeFileSync(file, Buffer.concat(parts));
  const script = `
const dgram = require('node:dgram');
const [host, port, file] = [process.argv[1], Number(process.argv[2]), process.argv[3]];
const all = require('node:fs').readFileSync(file);
const frames = [];
for (let off = 0; off < all.length; ) { const n = all.readUInt32BE(off); frames.push(all.subarray(off + 4, off + 4 + n)); off += 4 + n; }
const s = dgram.createSocket('udp4');
const vx = Buffer.from('0800000000002a00', 'hex');
let i = 0;
function next() {
  if (i >= frames.length) { s.close(); return; }
  s.send([vx, frames[i]], port, host, (err) => { if (err) { console.error(err.message); process.exitCode = 1; s.close(); return; } i++; if (i % 100 === 0) setTimeout(next, 5); else next(); });
}
s.bind(0, next);
`;
  await inNetns(ns, process.execPath, ['-e', script, host, String(port), file], 60_000);
}

async function framesAt(file: string, count: number): Promise<Buffer[]> {
  const deadline = Date.now() + 10_000;
  let got: Buffer[] = [];
  for (;;) {
    try {
      got = readStoredFile(file).frames.map((f) => f.data);
    } catch {
      got = [];
    }
    if (got.length >= count || Date.now() > deadline) return got;
    await sleep(50);
  }
}

t.test('VXLAN in, --tap out: tcpdump on the IDS side of the veth sees every inner frame byte-identical and in order', async (t) => {
  const pair = await makeNetnsPair(t, 'ij-c', 251);
  // The IDS link inside the collector's namespace: ids0 (the collector writes) <-> ids1 (tcpdump).
  await ip(['-n', pair.nsB, 'link', 'add', 'ids0', 'type', 'veth', 'peer', 'name', 'ids1']);
  await ip(['-n', pair.nsB, 'link', 'set', 'ids0', 'up']);
  await ip(['-n', pair.nsB, 'link', 'set', 'ids1', 'up']);
  const dir = mkdtempSync(join(tmpdir(), 'ij-tap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const peer = join(dir, 'ids1.pcap');
  const dump = await startTcpdump(t, pair.nsB, 'ids1', peer, { snapLen: 4096, bufferKiB: 65536, filter: ['ether', 'src', '02:00:00:00:00:01'] });
  const col = await startCollector(t, ['--vxlan', `${pair.ipB}:4789`, '--tap', 'ids0'], { netns: pair.nsB });
  t.match(col.stderr(), /writing frames onto ids0/);

  const frames: Buffer[] = [];
  for (let i = 0; i < 1500; i++) frames.push(testFrame(i, 60 + ((i * 131) % 1455)));
  // Two inner frames no Ethernet interface with MTU 1500 carries: counted as tap_too_big.
  frames.splice(500, 0, testFrame(100_000, 3000));
  frames.splice(1000, 0, testFrame(100_001, 1519));
  await sendVxlan(pair.nsA, pair.ipB, 4789, frames, dir);
  const want = frames.filter((f) => f.length <= 1514);
  const got = await framesAt(peer, want.length);
  const r = await col.stop();
  await dump.stop();
  t.equal(r.code, 0, r.stderr);
  const s = parseSummary(r.stderr);
  t.equal(s['vxlan']?.delivered, frames.length, 'every datagram decapsulated');
  t.same(s['tap'], { received: frames.length, delivered: want.length, dropped: 2, reasons: { tap_too_big: 2 } });
  t.equal(got.length, want.length);
  let bad = -1;
  for (let i = 0; i < want.length && bad < 0; i++) if (!got[i]?.equals(want[i]!)) bad = i;
  t.equal(bad, -1, 'identical and in order');
});

t.test('--tap with a missing interface, or one that is down, fails at start with exit 2', async (t) => {
  const pair = await makeNetnsPair(t, 'ij-f', 252);
  for (const [iface, re] of [
    ['ij-nope0', /--tap ij-nope0: .*no such interface/],
    [pair.ifB, /--tap veth1: .*down/],
  ] as const) {
    if (iface === pair.ifB) await ip(['-n', pair.nsB, 'link', 'set', pair.ifB, 'down']);
    const col = startCollector(t, ['--vxlan', '127.0.0.1:0', '--tap', iface], { netns: pair.nsB });
    await t.rejects(col, { message: re });
  }
});

t.test('TapSink: a burst larger than both slots is dropped as tap_queue_full; received == delivered + drops', async (t) => {
  const pair = await makeNetnsPair(t, 'ij-q', 253);
  const dir = mkdtempSync(join(tmpdir(), 'ij-tap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const peer = join(dir, 'peer.pcap');
  const dump = await startTcpdump(t, pair.nsB, pair.ifB, peer, { snapLen: 4096, bufferKiB: 65536, filter: ['ether', 'src', '02:00:00:00:00:01'] });
  const stage = new Stage('tap', TAP_DROP_REASONS);
  const sink = await TapSink.open({ stage, iface: pair.ifA, netns: pair.nsA, slotRows: 8 });
  const f = new IngestFrame() as IngestFrame & { source: Source };
  // 100 frames in one event-loop turn: 8 fill the first slot, which is sent when the 9th
  // arrives, 8 more fill the second; the rest find both busy.
  for (let i = 0; i < 100; i++) {
    f.data = testFrame(i, 100);
    sink.write(f);
  }
  await sink.close();
  f.data = testFrame(999, 100);
  sink.write(f);
  t.equal(stage.received, 101);
  t.equal(stage.delivered, 16);
  t.equal(stage.dropped.tap_queue_full, 84);
  t.equal(stage.dropped.closed, 1);
  t.ok(stage.balanced(), 'received == delivered + sum(dropped)');
  const got = await framesAt(peer, 16);
  await dump.stop();
  t.same(
    got.map((b) => b.readUInt32BE(14)),
    Array.from({ length: 16 }, (_, i) => i),
  );
});
