import t from 'tap';
import { CAPTURE_META, CAPTURE_META_COLS, UdpBatchSocket } from '../../native/index.js';

// close() under load: a sender floods the loopback (bounded in count and time) while the
// receiver closes at once, after its first batch, or with a batch still held by JS. No
// callback runs after close() is called, the promise resolves, nothing crashes.

function batch(n: number, len: number): { data: Buffer; meta: Float64Array } {
  const data = Buffer.alloc(n * len, 0x5a);
  const meta = new Float64Array(n * CAPTURE_META_COLS);
  for (let i = 0; i < n; i++) {
    meta[i * CAPTURE_META_COLS + CAPTURE_META.OFFSET] = i * len;
    meta[i * CAPTURE_META_COLS + CAPTURE_META.CAP_LEN] = len;
  }
  return { data, meta };
}

/** Sends batches of 256 datagrams from the event loop until stopped, at most `maxMs`. */
function flood(port: number, maxMs: number): { stop: () => Promise<number> } {
  const tx = UdpBatchSocket.open({ remoteAddress: '127.0.0.1', remotePort: port });
  const { data, meta } = batch(256, 100);
  const hdr = Buffer.alloc(8);
  let running = true;
  let sent = 0;
  const deadline = Date.now() + maxMs;
  const done = new Promise<void>((resolve) => {
    const step = (): void => {
      if (!running || Date.now() > deadline) {
        resolve();
        return;
      }
      sent += tx.sendBatch(hdr, data, meta, { count: 256, maxWaitMs: 0 }).sent;
      setImmediate(step);
    };
    step();
  });
  return {
    stop: async () => {
      running = false;
      await done;
      await tx.close();
      return sent;
    },
  };
}

t.test('close() under load resolves and no callback runs after it', async (t) => {
  for (let round = 0; round < 6; round++) {
    const rx = UdpBatchSocket.open({ bindAddress: '127.0.0.1', batchRows: 64 });
    let closed = false;
    let afterClose = 0;
    let frames = 0;
    let held: Promise<void> | undefined;
    rx.onBatch((b) => {
      if (closed) afterClose++;
      frames += b.count;
      // Odd rounds: hold the slot (a slow async consumer) across close().
      if (round % 2 === 1 && held === undefined) {
        held = new Promise((r) => setTimeout(r, 50));
        return held;
      }
      return undefined;
    });
    rx.start();
    const f = flood(rx.localPort, 3_000);
    if (round >= 2) {
      const deadline = Date.now() + 3_000;
      while (frames === 0 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    }
    const p = rx.close();
    closed = true;
    await p;
    await new Promise((r) => setTimeout(r, 20));
    const sent = await f.stop();
    await held;
    t.equal(afterClose, 0, `round ${round}: no callback after close() (${frames} datagrams before, ${sent} sent)`);
    const s = rx.stats();
    t.ok(s.delivered <= s.received, 'counters after close are the values at close');
    await rx.close(); // idempotent
  }
});

t.test('dropping the socket without close() does not crash the process', async (t) => {
  // Not started: collected like any object. Started sockets hold themselves until close().
  for (let i = 0; i < 100; i++) UdpBatchSocket.open({ bindAddress: '127.0.0.1' });
  const rx = UdpBatchSocket.open({ bindAddress: '127.0.0.1' });
  rx.onBatch(() => undefined).start();
  rx.unref();
  rx.ref();
  await rx.close();
  t.pass('survived');
});
