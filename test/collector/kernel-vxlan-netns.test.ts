import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { inNetns, ip, makeNetnsPair, parseSummary, readStore, readStoredFile, sleep, startCollector, startTcpdump } from './helpers.js';

// Real namespaces and a real Linux vxlan device: namespace A has vx0 (VNI 42, remote = the
// collector in namespace B, over a veth). Traffic sent through vx0 (pings to a neighbour
// with a static ARP entry, so nothing else is on the wire) must be stored by the collector
// exactly as tcpdump sees it on vx0.

t.test('real netns + Linux vxlan device: the collector stores the inner frames tcpdump sees on vx0', async (t) => {
  const pair = await makeNetnsPair(t, 'psl-tc-kvx', 93);
  const work = mkdtempSync(join(tmpdir(), 'psl-tc-kvx-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  await ip(['-n', pair.nsA, 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '42', 'remote', pair.ipB, 'dstport', '4789', 'dev', pair.ifA]);
  await ip(['-n', pair.nsA, 'addr', 'add', '192.168.42.1/24', 'dev', 'vx0']);
  await ip(['-n', pair.nsA, 'link', 'set', 'vx0', 'up']);
  await ip(['-n', pair.nsA, 'neigh', 'add', '192.168.42.2', 'lladdr', '02:00:00:00:42:02', 'dev', 'vx0', 'nud', 'permanent']);
  const out = join(work, 'store');
  const c = await startCollector(t, ['--vxlan', `${pair.ipB}:4789`, '--out', out], { netns: pair.nsB });
  const capFile = join(work, 'vx0.pcap');
  const td = await startTcpdump(t, pair.nsA, 'vx0', capFile);
  // Ten UDP datagrams through vx0, small and near its MTU (1450); nobody answers.
  const script = `
const s = require('node:dgram').createSocket('udp4');
const sizes = [1, 20, 100, 500, 1000, 1400, 1, 64, 1300, 1414];
let i = 0;
(function next() {
  if (i >= sizes.length) { s.close(); return; }
  const n = sizes[i];
  s.send(Buffer.alloc(n, i++), 9, '192.168.42.2', () => setTimeout(next, 20));
})();`;
  await inNetns(pair.nsA, process.execPath, ['-e', script]);
  await sleep(300);
  await td.stop();
  const r = await c.stop('SIGINT');
  t.equal(r.code, 0, 'collector exits 0');
  const seen = readStoredFile(capFile).frames;
  t.equal(seen.length, 10, 'tcpdump saw the 10 datagrams on vx0');
  const got = readStore(out);
  t.equal(got.length, seen.length, 'the collector stored as many frames');
  t.ok(got.every((g, i) => g.data.equals(seen[i]!.data)), 'byte for byte, in order');
  t.same([...new Set(got.map((g) => g.iface.name))], [`vxlan-vni42-${pair.ipA}`]);
  t.same([...new Set(got.map((g) => g.iface.description))], [`vxlan vni 42 from ${pair.ipA}`]);
  const ns = (x: { tsSec: number; tsNsec: number }): number => x.tsSec * 1e3 + x.tsNsec / 1e6;
  const skew = got.map((g, i) => ns(g) - ns(seen[i]!));
  t.ok(skew.every((d) => d > -1 && d < 100), `receive time within [-1, 100) ms of tcpdump's send time (${skew.map((d) => d.toFixed(2)).join(' ')})`);
  t.same(parseSummary(r.stderr)['vxlan'], { received: 10, delivered: 10, dropped: 0, reasons: {} });
});
