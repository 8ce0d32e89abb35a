import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CAPTURE_META, CAPTURE_META_COLS, LiveCapture, NATIVE_ERR, listDevices, type CaptureBatch, type CaptureError } from '../../native/index.js';
import { ip, makeVethPair, parsePcap, sendUdp, startTcpdump, waitForPcapRecords } from './netns-fixture.js';

// Real namespaces: a veth pair between two namespaces this test creates; UDP from one end,
// captured on the other by LiveCapture and, at the same time, by tcpdump -w. tcpdump is the
// oracle: same frames, same bytes, timestamps within 1 ms.

const PORT = 40001;
const COUNT = 300;

interface Frame {
  tsSec: number;
  tsNsec: number;
  capLen: number;
  wireLen: number;
  data: Buffer;
}

t.test('real netns veth: every UDP datagram captured, bytes equal to tcpdump, ts within 1 ms', async (t) => {
  const pair = await makeVethPair(t, 'psl-tn-cap', 71);
  const dir = mkdtempSync(join(tmpdir(), 'psl-native-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const filter = `udp and dst port ${PORT}`;

  t.ok(listDevices({ netns: pair.nsB }).some((d) => d.name === pair.ifB), 'listDevices sees the veth inside the namespace');

  const cap = LiveCapture.open({ iface: pair.ifB, netns: pair.nsB, filter, timeoutMs: 20 });
  t.teardown(() => cap.close());
  const frames: Frame[] = [];
  let batches = 0;
  let maxBatch = 0;
  cap.onBatch((b: CaptureBatch) => {
    batches++;
    maxBatch = Math.max(maxBatch, b.count);
    for (let i = 0; i < b.count; i++) {
      const r = i * CAPTURE_META_COLS;
      const off = b.meta[r + CAPTURE_META.OFFSET]!;
      const capLen = b.meta[r + CAPTURE_META.CAP_LEN]!;
      frames.push({
        tsSec: b.meta[r + CAPTURE_META.TS_SEC]!,
        tsNsec: b.meta[r + CAPTURE_META.TS_NSEC]!,
        capLen,
        wireLen: b.meta[r + CAPTURE_META.WIRE_LEN]!,
        data: Buffer.from(b.data.subarray(off, off + capLen)), // copy: the batch is reused
      });
    }
  });
  cap.start();

  const pcapFile = join(dir, 'oracle.pcap');
  const tcpdump = await startTcpdump(t, pair.nsB, pair.ifB, filter, pcapFile);

  const sent = await sendUdp(pair.nsA, pair.ipB, PORT, COUNT, 20_000);
  t.equal(sent, COUNT, 'sender sent every datagram');

  // Blocks retire after timeoutMs; wait until both have everything (bounded).
  const deadline = Date.now() + 5_000;
  while (frames.length < COUNT && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await waitForPcapRecords(pcapFile, COUNT, 5_000);
  await tcpdump.stop();
  const stats = cap.stats();
  await cap.close();

  const oracle = parsePcap(readFileSync(pcapFile));
  t.equal(oracle.linkType, 1, 'tcpdump saw Ethernet');
  t.equal(oracle.records.length, COUNT, 'tcpdump captured every datagram');
  t.equal(frames.length, COUNT, 'LiveCapture captured every datagram');
  t.ok(batches < COUNT, `frames arrive in batches (${batches} batches, largest ${maxBatch})`);

  let bytesDiffer = 0;
  let maxSkewNs = 0;
  let orderBroken = 0;
  if (frames.length !== oracle.records.length) t.fail('cannot compare frame by frame: counts differ');
  for (let i = 0; i < Math.min(frames.length, oracle.records.length); i++) {
    const a = frames[i]!;
    const o = oracle.records[i]!;
    if (a.capLen !== o.capLen || a.wireLen !== o.wireLen || !a.data.equals(o.data)) bytesDiffer++;
    const skew = Math.abs((a.tsSec - o.tsSec) * 1e9 + (a.tsNsec - o.tsNsec));
    maxSkewNs = Math.max(maxSkewNs, skew);
    if (i > 0) {
      const p = frames[i - 1]!;
      if (a.tsSec < p.tsSec || (a.tsSec === p.tsSec && a.tsNsec < p.tsNsec)) orderBroken++;
    }
    // The payload is the datagram index: order matches the sender's.
    if (a.data.length > 42 && a.data[42] !== (i & 0xff)) orderBroken++;
  }
  t.equal(bytesDiffer, 0, 'every frame byte-identical to tcpdump, same capLen and wireLen');
  t.ok(maxSkewNs <= 1_000_000, `timestamps within 1 ms of tcpdump (max skew ${maxSkewNs} ns)`);
  t.equal(orderBroken, 0, 'frames in order, timestamps non-decreasing');
  t.ok(frames.every((f) => Number.isInteger(f.tsNsec) && f.tsNsec >= 0 && f.tsNsec < 1e9), 'tsNsec is an integer in [0, 1e9)');

  t.equal(stats.delivered, COUNT, 'stats.delivered');
  t.equal(stats.dropped, 0, 'no kernel drops');
  t.equal(stats.ringFull, 0, 'no ring_full drops');
  t.ok(stats.received >= COUNT, `stats.received ${stats.received} >= ${COUNT}`);
  t.equal(stats.batches, batches, 'stats.batches counts callbacks');
  t.same(cap.stats(), stats, 'stats after close are the values at close');
});

t.test('real netns veth: an async handler holds its batch until the promise settles', async (t) => {
  const pair = await makeVethPair(t, 'psl-tn-async', 72);
  const cap = LiveCapture.open({ iface: pair.ifB, netns: pair.nsB, filter: `udp and dst port ${PORT}`, timeoutMs: 10, direction: 'in' });
  t.teardown(() => cap.close());
  let frames = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let corrupt = 0;
  cap.onBatch(async (b) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const first = b.count > 0 ? Buffer.from(b.data.subarray(0, 64)) : Buffer.alloc(0);
    await new Promise((r) => setTimeout(r, 30));
    // Native code must not have written into this slot meanwhile.
    if (b.count > 0 && !first.equals(b.data.subarray(0, 64))) corrupt++;
    frames += b.count;
    inFlight--;
  });
  cap.start();
  const sent = await sendUdp(pair.nsA, pair.ipB, PORT, 200, 20_000);
  const deadline = Date.now() + 5_000;
  while (frames < sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await cap.close();
  t.equal(frames, sent, 'every frame delivered');
  t.equal(maxInFlight, 1, 'at most one batch is held by JS while the other fills');
  t.equal(corrupt, 0, 'a held batch is never overwritten');
  t.equal(cap.stats().ringFull, 0);
});

t.test('real netns veth: the interface vanishing mid-capture reports CAPTURE_READ to onError', async (t) => {
  const pair = await makeVethPair(t, 'psl-tn-gone', 76);
  const cap = LiveCapture.open({ iface: pair.ifB, netns: pair.nsB, timeoutMs: 10 });
  t.teardown(() => cap.close());
  let error: CaptureError | undefined;
  cap.onBatch(() => undefined).onError((e) => {
    error = e;
  });
  cap.start();
  await ip(['-n', pair.nsA, 'link', 'del', pair.ifA]); // deletes both ends
  const deadline = Date.now() + 5_000;
  while (error === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.equal(error?.code, NATIVE_ERR.CAPTURE_READ);
  t.match(error?.message ?? '', /interface/i, 'libpcap\'s text');
  await cap.close();
  t.equal(cap.stats().ringFull, 0, 'stats still readable after the error and close');
});
