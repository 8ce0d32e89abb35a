import t from 'tap';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CAPTURE_META, CAPTURE_META_COLS, LiveCapture } from '../../native/index.js';
import { makeVethPair, parsePcap, sendUdp, startTcpdump } from './netns-fixture.js';

// Slots that fill up by data before rows (a frame that does not fit the data left is
// spilled and opens the next slot) and by rows: every frame still arrives, in tcpdump's
// order, with identical bytes, and nothing is counted ringFull.

const PORT = 40007;

for (const [name, opts] of [
  ['data-bound slots (2 KiB, snap length 2048)', { snapLen: 2048, batchBytes: 2048 }],
  ['row-bound slots (7 rows)', { snapLen: 1500, batchBytes: 64 * 1024, batchRows: 7 }],
] as const) {
  t.test(`real netns veth: ${name} lose nothing and keep tcpdump's order`, async (t) => {
    const pair = await makeVethPair(t, 'psl-tn-spill', 77);
    const file = join(tmpdir(), `psl-spill-${process.pid}-${opts.batchBytes}.pcap`);
    const td = await startTcpdump(t, pair.nsB, pair.ifB, `udp and dst port ${PORT}`, file);
    const cap = LiveCapture.open({ iface: pair.ifB, netns: pair.nsB, filter: `udp and dst port ${PORT}`, timeoutMs: 5, ...opts });
    t.teardown(() => cap.close());
    const got: Buffer[] = [];
    cap.onBatch((b) => {
      for (let i = 0; i < b.count; i++) {
        const r = i * CAPTURE_META_COLS;
        const off = b.meta[r + CAPTURE_META.OFFSET]!;
        got.push(Buffer.from(b.data.subarray(off, off + b.meta[r + CAPTURE_META.CAP_LEN]!)));
      }
    });
    cap.start();
    const sent = await sendUdp(pair.nsA, pair.ipB, PORT, 3000, 20_000);
    const deadline = Date.now() + 5_000;
    while (got.length < sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await td.stop();
    const s = cap.stats();
    await cap.close();
    const ref = parsePcap(readFileSync(file)).records.map((r) => r.data);
    t.equal(got.length, sent, 'every frame captured');
    t.equal(ref.length, sent, 'tcpdump saw them all too');
    t.equal(got.findIndex((g, i) => !g.equals(ref[i]!)), -1, 'identical bytes, same order');
    t.equal(s.ringFull, 0);
    t.ok(s.batches > 1, `${s.batches} batches`);
  });
}
