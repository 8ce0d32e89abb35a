import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { canonicalIp } from '../../../agent/target/ip-json.js';
import { findVethForPodIp, isPodIp } from '../../../agent/target/veth.js';
import { CNI_VERSION, cniExec, type BridgeNetConf } from '../../../lab/cni.js';
import { netnsPath } from '../../../lab/index.js';
import { readCaptureFile, sleep, startAgent } from '../agent-helpers.js';

// Real network namespaces: a node namespace with a bridge and one IPv6-only pod added by
// Debian's CNI bridge plugin with host-local IPAM on fd77:6::/64, as a kubelet on an IPv6
// (or dual-stack) cluster does. The lab is IPv4; this test builds its own node (psl-a6-).

const execFileP = promisify(execFile);
const NODE = 'psl-a6-node';
const POD = 'psl-a6-pod';
const BRIDGE = 'psl-a6-br0';
const dir = mkdtempSync(join(tmpdir(), 'psl-a6-'));

async function sh(args: string[]): Promise<string> {
  return (await execFileP(args[0]!, args.slice(1))).stdout;
}

async function cleanup(): Promise<void> {
  for (const ns of [POD, NODE]) await execFileP('ip', ['netns', 'del', ns]).catch(() => undefined);
}

function netconf(): BridgeNetConf {
  return {
    cniVersion: CNI_VERSION,
    name: 'psl-a6-net',
    type: 'bridge',
    bridge: BRIDGE,
    isGateway: true,
    ipMasq: false,
    hairpinMode: false,
    ipam: { type: 'host-local', ranges: [[{ subnet: 'fd77:6::/64' }]], dataDir: join(dir, 'cni') },
  };
}

t.teardown(async () => {
  await cleanup();
  rmSync(dir, { recursive: true, force: true });
});

t.test('IPv6 addresses: accepted and compared in any spelling', async (t) => {
  t.ok(isPodIp('fd77:6::2'));
  t.ok(isPodIp('10.0.0.1'));
  t.notOk(isPodIp('fe80::1%eth0'), 'no zone ids');
  t.notOk(isPodIp('10.0.0'));
  t.equal(canonicalIp('FD77:0006:0:0::0002'), 'fd77:6::2');
  t.equal(canonicalIp('::ffff:10.0.0.1'), '::ffff:a00:1');
});

t.test('real netns, IPv6 pod wired by the CNI bridge plugin: found by peer scan and by neighbour + FDB; the agent captures it by --pod-ip', async (t) => {
  await cleanup();
  for (const ns of [NODE, POD]) {
    await sh(['ip', 'netns', 'add', ns]);
    // No duplicate address detection: addresses are usable at once (a test, not a network).
    await sh(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
    await sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  }
  const res = await cniExec({ command: 'ADD', containerId: 'psl-a6-pod', podNetnsPath: netnsPath(POD), ifname: 'eth0', nodeNetns: NODE, netconf: netconf() });
  const podIp = res?.ips?.[0]?.address.split('/')[0];
  t.ok(podIp !== undefined && podIp.startsWith('fd77:6::'), `the pod got ${String(podIp)}`);
  const hostVeth = res?.interfaces?.find((i) => i.sandbox === undefined && i.name !== BRIDGE)?.name;
  t.ok(hostVeth, `the host-side veth is ${String(hostVeth)}`);

  const byScan = await findVethForPodIp(podIp!, { netns: NODE });
  t.same(byScan && [byScan.ifname, byScan.method, byScan.podNetns], [hostVeth, 'peer', POD], 'no neighbour entry yet: the veth peer scan');
  const spelled = podIp!.replace('fd77:6::', 'FD77:0006:0000::');
  t.equal((await findVethForPodIp(spelled, { netns: NODE }))?.ifname, hostVeth, 'another spelling of the same address');

  const file = join(dir, 'v6.pcapng');
  const agent = await startAgent(t, ['--pod-ip', spelled, '--netns', NODE, '--filter', 'udp port 9', '-w', file]);
  await sh([
    'ip', 'netns', 'exec', NODE, process.execPath, '-e',
    `const s=require('dgram').createSocket('udp6');let n=0;const go=()=>{if(n===5){s.close();return;}s.send(Buffer.from('v6-'+n),9,'${podIp!}',()=>{n++;setTimeout(go,20);});};go();`,
  ]);
  await sleep(300);
  t.equal(await agent.stop(), 0);
  const cap = readCaptureFile(file);
  t.same(cap.interfaces.map((i) => [i.name, i.description]), [[hostVeth, `pod ${podIp!}`]], 'the IDB names the veth and the pod IP in canonical form');
  const payloads = cap.records.map((r) => r.data.subarray(14 + 40 + 8).toString()).filter((p) => p.startsWith('v6-'));
  t.same(payloads, ['v6-0', 'v6-1', 'v6-2', 'v6-3', 'v6-4'], 'the five IPv6 datagrams, in order');

  const byFdb = await findVethForPodIp(podIp!, { netns: NODE, scan: false });
  t.same(byFdb && [byFdb.ifname, byFdb.method], [hostVeth, 'fdb'], 'after traffic: neighbour (NDP) + bridge FDB');
  await cniExec({ command: 'DEL', containerId: 'psl-a6-pod', podNetnsPath: netnsPath(POD), ifname: 'eth0', nodeNetns: NODE, netconf: netconf() });
});
