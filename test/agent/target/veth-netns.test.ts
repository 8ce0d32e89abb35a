import t from 'tap';
import { findVethForPodIp } from '../../../agent/target/veth.js';
import { httpFromNetns, labDown, labUp, type LabOptions } from '../../../lab/index.js';

// Real network namespaces: a lab node of its own (prefix psl-av-) with two CNI-wired pods.
// The agent finds a pod's node-side veth from the pod IP alone, as on a Kubernetes node.

const OPTS: LabOptions = { prefix: 'psl-av-', subnet: '10.80.0.0/24' };
const NODE_NS = 'psl-av-node';

t.test('real netns lab: findVethForPodIp finds the pod veth by peer scan, by neighbour + FDB, and not for unknown IPs', async (t) => {
  t.teardown(() => labDown(OPTS));
  await labDown(OPTS); // leftovers of a killed run
  const info = await labUp(OPTS);
  const server = info.pods.find((p) => p.name === 'server')!;
  const client = info.pods.find((p) => p.name === 'client')!;
  const svc = info.services.find((s) => s.pod === 'server')!;

  const byScan = await findVethForPodIp(server.ip!, { netns: NODE_NS });
  t.same(byScan && { ifname: byScan.ifname, ifindex: byScan.ifindex }, { ifname: server.hostVeth, ifindex: server.hostVethIfindex }, `server via ${String(byScan?.method)}`);
  t.equal(byScan?.method, 'peer', 'no neighbour entry yet: found through the veth peer scan');
  t.equal(byScan?.podNetns, server.netns, 'the answer names the pod namespace (a hint for the next lookup)');

  const hinted = await findVethForPodIp(client.ip!, { netns: NODE_NS, preferNetns: client.netns });
  t.same(hinted && [hinted.ifname, hinted.method], [client.hostVeth, 'peer'], 'client, scanning its namespace first');

  const byPath = await findVethForPodIp(server.ip!, { netns: `/var/run/netns/${NODE_NS}` });
  t.equal(byPath?.ifname, server.hostVeth, 'the node namespace given as a path (nsenter)');

  t.equal(await findVethForPodIp(server.ip!, { netns: NODE_NS, scan: false }), undefined, 'without the scan and without a neighbour entry: undefined');
  await httpFromNetns(NODE_NS, `${svc.url!}health`); // the node now has a neighbour entry
  const byFdb = await findVethForPodIp(server.ip!, { netns: NODE_NS, scan: false });
  t.same(byFdb, { ifname: server.hostVeth, ifindex: server.hostVethIfindex, method: 'fdb' }, 'neighbour + bridge FDB give the same veth');

  t.equal(await findVethForPodIp('10.80.0.250', { netns: NODE_NS }), undefined, 'unknown IP: undefined');
  t.equal(await findVethForPodIp('not-an-ip', { netns: NODE_NS }), undefined, 'not an IPv4 address: undefined');
});
