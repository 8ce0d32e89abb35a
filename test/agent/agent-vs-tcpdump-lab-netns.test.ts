import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { httpFromNetns, labDown, labUp, type LabOptions } from '../../lab/index.js';
import { parseSummary, readCaptureFile, sleep, startAgent, startTcpdumpIn, type FileRecord } from './agent-helpers.js';

// Real network namespaces: a lab node of its own (psl-ae-) with CNI-wired client and server
// pods. HTTP from the client pod to the server pod, captured on the server's node-side veth
// at the same time by tcpdump -w (the oracle) and by `podspan agent -w` with the same BPF
// filter: the same frames, byte for byte, in the same order (up to frames the kernel hands
// to the two sockets concurrently, within 1 ms of each other), timestamps within 1 ms. Once
// with the veth's default offloads (GSO/TSO super-frames appear with bulk responses), once
// with them off (on the node-side veth and its peer in the pod).

const execFileP = promisify(execFile);
const OPTS: LabOptions = { prefix: 'psl-ae-', subnet: '10.83.0.0/24' };
const NODE_NS = 'psl-ae-node';
const FILTER = 'tcp port 8080';
const MAX_SKEW_NS = 1_000_000n;

const dir = mkdtempSync(join(tmpdir(), 'psl-agent-e2e-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function tsNs(r: FileRecord): bigint {
  return BigInt(r.tsSec) * 1_000_000_000n + BigInt(r.tsNsec);
}

t.test('real netns lab: podspan agent -w writes what tcpdump -w writes, offloads on and off', async (t) => {
  t.teardown(() => labDown(OPTS));
  await labDown(OPTS);
  const info = await labUp(OPTS);
  const server = info.pods.find((p) => p.name === 'server')!;
  const client = info.pods.find((p) => p.name === 'client')!;
  const veth = server.hostVeth!;
  const base = `http://${server.ip!}:8080`;

  for (const offloads of ['on', 'off'] as const) {
    await t.test(`offloads ${offloads}`, async (t) => {
      if (offloads === 'off') {
        // The node-side veth, and its peer: frames the server sends are received on the
        // node-side veth as the pod's eth0 built them, so TSO there makes super-frames too.
        for (const [ns, dev] of [[NODE_NS, veth], [server.netns, 'eth0']] as const) {
          await execFileP('ip', ['netns', 'exec', ns, 'ethtool', '-K', dev, 'gro', 'off', 'gso', 'off', 'tso', 'off']);
          const { stdout } = await execFileP('ip', ['netns', 'exec', ns, 'ethtool', '-k', dev]);
          t.match(stdout, /tcp-segmentation-offload: off/, `${dev}: tso off`);
          t.match(stdout, /generic-segmentation-offload: off/, `${dev}: gso off`);
          t.match(stdout, /generic-receive-offload: off/, `${dev}: gro off`);
        }
      }
      const oracleFile = join(dir, `tcpdump-${offloads}.pcap`);
      const agentFile = join(dir, `agent-${offloads}.pcapng`);
      const tcpdump = await startTcpdumpIn(t, NODE_NS, veth, FILTER, oracleFile);
      const agent = await startAgent(t, ['--pod-ip', server.ip!, '--netns', NODE_NS, '--filter', FILTER, '-w', agentFile]);
      t.match(agent.stderr(), new RegExp(`listening on ${veth} \\(pod ${server.ip!.replace(/\./g, '\\.')}\\)`), 'the agent found the server veth from the pod IP');

      const items = await httpFromNetns(client.netns, `${base}/api/items`, { count: 200 });
      t.equal(items.filter((r) => r.status === 200).length, 200, '200 GET /api/items answered');
      const bulk = await httpFromNetns(client.netns, `${base}/bytes/1000000`, { count: 3 });
      t.ok(bulk.every((r) => r.status === 200 && r.bytes === 1_000_000), '3 bulk responses of 1 MB');
      await sleep(1500); // tcpdump's TPACKET_V3 block timeout is 1 s: let every block retire

      const tcpdumpErr = await tcpdump.stop();
      t.equal(await agent.stop(), 0, 'the agent exits 0 on SIGINT');
      const oracle = readCaptureFile(oracleFile).records;
      const ours = readCaptureFile(agentFile);
      t.ok(oracle.length > 400, `tcpdump wrote ${oracle.length} frames`);
      t.equal(ours.records.length, oracle.length, 'the same number of frames');
      // Frames sent on two CPUs at once (the pod's transmit and the bridge's, an ACK from
      // softirq beside the application's send) reach each packet socket in the order that
      // socket's CPU got to them, so two sockets can interleave such frames differently;
      // tcpdump against tcpdump does the same. So: every frame identical (bytes, lengths),
      // timestamps within 1 ms of the same frame in tcpdump's file, and the order the same
      // except between frames captured within 1 ms of each other.
      const queues = new Map<string, number[]>();
      oracle.forEach((o, j) => {
        const k = `${o.wireLen}:${o.data.toString('base64')}`;
        const q = queues.get(k) ?? [];
        q.push(j);
        queues.set(k, q);
      });
      let unmatched = 0;
      let maxSkew = 0n;
      let displaced = 0;
      let displacedFar = 0;
      ours.records.forEach((a, i) => {
        const j = queues.get(`${a.wireLen}:${a.data.toString('base64')}`)?.shift();
        if (j === undefined) {
          unmatched++;
          return;
        }
        const o = oracle[j]!;
        const skew = tsNs(a) > tsNs(o) ? tsNs(a) - tsNs(o) : tsNs(o) - tsNs(a);
        if (skew > maxSkew) maxSkew = skew;
        if (j !== i) {
          displaced++;
          const there = oracle[Math.min(i, oracle.length - 1)]!;
          const gap = tsNs(there) > tsNs(o) ? tsNs(there) - tsNs(o) : tsNs(o) - tsNs(there);
          if (gap > MAX_SKEW_NS) displacedFar++;
        }
      });
      t.equal(unmatched, 0, 'every frame has an identical frame (bytes and lengths) in tcpdump\'s file');
      t.equal(displacedFar, 0, `same order, except ${displaced} frame(s) interleaved differently with frames captured within 1 ms of them`);
      const biggest = Math.max(...ours.records.map((r) => r.capLen));
      t.comment(`offloads ${offloads}: ${ours.records.length} frames, largest ${biggest} bytes${biggest > 1514 ? ' (GSO/GRO super-frames)' : ''}`);
      if (offloads === 'off') t.ok(biggest <= 1514, 'no super-frame once offloads are off');

      t.same(ours.interfaces.map((i) => [i.name, i.description, i.tsResolPower, i.linkType]), [[veth, `pod ${server.ip!}`, 9, 1]], 'IDB: the veth, the pod IP, ns');
      t.equal(ours.sections[0]?.userAppl, 'podspan agent');
      const isb = ours.stats[0];
      const summary = parseSummary(agent.stderr());
      t.equal(summary?.captured, ours.records.length, 'summary: packets captured');
      t.equal(isb?.usrDeliv, BigInt(ours.records.length), 'isb_usrdeliv');
      t.equal(isb?.ifRecv, BigInt(summary?.received ?? -1), 'isb_ifrecv == "received by filter"');
      t.equal(isb?.ifDrop, BigInt(summary?.droppedByKernel ?? -1), 'isb_ifdrop == "dropped by kernel"');
      t.equal(summary?.droppedByKernel, 0);
      const m = /(\d+) packets? captured/.exec(tcpdumpErr);
      t.equal(Number(m?.[1]), oracle.length, 'tcpdump\'s own count agrees with its file');
    });
  }
});
