import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFileSink } from '../../agent/export/sink.js';
import { Agent, AGENT_DROP_REASONS, type AgentSummary } from '../../agent/agent.js';
import type { FrameSink } from '../../agent/export/sink.js';
import { floodUdp, inNetns, makeVethPair, sendUdp } from '../native/netns-fixture.js';
import { readCaptureBuffer, sleep, type ReadCapture } from './agent-helpers.js';

// Real namespaces: veth pairs this test creates (psl-ta-*), traffic inside them only. The
// Agent runs in-process with an in-memory output, so the test can slow it down or break it.

class MemorySink implements FrameSink {
  readonly name = 'memory';
  readonly chunks: Buffer[] = [];
  inFlight = 0;
  maxInFlight = 0;
  closed = false;
  constructor(private readonly delayMs = 0, private readonly failAfterWrites = Infinity) {}
  async write(bufs: readonly Buffer[]): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.chunks.length >= this.failAfterWrites) throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
      this.chunks.push(Buffer.concat(bufs)); // a copy: the agent reuses its buffers once this resolves
      if (this.delayMs > 0) await sleep(this.delayMs);
    } finally {
      this.inFlight--;
    }
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  file(): ReadCapture {
    return readCaptureBuffer(Buffer.concat(this.chunks));
  }
}

function dstPort(frame: Buffer): number {
  return frame.readUInt16BE(14 + (frame.readUInt8(14) & 0x0f) * 4 + 2);
}

/** delivered + batch_full == written + Σ drops, per interface. */
function checkAccounting(t: Test, s: AgentSummary): void {
  for (const i of s.interfaces) {
    const drops = AGENT_DROP_REASONS.reduce((a, r) => a + i.drops[r], 0);
    t.equal(i.delivered + i.drops.batch_full, i.written + drops, `${i.iface}: every frame handed over is written or counted (${JSON.stringify(i.drops)})`);
  }
}

t.test('real netns veth: under a slow output the kernel drops, and the ISB carries libpcap\'s counts exactly', async (t) => {
  const pair = await makeVethPair(t, 'psl-ta-drop', 81);
  const sink = new MemorySink(25);
  const agent = await Agent.start({
    ifaces: [pair.ifB], netns: pair.nsB, filter: 'udp and dst port 41001', sink,
    bufferSize: 256 * 1024, batchRows: 256, batchBytes: 256 * 1024, snapLen: 2048, timeoutMs: 5,
  });
  t.teardown(() => agent.stop());
  const flood = floodUdp(pair.nsA, pair.ipB, 41001, 150_000, 3_000);
  t.teardown(() => { if (flood.exitCode === null) flood.kill('SIGKILL'); });
  await new Promise<void>((r) => flood.once('exit', () => r()));
  const s = await agent.stop();
  const file = sink.file();
  const i = s.interfaces[0]!;
  t.ok(i.dropped > 0, `the kernel dropped ${i.dropped} of ${i.received} frames`);
  t.equal(sink.maxInFlight, 1, 'one write at a time: the batch is held, nothing queues up in memory');
  t.equal(file.stats.length, 1, 'one ISB');
  const isb = file.stats[0]!;
  t.equal(isb.ifDrop, BigInt(i.dropped), 'isb_ifdrop == pcap_stats ps_drop');
  t.equal(isb.ifRecv, BigInt(i.received), 'isb_ifrecv == pcap_stats ps_recv');
  t.equal(isb.usrDeliv, BigInt(file.records.length), 'isb_usrdeliv == EPBs in the file');
  t.equal(isb.osDrop, BigInt(AGENT_DROP_REASONS.reduce((a, r) => a + i.drops[r], 0)), 'isb_osdrop == podspan\'s own drops');
  t.equal(s.captured, file.records.length);
  t.equal(s.droppedByKernel, i.dropped);
  t.ok(i.received >= i.dropped + file.records.length, 'received covers dropped + written');
  t.match(isb.comments.join('\n'), /counters provided by podspan agent: kernel received \d+, kernel dropped \d+/);
  checkAccounting(t, s);
  t.ok(sink.closed, 'the output is closed at stop');
});

t.test('real netns veth: export targets are excluded in the kernel: (filter) and not (host H and udp port P)', async (t) => {
  const pair = await makeVethPair(t, 'psl-ta-excl', 82);
  const sink = new MemorySink();
  const agent = await Agent.start({
    ifaces: [pair.ifB], netns: pair.nsB, filter: 'udp', sink, timeoutMs: 10,
    exclude: [{ host: pair.ipB, transport: 'udp', port: 41002 }],
  });
  t.teardown(() => agent.stop());
  t.equal(await sendUdp(pair.nsA, pair.ipB, 41002, 30, 10_000), 30);
  t.equal(await sendUdp(pair.nsA, pair.ipB, 41003, 20, 10_000), 20);
  await sleep(200);
  const s = await agent.stop();
  const ports = sink.file().records.map((r) => dstPort(r.data));
  t.equal(ports.length, 20, 'only the 20 frames to the other port');
  t.ok(ports.every((p) => p === 41003), 'none of the export target\'s');
  t.equal(s.received, 20, 'the kernel never passed the excluded frames to the socket');
});

t.test('real netns veth: ICMP errors the collector host sends about our exports are excluded too (no feedback loop), others are not', async (t) => {
  const pair = await makeVethPair(t, 'psl-ta-icmp', 89);
  const sink = new MemorySink();
  // The "collector" (nsA) listens on neither port: each datagram gets an ICMP port unreachable.
  const agent = await Agent.start({
    ifaces: [pair.ifB], netns: pair.nsB, filter: 'icmp', sink, timeoutMs: 10,
    exclude: [{ host: pair.ipA, transport: 'udp', port: 41012 }],
  });
  t.teardown(() => agent.stop());
  t.equal(await sendUdp(pair.nsB, pair.ipA, 41012, 3, 10_000), 3);
  await sleep(1100); // Linux sends at most about one port unreachable per second to a peer
  t.equal(await sendUdp(pair.nsB, pair.ipA, 41013, 3, 10_000), 3);
  await sleep(300);
  await agent.stop();
  // ICMP (IPv4 without options) in Ethernet: type at 34, the quoted UDP destination port at 34 + 8 + 20 + 2.
  const quoted = sink.file().records.filter((r) => r.data.readUInt8(23) === 1 && r.data.readUInt8(34) === 3).map((r) => r.data.readUInt16BE(64));
  t.ok(quoted.includes(41013), `port unreachable about another port is captured (${quoted.join(', ')})`);
  t.notOk(quoted.includes(41012), 'none about the export target\'s port');
});

t.test('real netns veth: -c COUNT writes exactly COUNT frames; the rest are counted as after_stop', async (t) => {
  const pair = await makeVethPair(t, 'psl-ta-count', 83);
  const sink = new MemorySink();
  const agent = await Agent.start({ ifaces: [pair.ifB], netns: pair.nsB, filter: 'udp and dst port 41004', sink, count: 25, timeoutMs: 50 });
  t.teardown(() => agent.stop());
  await sendUdp(pair.nsA, pair.ipB, 41004, 100, 10_000);
  const s = await Promise.race([agent.done, sleep(5_000).then(() => undefined)]);
  t.ok(s !== undefined, 'the agent stops by itself');
  if (s === undefined) return;
  t.equal(s.reason, 'count');
  t.equal(s.captured, 25);
  const file = sink.file();
  t.equal(file.records.length, 25, '25 EPBs');
  t.equal(file.stats[0]?.usrDeliv, 25n);
  checkAccounting(t, s);
});

t.test('real netns: two interfaces merge into one file, each with its IDB and ISB', async (t) => {
  const pair = await makeVethPair(t, 'psl-ta-two', 84);
  const sink = new MemorySink();
  const agent = await Agent.start({ ifaces: [pair.ifB, 'lo'], netns: pair.nsB, filter: 'udp and dst port 41005', sink, timeoutMs: 10 });
  t.teardown(() => agent.stop());
  t.equal(await sendUdp(pair.nsA, pair.ipB, 41005, 20, 10_000), 20);
  t.equal(await sendUdp(pair.nsB, '127.0.0.1', 41005, 10, 10_000), 10);
  await sleep(200);
  const s = await agent.stop();
  const file = sink.file();
  t.same(file.interfaces.map((i) => [i.id, i.name, i.linkType, i.tsResolPower]), [[0, pair.ifB, 1, 9], [1, 'lo', 1, 9]]);
  t.equal(file.records.filter((r) => r.ifaceId === 0).length, 20, '20 frames on the veth');
  t.equal(file.records.filter((r) => r.ifaceId === 1).length, 10, '10 on lo');
  t.same(file.stats.map((x) => x.ifaceId).sort(), [0, 1], 'one ISB per interface');
  t.equal(file.sections[0]?.userAppl, 'podspan agent');
  t.equal(s.captured, 30);
  checkAccounting(t, s);
  // Within one interface, the file keeps kernel order.
  for (const id of [0, 1]) {
    const ts = file.records.filter((r) => r.ifaceId === id).map((r) => BigInt(r.tsSec) * 1_000_000_000n + BigInt(r.tsNsec));
    t.ok(ts.every((v, k) => k === 0 || v >= ts[k - 1]!), `interface ${id}: timestamps never go back`);
  }
});

t.test('real netns veth: an output error stops the agent; the frames are counted as write_error', async (t) => {
  const pair = await makeVethPair(t, 'psl-ta-werr', 85);
  const sink = new MemorySink(0, 3); // SHB, IDB, one batch; then EIO
  const agent = await Agent.start({ ifaces: [pair.ifB], netns: pair.nsB, filter: 'udp and dst port 41006', sink, timeoutMs: 5 });
  t.teardown(() => agent.stop());
  await sendUdp(pair.nsA, pair.ipB, 41006, 200, 10_000);
  const s = await Promise.race([agent.done, sleep(5_000).then(() => undefined)]);
  t.ok(s !== undefined, 'the agent stops by itself');
  if (s === undefined) return;
  t.equal(s.reason, 'write_error');
  t.equal(s.writeError?.code, 'EIO');
  t.ok(s.drops.write_error > 0, `${s.drops.write_error} frames counted as write_error`);
  t.equal(s.captured, sink.file().records.length, 'captured counts only what was written');
  checkAccounting(t, s);
});

t.test('real netns veth: -w on a disk that fills up: the file holds exactly the frames counted captured, and ends at a block boundary', async (t) => {
  const mnt = mkdtempSync(join(tmpdir(), 'psl-ta-full-'));
  t.teardown(() => rmSync(mnt, { recursive: true, force: true }));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'psl-ta-full', mnt]);
  } catch (e) {
    if (process.env['CI'] === 'true') throw e;
    t.comment(`SKIP: cannot mount a tmpfs here (${(e as Error).message})`);
    return;
  }
  t.teardown(() => {
    try {
      execFileSync('umount', [mnt]);
    } catch {
      // already gone
    }
  });
  const pair = await makeVethPair(t, 'psl-ta-full', 90);
  const file = join(mnt, 'f.pcapng');
  const agent = await Agent.start({ ifaces: [pair.ifB], netns: pair.nsB, filter: 'udp and dst port 41014', sink: () => openFileSink(file), timeoutMs: 5 });
  t.teardown(() => agent.stop());
  await sendUdp(pair.nsA, pair.ipB, 41014, 300, 10_000);
  const s = await Promise.race([agent.done, sleep(10_000).then(() => undefined)]);
  t.ok(s !== undefined, 'the agent stops by itself');
  if (s === undefined) return;
  t.equal(s.reason, 'write_error');
  t.equal(s.writeError?.code, 'ENOSPC');
  let records = -1;
  try {
    records = readCaptureBuffer(readFileSync(file)).records.length;
  } catch (e) {
    t.fail(`the file is cut mid-block: ${(e as Error).message}`);
  }
  t.equal(records, s.captured, `the file holds the ${s.captured} frames counted captured`);
  checkAccounting(t, s);
});

t.test('real netns: a capture that dies (interface deleted) with no pod to follow stops the agent', async (t) => {
  const pair = await makeVethPair(t, 'psl-ta-gone', 86);
  const sink = new MemorySink();
  const agent = await Agent.start({ ifaces: [pair.ifB], netns: pair.nsB, sink, timeoutMs: 10 });
  t.teardown(() => agent.stop());
  await inNetns(pair.nsA, 'ip', ['link', 'del', pair.ifA]);
  const s = await Promise.race([agent.done, sleep(5_000).then(() => undefined)]);
  t.equal(s?.reason, 'no_interfaces');
  t.match(s?.interfaces[0]?.endNote ?? '', /capture stopped/);
  t.match(sink.file().stats[0]?.comments.join('\n') ?? '', /capture stopped/, 'the ISB says why the interface ended');
});

t.test('real netns, routed CNI: the pod IP moves to another veth (no capture error); re-resolution reattaches', async (t) => {
  // A node namespace with two "pods", each on a veth with a /32 route, as Calico wires them.
  const node = `psl-ta-mv${process.pid}-node`;
  const pods = [`psl-ta-mv${process.pid}-a`, `psl-ta-mv${process.pid}-b`];
  const podIp = '10.199.89.2';
  const ipc = (args: string[]): void => {
    execFileSync('ip', args, { stdio: 'ignore' });
  };
  t.teardown(() => {
    for (const ns of [...pods, node]) if (existsSync(`/var/run/netns/${ns}`)) ipc(['netns', 'del', ns]);
  });
  for (const ns of [node, ...pods]) {
    ipc(['netns', 'add', ns]);
    ipc(['-n', ns, 'link', 'set', 'lo', 'up']);
  }
  ipc(['-n', node, 'addr', 'add', '10.199.89.1/32', 'dev', 'lo']);
  ['a', 'b'].forEach((x, i) => {
    ipc(['-n', node, 'link', 'add', `cali${x}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pods[i]!]);
    ipc(['-n', node, 'link', 'set', `cali${x}`, 'up']);
    ipc(['-n', pods[i]!, 'link', 'set', 'eth0', 'up']);
  });
  ipc(['-n', pods[0]!, 'addr', 'add', `${podIp}/32`, 'dev', 'eth0']);
  ipc(['-n', node, 'route', 'add', `${podIp}/32`, 'dev', 'calia']);

  const sink = new MemorySink();
  const events: string[] = [];
  const agent = await Agent.start({
    podIps: [podIp], netns: node, filter: 'udp and dst port 41007', sink, timeoutMs: 10, resolveIntervalMs: 200,
    onEvent: (e) => events.push(e.type === 'reattached' ? `reattached ${e.from} ${e.to}` : e.type),
  });
  t.teardown(() => agent.stop());
  t.equal(await sendUdp(node, podIp, 41007, 10, 10_000), 10);
  await sleep(100);
  // The IP moves to pod b; pod a's veth stays (its capture sees no error).
  ipc(['-n', pods[0]!, 'addr', 'del', `${podIp}/32`, 'dev', 'eth0']);
  ipc(['-n', pods[1]!, 'addr', 'add', `${podIp}/32`, 'dev', 'eth0']);
  ipc(['-n', node, 'route', 'replace', `${podIp}/32`, 'dev', 'calib']);
  const deadline = Date.now() + 3_000;
  while (!events.includes('reattached calia calib') && Date.now() < deadline) await sleep(20);
  t.ok(events.includes('reattached calia calib'), `re-resolution moved the capture (${events.join(', ')})`);
  t.notOk(events.includes('capture_error'), 'without any capture error');
  t.equal(await sendUdp(node, podIp, 41007, 10, 10_000), 10);
  await sleep(100);
  const s = await agent.stop();
  const f = sink.file();
  t.same(f.interfaces.map((i) => i.name), ['calia', 'calib']);
  t.equal(f.records.filter((r) => r.ifaceId === 0).length, 10);
  t.equal(f.records.filter((r) => r.ifaceId === 1).length, 10);
  t.match(f.stats.find((x) => x.ifaceId === 0)?.comments.join('\n') ?? '', /reattached: pod 10\.199\.89\.2 moved from calia to calib after \d+ ms/);
  t.equal(s.reattachments, 1);
  checkAccounting(t, s);
});
