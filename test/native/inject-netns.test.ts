// PacketInjector: real AF_PACKET injection onto a veth in namespaces this test creates;
// tcpdump on the peer is the oracle (byte-identical frames, in order).
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { INJECT_META_COLS, NATIVE_ERR, PacketInjector, isCaptureError, monotonicNs } from '../../native/index.js';
import { ip, makeVethPair, parsePcap, startTcpdump, waitForPcapRecords } from './netns-fixture.js';

/** An Ethernet frame of `len` bytes, EtherType 0x88b5 (local experimental: no stack answers it), with `n` at 14..17. */
function frame(n: number, len: number): Buffer {
  const b = Buffer.alloc(len, (n * 7) & 0xff);
  Buffer.from('020000000002020000000001', 'hex').copy(b, 0);
  b.writeUInt16BE(0x88b5, 12);
  b.writeUInt32BE(n, 14);
  return b;
}

/** Frames packed into one Buffer with INJECT_META rows. */
function pack(frames: Buffer[], dueNs: (i: number) => number = () => 0): { data: Buffer; meta: Float64Array } {
  const data = Buffer.alloc(frames.reduce((a, f) => a + f.length + 3, 7), 0xa5);
  const meta = new Float64Array(frames.length * INJECT_META_COLS);
  let off = 7; // not at 0, and gaps between frames: offsets are honoured
  frames.forEach((f, i) => {
    f.copy(data, off);
    meta[i * 3] = off;
    meta[i * 3 + 1] = f.length;
    meta[i * 3 + 2] = dueNs(i);
    off += f.length + 3;
  });
  return { data, meta };
}

t.test('open fails with typed errors: no such interface, interface down, bad namespace', async (t) => {
  const pair = await makeVethPair(t, 'ij-e', 231);
  const codeOf = (fn: () => unknown): string | undefined => {
    try {
      fn();
      return undefined;
    } catch (e) {
      return isCaptureError(e) ? e.code : `not a CaptureError: ${String(e)}`;
    }
  };
  t.equal(codeOf(() => PacketInjector.open({ iface: 'ij-nonexist0', netns: pair.nsA })), NATIVE_ERR.INJECT_NO_SUCH_DEVICE);
  await ip(['-n', pair.nsA, 'link', 'set', pair.ifA, 'down']);
  t.equal(codeOf(() => PacketInjector.open({ iface: pair.ifA, netns: pair.nsA })), NATIVE_ERR.INJECT_IFACE_DOWN);
  t.equal(codeOf(() => PacketInjector.open({ iface: pair.ifA, netns: 'ij-no-such-netns' })), NATIVE_ERR.NETNS);
  t.equal(codeOf(() => PacketInjector.open({ iface: '' })), NATIVE_ERR.NATIVE_ARG);
});

t.test('injects a batch of 600 frames of 60..1514 bytes; tcpdump on the peer sees them byte-identical and in order', async (t) => {
  const pair = await makeVethPair(t, 'ij-b', 232);
  const dir = mkdtempSync(join(tmpdir(), 'ij-inject-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'peer.pcap');
  const dump = await startTcpdump(t, pair.nsB, pair.ifB, 'ether proto 0x88b5', file, 2048);
  const inj = PacketInjector.open({ iface: pair.ifA, netns: pair.nsA });
  t.teardown(() => inj.close());
  t.equal(inj.mtu, 1500);
  t.equal(inj.maxFrameLen, 1514);
  const frames = Array.from({ length: 600 }, (_, i) => frame(i, 60 + ((i * 97) % 1455)));
  const { data, meta } = pack(frames);
  // Two calls over one array: rows [0, 250) and [250, 600).
  const r1 = await inj.send(data, meta, { count: 250 });
  const r2 = await inj.send(data, meta, { first: 250, count: 350 });
  t.equal(r1.sent + r2.sent, 600);
  t.equal(r2.next, 600);
  t.equal(r1.bytes + r2.bytes, frames.reduce((a, f) => a + f.length, 0));
  t.equal(r1.error, undefined);
  t.equal(r1.tooBig + r2.tooBig + r1.gaveUp + r2.gaveUp, 0);
  t.ok(r1.syscalls < 250, `fewer syscalls (${r1.syscalls}) than frames: sendmmsg batches`);
  t.equal(await waitForPcapRecords(file, 600, 10_000), 600);
  await dump.stop();
  const got = parsePcap(readFileSync(file)).records.map((r) => r.data);
  t.equal(got.length, 600);
  let same = 0;
  for (let i = 0; i < 600; i++) if (got[i]!.equals(frames[i]!)) same++;
  t.equal(same, 600, 'every frame identical, in order');
});

t.test('a frame over MTU + 14 is skipped and counted (EMSGSIZE); the rest of the batch goes', async (t) => {
  const pair = await makeVethPair(t, 'ij-m', 233);
  const dir = mkdtempSync(join(tmpdir(), 'ij-inject-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'peer.pcap');
  const dump = await startTcpdump(t, pair.nsB, pair.ifB, 'ether proto 0x88b5', file, 2048);
  const inj = PacketInjector.open({ iface: pair.ifA, netns: pair.nsA });
  t.teardown(() => inj.close());
  const frames = [frame(0, 100), frame(1, 1515), frame(2, 1514), frame(3, 9000), frame(4, 60)];
  const { data, meta } = pack(frames);
  const r = await inj.send(data, meta, { count: frames.length });
  t.equal(r.sent, 3);
  t.equal(r.tooBig, 2);
  t.equal(r.next, 5);
  t.equal(r.error, undefined);
  t.equal(await waitForPcapRecords(file, 3, 10_000), 3);
  await dump.stop();
  const got = parsePcap(readFileSync(file)).records.map((r) => r.data.readUInt32BE(14));
  t.same(got, [0, 2, 4]);
});

t.test('paced send keeps order; cancel() stops a send waiting for a far-away due time', async (t) => {
  const pair = await makeVethPair(t, 'ij-p', 234);
  const dir = mkdtempSync(join(tmpdir(), 'ij-inject-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'peer.pcap');
  const dump = await startTcpdump(t, pair.nsB, pair.ifB, 'ether proto 0x88b5', file, 2048);
  const inj = PacketInjector.open({ iface: pair.ifA, netns: pair.nsA });
  t.teardown(() => inj.close());
  // 20 frames 1 ms apart, then one due in an hour.
  const frames = Array.from({ length: 21 }, (_, i) => frame(i, 80));
  const { data, meta } = pack(frames, (i) => (i < 20 ? i * 1_000_000 : 3_600_000_000_000));
  const p = inj.send(data, meta, { count: 21, baseNs: monotonicNs() });
  t.ok(inj.busy);
  await t.rejects(inj.send(data, meta, { count: 1 }), { code: NATIVE_ERR.NATIVE_STATE }, 'one send at a time');
  t.equal(await waitForPcapRecords(file, 20, 10_000), 20);
  inj.cancel();
  const r = await p;
  t.equal(r.cancelled, true);
  t.equal(r.sent, 20);
  t.equal(r.next, 20);
  await dump.stop();
  t.same(parsePcap(readFileSync(file)).records.map((r) => r.data.readUInt32BE(14)), Array.from({ length: 20 }, (_, i) => i));
  // baseNs 'now': the schedule starts on the worker thread; the base used comes back.
  const before = monotonicNs();
  const r2 = await inj.send(data, meta, { count: 3, baseNs: 'now' });
  t.equal(r2.sent, 3);
  t.ok(r2.baseNs >= before, 'base taken when the send started');
  await t.rejects(inj.send(data, meta, { count: 1, baseNs: 0n }), { code: NATIVE_ERR.NATIVE_ARG });
});

t.test('rows outside the data are refused before anything is sent; send after close is refused', async (t) => {
  const pair = await makeVethPair(t, 'ij-a', 235);
  const inj = PacketInjector.open({ iface: pair.ifA, netns: pair.nsA });
  const data = Buffer.alloc(100);
  await t.rejects(inj.send(data, new Float64Array([50, 60, 0]), { count: 1 }), { code: NATIVE_ERR.NATIVE_ARG });
  await t.rejects(inj.send(data, new Float64Array([0, 60, 0]), { count: 2 }), { code: NATIVE_ERR.NATIVE_ARG });
  await inj.close();
  await inj.close();
  await t.rejects(inj.send(data, new Float64Array([0, 60, 0]), { count: 1 }), { code: NATIVE_ERR.NATIVE_STATE });
});

t.test('the interface deleted after open: the send stops at once with INJECT_SEND and errno, nothing sent', async (t) => {
  const pair = await makeVethPair(t, 'ij-d', 236);
  const inj = PacketInjector.open({ iface: pair.ifA, netns: pair.nsA });
  t.teardown(() => inj.close());
  await ip(['-n', pair.nsA, 'link', 'del', pair.ifA]);
  const frames = Array.from({ length: 100 }, (_, i) => frame(i, 100));
  const { data, meta } = pack(frames);
  const r = await inj.send(data, meta, { count: frames.length });
  t.equal(r.sent, 0);
  t.equal(r.next, 0);
  t.equal(r.error?.code, NATIVE_ERR.INJECT_SEND);
  t.type(r.error?.details['errno'], 'number');
  t.match(r.error?.message ?? '', /veth0: sending failed: /);
});
