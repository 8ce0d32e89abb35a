import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { sendUdp, startTcpdump } from '../native/netns-fixture.js';
import { ip, makeNetnsPair, readStoredFile, sleep } from '../collector/helpers.js';
import { EXPORT_LINE, startAgentIn } from './export/netns-agent.js';

// Interop: podspan's VXLAN output received by a Linux vxlan device. Namespaces this test
// creates (gr-k<pid>-a|b): datagrams from A over a veth to B; in B the agent captures veth1
// and exports to 127.0.0.1:4789, where the kernel's vxlan device vx0 (VNI 42) decapsulates
// them. tcpdump on vx0 must see exactly the frames tcpdump sees on veth1.

const work = mkdtempSync(join(tmpdir(), 'gr-kvx-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

t.test('podspan agent --to vxlan:// → Linux vxlan device: tcpdump on vx0 sees the original frames byte for byte', async (t) => {
  const pair = await makeNetnsPair(t, 'gr-k', 181);
  await ip(['-n', pair.nsB, 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '42', 'dstport', '4789', 'nolearning']);
  await ip(['-n', pair.nsB, 'link', 'set', 'vx0', 'up']);
  const filter = 'udp and dst port 41083';
  const onVeth = join(work, 'veth1.pcap');
  const onVx = join(work, 'vx0.pcap');
  const tdVeth = await startTcpdump(t, pair.nsB, pair.ifB, filter, onVeth);
  const tdVx = await startTcpdump(t, pair.nsB, 'vx0', filter, onVx);
  const N = 200;
  const url = 'vxlan://127.0.0.1:4789?vni=42';
  const agent = await startAgentIn(t, pair.nsB, ['--iface', pair.ifB, '--filter', filter, '-c', String(N), '--to', url]);
  t.equal(await sendUdp(pair.nsA, pair.ipB, 41083, N, 10_000), N, `${N} datagrams across the veth`);
  t.equal(await Promise.race([agent.exited, sleep(15_000).then(() => 'timeout')]), 0, 'agent exits 0 after -c');
  const m = EXPORT_LINE.exec(agent.stderr());
  t.ok(m !== null && Number(m[1]) === N && Number(m[3]) === 0, `all ${N} exported:\n${agent.stderr()}`);
  await sleep(300);
  await tdVeth.stop();
  await tdVx.stop();
  const sent = readStoredFile(onVeth).frames;
  const got = readStoredFile(onVx).frames;
  t.equal(sent.length, N, 'tcpdump on veth1 saw every datagram');
  t.equal(got.length, sent.length, 'tcpdump on vx0 saw as many, decapsulated by the kernel');
  t.ok(
    got.every((g, i) => g.data.equals(sent[i]!.data) && g.wireLen === sent[i]!.wireLen),
    'frame i on vx0 == frame i on veth1 (bytes, lengths, order)',
  );
  const stats = JSON.parse(await ip(['-n', pair.nsB, '-j', '-s', 'link', 'show', 'dev', 'vx0'])) as Array<{ stats64: { rx: { packets: number; errors: number; dropped: number } } }>;
  t.ok(stats[0]!.stats64.rx.packets >= N, `vx0 counted ${stats[0]!.stats64.rx.packets} received packets`);
  t.equal(stats[0]!.stats64.rx.errors, 0, 'and no receive errors');
});
