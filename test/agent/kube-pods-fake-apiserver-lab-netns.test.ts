import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { AGENT_ERR } from '../../agent/errors.js';
import { KubeApi, checkSelector, parsePodName } from '../../agent/target/k8s.js';
import { httpFromNetns, labDown, labUp, type LabOptions } from '../../lab/index.js';
import { run } from '../helpers/run.js';
import { CLI } from '../helpers/repo.js';
import { readCaptureFile, sleep, startAgent } from './agent-helpers.js';

// A Kubernetes API server cannot run on this machine: these tests use a FAKE API server, a
// few lines of node:http that answer the two GETs the agent makes with Pod JSON shaped as
// the real API's (metadata, spec.nodeName, spec.hostNetwork, status.podIP, status.phase).
// The pods themselves are real: network namespaces wired by the CNI bridge plugin (lab/).

const dir = mkdtempSync(join(tmpdir(), 'psl-agent-kube-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

interface FakePod {
  namespace: string;
  name: string;
  ip?: string;
  node?: string;
  labels?: Record<string, string>;
  hostNetwork?: boolean;
  phase?: string;
}

interface FakeApi {
  url: string;
  pods: FakePod[];
  requests: Array<{ path: string; auth: string | undefined }>;
  status: number;
}

function podJson(p: FakePod): unknown {
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: { namespace: p.namespace, name: p.name, labels: p.labels ?? {} },
    spec: { nodeName: p.node ?? 'node-a', hostNetwork: p.hostNetwork === true, containers: [{ name: 'c', image: 'x' }] },
    status: { phase: p.phase ?? 'Running', ...(p.ip !== undefined ? { podIP: p.ip, podIPs: [{ ip: p.ip }] } : {}) },
  };
}

/** Equality selectors only (a=b,c=d): enough for the tests. */
function matches(p: FakePod, selector: string): boolean {
  return selector.split(',').every((kv) => {
    const [k, v] = kv.split('=');
    return p.labels?.[k!] === v;
  });
}

function handler(api: FakeApi) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const u = new URL(req.url ?? '/', 'http://x');
    api.requests.push({ path: u.pathname + u.search, auth: req.headers.authorization });
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (api.status !== 200) return send(api.status, { kind: 'Status', code: api.status });
    let m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(u.pathname);
    if (m !== null) {
      const p = api.pods.find((x) => x.namespace === m![1] && x.name === m![2]);
      return p === undefined ? send(404, { kind: 'Status', code: 404 }) : send(200, podJson(p));
    }
    m = /^\/api\/v1(?:\/namespaces\/([^/]+))?\/pods$/.exec(u.pathname);
    if (m !== null) {
      const sel = u.searchParams.get('labelSelector') ?? '';
      const field = u.searchParams.get('fieldSelector');
      const node = field?.startsWith('spec.nodeName=') === true ? field.slice('spec.nodeName='.length) : undefined;
      const items = api.pods.filter((p) => (m![1] === undefined || p.namespace === m![1]) && matches(p, sel) && (node === undefined || (p.node ?? 'node-a') === node));
      return send(200, { kind: 'PodList', apiVersion: 'v1', items: items.map(podJson) });
    }
    send(404, { kind: 'Status', code: 404 });
  };
}

async function fakeApi(t: { teardown(fn: () => unknown): void }, pods: FakePod[]): Promise<FakeApi> {
  const api: FakeApi = { url: '', pods, requests: [], status: 200 };
  const server = createHttpServer(handler(api));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  api.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return api;
}

t.test('parses NAMESPACE/NAME and refuses what is not a pod name or a selector', async (t) => {
  t.same(parsePodName('shop/web-0'), { namespace: 'shop', name: 'web-0' });
  t.throws(() => parsePodName('web-0'), RangeError);
  t.throws(() => parsePodName('Shop/web'), RangeError);
  t.throws(() => parsePodName('a/b/c'), RangeError);
  t.equal(checkSelector('app=web,tier!=db'), 'app=web,tier!=db');
  t.equal(checkSelector('env in (a, b)'), 'env in (a, b)');
  t.throws(() => checkSelector(''), RangeError);
  t.throws(() => checkSelector('app=web&x=1'), RangeError);
});

t.test('fake API server: get and list pods, 404 is "no such pod", 403 says what RBAC is missing', async (t) => {
  const api = await fakeApi(t, [
    { namespace: 'shop', name: 'web-0', ip: '10.1.0.5', labels: { app: 'web' } },
    { namespace: 'shop', name: 'web-1', ip: '10.1.0.6', labels: { app: 'web' }, node: 'node-b' },
    { namespace: 'ops', name: 'db-0', ip: '10.1.0.7', labels: { app: 'db' } },
  ]);
  const k = new KubeApi({ url: api.url });
  t.same(await k.getPod('shop', 'web-0'), { namespace: 'shop', name: 'web-0', ip: '10.1.0.5', node: 'node-a', hostNetwork: false, phase: 'Running' });
  t.equal(await k.getPod('shop', 'nope'), undefined);
  t.same((await k.listPods('app=web')).map((p) => p.name), ['web-0', 'web-1']);
  t.same((await k.listPods('app=web', { node: 'node-b' })).map((p) => p.name), ['web-1']);
  t.same((await k.listPods('app=web', { namespace: 'ops' })).map((p) => p.name), []);
  t.match(api.requests.at(-2)?.path, /^\/api\/v1\/pods\?labelSelector=app%3Dweb&fieldSelector=spec.nodeName%3Dnode-b$/);
  api.status = 403;
  await t.rejects(k.listPods('app=web'), { code: AGENT_ERR.KUBE, message: /403.*RBAC/ });
});

t.test('in-cluster configuration (fake API server over TLS): the service account token is sent, the CA is checked', async (t) => {
  const sa = join(dir, 'sa');
  execFileSync('mkdir', ['-p', sa]);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(sa, 'key.pem'), '-out', join(sa, 'ca.crt'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  writeFileSync(join(sa, 'token'), 'sa-token-1\n');
  const api: FakeApi = { url: '', pods: [{ namespace: 'shop', name: 'web-0', ip: '10.1.0.5' }], requests: [], status: 200 };
  const { readFileSync } = await import('node:fs');
  const server = createHttpsServer({ key: readFileSync(join(sa, 'key.pem')), cert: readFileSync(join(sa, 'ca.crt')) }, handler(api));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const port = String((server.address() as AddressInfo).port);
  const k = new KubeApi({ env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: port }, serviceAccountDir: sa });
  t.equal((await k.getPod('shop', 'web-0'))?.ip, '10.1.0.5');
  t.equal(api.requests.at(-1)?.auth, 'Bearer sa-token-1');
  writeFileSync(join(sa, 'token'), 'sa-token-2\n'); // kubelet rotated it
  await k.getPod('shop', 'web-0');
  t.equal(api.requests.at(-1)?.auth, 'Bearer sa-token-2', 'the token file is re-read');
  t.throws(() => new KubeApi({ env: {} }), { code: AGENT_ERR.KUBE, message: /KUBERNETES_SERVICE_HOST.*--kube-api/ });
});

t.test('CLI: --pod/--selector mistakes are usage errors that say what to do', async (t) => {
  const api = await fakeApi(t, [
    { namespace: 'shop', name: 'pending', phase: 'Pending' },
    { namespace: 'shop', name: 'hostnet', ip: '10.1.0.9', hostNetwork: true },
  ]);
  const out = join(dir, 'x.pcapng');
  const cases: Array<[string[], RegExp]> = [
    [['--pod', 'shop/web', '--selector', 'app=web'], /not both/],
    [['--pod', 'web', '--kube-api', api.url], /--pod "web" is not NAMESPACE\/POD/],
    [['--pod', 'shop/nope', '--kube-api', api.url], /no such pod/],
    [['--pod', 'shop/pending', '--kube-api', api.url], /has no IP yet \(phase Pending\)/],
    [['--pod', 'shop/hostnet', '--kube-api', api.url], /host network/],
    [['--namespace', 'shop', '--iface', 'lo'], /--namespace goes with --selector/],
    [['--selector', 'app=web', '--kube-api', 'http://127.0.0.1:1'], /ECONNREFUSED/],
  ];
  for (const [args, re] of cases) {
    const r = await run(process.execPath, [CLI, 'agent', ...args, '-w', out], { env: { ...process.env, KUBERNETES_SERVICE_HOST: '' } });
    t.equal(r.code, 2, `${args.join(' ')}: exit 2`);
    t.match(r.stderr, re, args.join(' '));
  }
});

const LAB: LabOptions = { prefix: 'psl-ak-', subnet: '10.87.0.0/24' };
const NODE_NS = 'psl-ak-node';

t.test('real netns lab + fake API server: --pod and --selector capture the named pods, follow them in and out', async (t) => {
  t.teardown(() => labDown(LAB));
  await labDown(LAB);
  const info = await labUp(LAB);
  const server = info.pods.find((p) => p.name === 'server')!;
  const api = await fakeApi(t, [{ namespace: 'shop', name: 'web-0', ip: server.ip!, labels: { app: 'web' } }]);
  const url = `http://${server.ip!}:8080/health`;

  t.test('--pod NS/NAME: the pcapng interface carries the pod name and IP', async (t) => {
    const file = join(dir, 'pod.pcapng');
    const agent = await startAgent(t, ['--pod', 'shop/web-0', '--kube-api', api.url, '--netns', NODE_NS, '--filter', 'tcp port 8080', '-w', file]);
    const r = await httpFromNetns(NODE_NS, url, { count: 3 });
    t.ok(r.every((x) => x.status === 200));
    await sleep(300);
    t.equal(await agent.stop(), 0);
    const cap = readCaptureFile(file);
    t.same(cap.interfaces.map((i) => [i.name, i.description]), [[server.hostVeth, `pod shop/web-0 ${server.ip!}`]]);
    t.ok(cap.records.length >= 3 * 6, `HTTP frames captured (${cap.records.length})`);
  });

  t.test('--selector: no match at start, then a pod appears (captured), then leaves (closed, noted)', async (t) => {
    api.pods = [];
    const file = join(dir, 'selector.pcapng');
    const agent = await startAgent(t, ['--selector', 'app=web', '--kube-api', api.url, '--netns', NODE_NS, '--filter', 'tcp port 8080', '-w', file], 0);
    await agent.waitFor(/no pod on this node matches app=web yet/, 10_000);
    api.pods = [{ namespace: 'shop', name: 'web-0', ip: server.ip!, labels: { app: 'web' } }, { namespace: 'shop', name: 'other', ip: '10.87.0.200', labels: { app: 'web' } }];
    await agent.waitFor(/listening on \S+ \(pod shop\/web-0/, 15_000);
    await agent.waitFor(/not capturing pod shop\/other: no veth here reaches 10\.87\.0\.200/, 5_000);
    const r = await httpFromNetns(NODE_NS, url, { count: 3 });
    t.ok(r.every((x) => x.status === 200));
    await sleep(300);
    api.pods = [];
    await agent.waitFor(/pod shop\/web-0 \(\S+\) left the selection/, 15_000);
    t.equal(await agent.stop(), 0);
    const cap = readCaptureFile(file);
    t.same(cap.interfaces.map((i) => i.description), [`pod shop/web-0 ${server.ip!}`]);
    t.ok(cap.records.length >= 3 * 6, `HTTP frames captured while the pod was selected (${cap.records.length})`);
    t.ok(cap.stats.some((s) => s.comments.some((c) => /left the selection/.test(c))), 'the ISB says why the capture ended');
  });
});
