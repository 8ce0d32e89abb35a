import t from 'tap';
import { LiveCapture } from '../../native/index.js';
import { floodUdp, makeVethPair } from './netns-fixture.js';

// Real namespaces, a UDP flood (bounded in count and time) and a consumer slower than the
// flood: native memory stays fixed (kernel drops are counted instead), and close() under
// load joins the thread without a crash or a late callback.

const PORT = 40002;

t.test('real netns veth: a slow consumer makes the kernel drop and count, never ring_full', async (t) => {
  const pair = await makeVethPair(t, 'psl-tn-slow', 73);
  const cap = LiveCapture.open({
    iface: pair.ifB, netns: pair.nsB, filter: `udp and dst port ${PORT}`,
    bufferSize: 256 * 1024, batchRows: 64, batchBytes: 64 * 1024, snapLen: 2048, timeoutMs: 5,
  });
  t.teardown(() => cap.close());
  let delivered = 0;
  cap.onBatch((b) => {
    delivered += b.count;
    const until = Date.now() + 20; // a deliberately slow consumer
    while (Date.now() < until);
  });
  cap.start();
  const flood = floodUdp(pair.nsA, pair.ipB, PORT, 200_000, 3_000);
  t.teardown(() => { if (flood.exitCode === null) flood.kill('SIGKILL'); });
  await new Promise<void>((r) => flood.once('exit', () => r()));
  await new Promise((r) => setTimeout(r, 200));
  const s = cap.stats();
  await cap.close();
  t.ok(s.dropped > 0, `kernel dropped ${s.dropped} frames and counted them`);
  t.equal(s.ringFull, 0, 'native side never dropped for lack of room: it left frames in the kernel');
  t.ok(s.delivered <= s.received - s.dropped, `delivered ${s.delivered} <= received ${s.received} - dropped ${s.dropped}`);
  t.equal(delivered, s.delivered);
  t.ok(s.batches > 0 && s.delivered / s.batches > 1, 'batches grow while JS is busy');
});

t.test('real netns veth: close() under load resolves and no callback runs after it', async (t) => {
  const pair = await makeVethPair(t, 'psl-tn-close', 74);
  const flood = floodUdp(pair.nsA, pair.ipB, PORT, 400_000, 4_000);
  t.teardown(() => { if (flood.exitCode === null) flood.kill('SIGKILL'); });
  let afterClose = 0;
  for (let round = 0; round < 5; round++) {
    const cap = LiveCapture.open({ iface: pair.ifB, netns: pair.nsB, filter: `udp and dst port ${PORT}`, timeoutMs: 1 });
    let closed = false;
    let frames = 0;
    cap.onBatch((b) => {
      if (closed) afterClose++;
      frames += b.count;
    });
    cap.start();
    // Close while frames flow: right after the first batch (bounded wait; the flooder
    // needs a moment to start).
    const deadline = Date.now() + 3_000;
    while (frames === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const p = cap.close();
    await p;
    closed = true;
    t.ok(frames > 0, `round ${round}: captured ${frames} frames before close`);
  }
  await new Promise((r) => setTimeout(r, 100));
  t.equal(afterClose, 0, 'no batch callback after close() resolved');
  flood.kill('SIGKILL');
});
