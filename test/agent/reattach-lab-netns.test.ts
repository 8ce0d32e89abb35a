import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CNI_VERSION, cniExec } from '../../lab/cni.js';
import { DEFAULT_PODS, httpFromNetns, labDown, labUp, netnsPath, type LabOptions } from '../../lab/index.js';
import { parseSummary, readCaptureFile, sleep, startAgent } from './agent-helpers.js';

// Real network namespaces: a lab node of its own (psl-ar-) with one CNI-wired pod on a /30,
// so host-local IPAM can only ever give it the same address. The pod is "restarted" the way
// a runtime does it (CNI DEL, then CNI ADD through the lab): a new veth, same pod IP. The
// agent, capturing by pod IP, follows it.

const OPTS: LabOptions = { prefix: 'psl-ar-', subnet: '10.84.0.0/30', pods: DEFAULT_PODS.filter((p) => p.name === 'server') };
const NODE_NS = 'psl-ar-node';
const POD_NS = 'psl-ar-pod-server';

const dir = mkdtempSync(join(tmpdir(), 'psl-agent-reattach-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** CNI DEL of the server pod, with the configuration the lab added it with. */
async function cniDelServer(stateDir: string): Promise<void> {
  await cniExec({
    command: 'DEL',
    containerId: 'podspan-lab-psl-ar-server',
    podNetnsPath: netnsPath(POD_NS),
    ifname: 'eth0',
    nodeNetns: NODE_NS,
    netconf: {
      cniVersion: CNI_VERSION,
      name: 'psl-ar-net',
      type: 'bridge',
      bridge: 'psl-ar-br0',
      isGateway: true,
      ipMasq: false,
      hairpinMode: false,
      ipam: { type: 'host-local', ranges: [[{ subnet: OPTS.subnet! }]], dataDir: join(stateDir, 'cni') },
    },
  });
}

t.test('real netns lab: pod restart (CNI DEL + ADD): the agent reattaches to the new veth, two IDBs, the gap recorded', async (t) => {
  t.teardown(() => labDown(OPTS));
  await labDown(OPTS);
  const before = await labUp(OPTS);
  const pod = before.pods[0]!;
  const podIp = pod.ip!;
  t.equal(podIp, '10.84.0.2');
  const oldVeth = pod.hostVeth!;
  const url = `http://${podIp}:8080/health`;
  const file = join(dir, 'reattach.pcapng');
  const agent = await startAgent(t, ['--pod-ip', podIp, '--netns', NODE_NS, '--filter', 'tcp port 8080', '-w', file]);

  const first = await httpFromNetns(NODE_NS, url, { count: 5 });
  t.ok(first.every((r) => r.status === 200), 'HTTP before the restart');
  await sleep(300);

  await cniDelServer(before.stateDir);
  await agent.waitFor(new RegExp(`capture on ${oldVeth} stopped`), 5_000);
  t.pass('the old capture ends when its veth is deleted');
  const after = await labUp(OPTS);
  const upAt = Date.now();
  const newVeth = after.pods[0]!.hostVeth!;
  t.equal(after.pods[0]!.ip, podIp, 'same pod IP');
  t.not(newVeth, oldVeth, `a new veth (${oldVeth} -> ${newVeth})`);
  const line = await agent.waitFor(/reattached: pod \S+ moved from \S+ to \S+ after \d+ ms/, 5_000);
  const within = Date.now() - upAt;
  t.equal(line.replace(/after \d+ ms/, 'after N ms'), `reattached: pod ${podIp} moved from ${oldVeth} to ${newVeth} after N ms`);
  t.ok(within < 1000, `reattached within a second of the new veth being up (${within} ms after lab up returned)`);

  const second = await httpFromNetns(NODE_NS, url, { count: 5, timeoutMs: 10_000 });
  t.ok(second.every((r) => r.status === 200), 'HTTP after the restart');
  await sleep(300);
  t.equal(await agent.stop(), 0);

  const f = readCaptureFile(file);
  t.same(f.interfaces.map((i) => [i.name, i.description]), [[oldVeth, `pod ${podIp}`], [newVeth, `pod ${podIp}`]], 'two IDBs: the old veth, then the new one');
  const old = f.records.filter((r) => r.ifaceId === 0);
  const neu = f.records.filter((r) => r.ifaceId === 1);
  t.ok(old.length >= 5 * 5, `${old.length} frames before the restart on ${oldVeth}`);
  t.ok(neu.length >= 5 * 5, `${neu.length} frames after the restart on ${newVeth}`);
  const lastOld = old.at(-1)!;
  const firstNew = neu[0]!;
  t.ok(firstNew.tsSec * 1e3 + firstNew.tsNsec / 1e6 > lastOld.tsSec * 1e3 + lastOld.tsNsec / 1e6, 'traffic of the new veth comes after the old one\'s');
  const tcpToPod = neu.filter((r) => r.data.readUInt16BE(12) === 0x0800 && r.data.readUInt8(23) === 6 && r.data.subarray(30, 34).join('.') === podIp);
  t.ok(tcpToPod.length > 0, 'TCP to the pod after the restart is in the file');
  const isbOld = f.stats.find((s) => s.ifaceId === 0);
  t.match(isbOld?.comments.join('\n') ?? '', new RegExp(`reattached: pod ${podIp.replace(/\./g, '\\.')} moved from ${oldVeth} to ${newVeth} after \\d+ ms`), 'the old interface\'s ISB records the move and the gap');
  t.ok(f.stats.some((s) => s.ifaceId === 1), 'an ISB for the new interface at exit');
  t.equal(parseSummary(agent.stderr())?.reattachments, 1, '"1 reattachment"');
});
