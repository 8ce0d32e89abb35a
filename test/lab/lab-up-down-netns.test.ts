import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { httpFromNetns, labDown, labStatus, labUp, listNetns, netnsPids, type LabOptions } from '../../lab/index.js';
import { pidAlive } from '../helpers/run.js';

// Real network namespaces: the lab node with its CNI-wired pods, under a test prefix so a
// lab someone has up (prefix psl-) is left alone. Removed in teardown even on failure.

const OPTS: LabOptions = { prefix: 'psl-lt-', subnet: '10.78.0.0/24' };
const NODE_NS = 'psl-lt-node';

function hostLinks(): string[] {
  const out = JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' })) as { ifname: string }[];
  return out.map((l) => l.ifname).sort();
}

function nodeLinkExists(ifname: string): boolean {
  try {
    execFileSync('ip', ['-n', NODE_NS, 'link', 'show', 'dev', ifname], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

t.test('real netns lab: up wires 2 CNI pods, HTTP works client->server, up is idempotent, down removes all', async (t) => {
  t.teardown(() => labDown(OPTS));
  await labDown(OPTS); // leftovers of a killed run
  const hostBefore = hostLinks();

  const info = await labUp(OPTS);
  t.equal(info.up, true, 'lab reports up');
  t.equal(info.node.netns, NODE_NS);
  t.equal(info.node.bridge, 'psl-lt-br0');
  t.equal(info.node.bridgeExists, true);
  t.equal(info.node.gatewayIp, '10.78.0.1', 'the bridge is the pods\' gateway (isGateway)');
  t.same(info.pods.map((p) => p.name), ['client', 'server']);
  for (const p of info.pods) {
    t.match(p.ip, /^10\.78\.0\.\d+$/, `${p.name} has an IP from host-local`);
    t.equal(p.netns, `psl-lt-pod-${p.name}`);
    t.ok(p.hostVeth !== undefined && nodeLinkExists(p.hostVeth), `${p.name}: host veth ${String(p.hostVeth)} exists in the node namespace`);
  }
  t.not(info.pods[0]!.hostVeth, info.pods[1]!.hostVeth, 'each pod has its own veth');
  t.same(hostLinks(), hostBefore, 'nothing was added to the host namespace');

  const server = info.pods.find((p) => p.name === 'server')!;
  const svc = info.services.find((s) => s.pod === 'server')!;
  t.ok(svc.running, 'the HTTP service runs');
  t.equal(svc.url, `http://${server.ip!}:8080/`);
  t.ok(server.pids.includes(svc.pid), 'its pid is in the server pod namespace');

  const status = await labStatus(OPTS);
  t.same(status, info, 'status reports what up returned');

  // HTTP from the client pod to the server pod, through the CNI bridge.
  const items = await httpFromNetns('psl-lt-pod-client', `${svc.url!}api/items`, { count: 3 });
  t.equal(items.length, 3);
  t.ok(items.every((r) => r.status === 200), 'GET /api/items: 200 three times');
  t.same(JSON.parse(items[0]!.body!).items.map((i: { name: string }) => i.name), ['alpha', 'beta', 'gamma']);
  const echo = await httpFromNetns('psl-lt-pod-client', `${svc.url!}api/echo`, { method: 'POST', body: '{"hello":"lab"}' });
  t.same(JSON.parse(echo[0]!.body!), { bytes: 15, body: '{"hello":"lab"}' }, 'POST /api/echo');
  const missing = await httpFromNetns('psl-lt-pod-client', `${svc.url!}api/items/9`);
  t.equal(missing[0]!.status, 404);

  // Finding the veth from the pod IP alone: test/agent/target/veth-netns.test.ts.

  const again = await labUp(OPTS);
  t.same(again, info, 'second up finds everything and returns the same info');

  // up repairs: a killed service is restarted.
  process.kill(svc.pid, 'SIGKILL');
  const deadline = Date.now() + 3000;
  while (pidAlive(svc.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.equal((await labStatus(OPTS)).up, false, 'status sees the dead service');
  const repaired = await labUp(OPTS);
  t.equal(repaired.up, true);
  t.not(repaired.services[0]!.pid, svc.pid, 'service restarted');
  t.same(repaired.pods.map((p) => [p.ip, p.hostVeth]), info.pods.map((p) => [p.ip, p.hostVeth]), 'pods kept their IPs and veths');
  const ok = await httpFromNetns('psl-lt-pod-client', `${svc.url!}health`);
  t.equal(ok[0]!.status, 200);

  const pids = [...repaired.pods.flatMap((p) => p.pids)];
  await labDown(OPTS);
  t.same(listNetns().filter((n) => n.startsWith('psl-lt-')), [], 'no psl-lt- namespaces left');
  t.same(hostLinks().filter((n) => n.startsWith('psl-lt-')), [], 'no psl-lt- links in the host namespace');
  t.same(hostLinks(), hostBefore, 'host links as before');
  t.notOk(existsSync('/var/lib/podspan-lab/psl-lt'), 'CNI and service state removed');
  t.ok(pids.every((p) => !pidAlive(p)), 'service processes gone');
  t.same(await netnsPids('psl-lt-pod-server'), []);
  const after = await labStatus(OPTS);
  t.equal(after.up, false);
  t.same(after.pods, []);
  await labDown(OPTS);
  t.pass('down is idempotent');
});

t.test('real netns lab: down removes a half-built lab (namespaces left by an interrupted up)', async (t) => {
  const opts: LabOptions = { prefix: 'psl-lh-', subnet: '10.79.0.0/24' };
  t.teardown(() => labDown(opts));
  for (const ns of ['psl-lh-node', 'psl-lh-pod-server', 'psl-lh-pod-orphan']) execFileSync('ip', ['netns', 'add', ns]);
  const before = await labStatus(opts);
  t.equal(before.up, false);
  t.same(before.pods.map((p) => [p.name, p.ip]), [['orphan', undefined], ['server', undefined]], 'status lists unwired pods');
  await labDown(opts);
  t.same(listNetns().filter((n) => n.startsWith('psl-lh-')), []);
});
