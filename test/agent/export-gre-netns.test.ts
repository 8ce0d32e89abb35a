import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { sendUdp, startTcpdump } from '../native/netns-fixture.js';
import { finishedFiles, inNetns, makeNetnsPair, parseSummary, readStore, readStoredFile, sleep, startCollector } from '../collector/helpers.js';
import { EXPORT_LINE, startAgentIn } from './export/netns-agent.js';

// `podspan agent --to gre://…` and `--to erspan://…` (II and III) against `podspan collector
// --gre`: the collector's pcapng holds the same frames, bytes and order as tcpdump's capture
// of the same veth in the same run. Namespaces this test creates (gr-g<pid>-a|b): datagrams
// from A over the veth to B; in B, tcpdump and the agent capture veth1, the agent exports
// over lo to 127.0.0.1, where the collector's raw GRE socket listens (B's only GRE).
// (No Linux gretap/erspan receiver: this kernel has neither device.)

const work = mkdtempSync(join(tmpdir(), 'gr-e2e-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

const CASES: Array<{ url: string; description: string }> = [
  { url: 'gre://127.0.0.1?key=5', description: 'gre (transparent ethernet bridging) key 5 from 127.0.0.1' },
  { url: 'erspan://127.0.0.1?session=9&version=2', description: 'erspan type II session 9 from 127.0.0.1' },
  { url: 'erspan://127.0.0.1?session=10&version=3', description: 'erspan type III session 10 from 127.0.0.1' },
];

for (const [k, c] of CASES.entries()) {
  t.test(`${c.url} → podspan collector --gre (no gretap/erspan device in this kernel to receive it instead): the collector stores what tcpdump saw on the veth (bytes, lengths, order)`, async (t) => {
    const pair = await makeNetnsPair(t, `gr-g${k}`, 171 + k);
    const store = join(work, `store-${k}`);
    const col = await startCollector(t, ['--gre', '--out', store], { netns: pair.nsB });
    const dump = join(work, `veth-${k}.pcap`);
    const filter = 'udp and dst port 41083';
    const td = await startTcpdump(t, pair.nsB, pair.ifB, filter, dump);
    const N = 200;
    const agent = await startAgentIn(t, pair.nsB, ['--iface', pair.ifB, '--filter', filter, '-c', String(N), '--to', c.url]);
    const sent = await sendUdp(pair.nsA, pair.ipB, 41083, N, 10_000);
    t.equal(sent, N, `${N} datagrams across the veth`);
    const code = await Promise.race([agent.exited, sleep(15_000).then(() => 'timeout')]);
    t.equal(code, 0, 'agent exits 0 after -c');
    const m = EXPORT_LINE.exec(agent.stderr());
    t.ok(m, `export line:\n${agent.stderr()}`);
    if (m !== null) t.same([Number(m[1]), m[2], Number(m[3]), Number(m[6])], [N, c.url, 0, 0], 'all exported, none dropped or cut');
    await sleep(300);
    await td.stop();
    const r = await col.stop('SIGINT');
    t.equal(r.code, 0);
    const seen = readStoredFile(dump).frames;
    const got = readStore(store);
    t.equal(seen.length, N, 'tcpdump saw every datagram');
    t.equal(got.length, seen.length, 'the collector stored as many');
    let same = 0;
    for (let i = 0; i < Math.min(got.length, seen.length); i++) if (got[i]!.data.equals(seen[i]!.data) && got[i]!.wireLen === seen[i]!.wireLen) same++;
    t.equal(same, seen.length, 'frame i of the store == frame i of tcpdump');
    t.same([...new Set(got.map((g) => g.iface.description))], [c.description]);
    t.same(parseSummary(r.stderr)['gre'], { received: N, delivered: N, dropped: 0, reasons: {} }, 'gre stage balanced, no drops');
    t.ok(finishedFiles(store).length >= 1);
  });
}

t.test('capturing on lo with a filter that matches GRE: the agent never captures its own GRE export traffic', async (t) => {
  const pair = await makeNetnsPair(t, 'gr-gl', 174);
  const store = join(work, 'store-lo');
  const col = await startCollector(t, ['--gre', '--out', store], { netns: pair.nsB });
  const file = join(work, 'lo.pcapng');
  const N = 50;
  // The user's filter would match the export traffic; the exclusion clause must remove it.
  const agent = await startAgentIn(t, pair.nsB, ['--iface', 'lo', '--filter', 'udp dst port 41090 or proto gre', '-w', file, '--to', 'erspan://127.0.0.1?session=4&version=3']);
  const script = `
const s = require('node:dgram').createSocket('udp4');
let i = 0;
(function next() { if (i >= ${N}) { s.close(); return; } s.send(Buffer.alloc(10 + i, i), 41090, '127.0.0.1', () => { i++; setTimeout(next, 2); }); })();`;
  await inNetns(pair.nsB, process.execPath, ['-e', script]);
  await sleep(500); // exports of those frames pass lo (and would be captured)
  t.equal(await agent.stop(), 0, 'the agent exits 0 on SIGINT');
  await sleep(300);
  const r = await col.stop('SIGINT');
  t.equal(r.code, 0);
  const written = readStoredFile(file).frames;
  t.equal(written.length, N, `exactly the ${N} application datagrams captured, no GRE`);
  const stored = readStore(store);
  t.equal(stored.length, N, 'the collector got each frame once: no capture-export loop');
  t.same(stored.map((f) => f.data.toString('hex')), written.map((f) => f.data.toString('hex')), 'stored == written');
  t.match(agent.stderr(), new RegExp(`^${N} packets exported to erspan://127\\.0\\.0\\.1\\?session=4&version=3, 0 not exported`, 'm'));
});
