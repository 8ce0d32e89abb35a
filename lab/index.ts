/**
 * "A node in a box": a network namespace playing a Kubernetes node (`psl-node`) with a
 * Linux bridge (`psl-br0`), and pod namespaces (`psl-pod-<name>`) wired to it by Debian's
 * CNI bridge plugin with host-local IPAM, invoked as a container runtime would. The
 * `server` pod runs a sample HTTP service on port 8080; `client` is there to call it.
 *
 * Everything the lab creates carries the prefix (default `psl-`) and lives inside its own
 * namespaces; nothing is added to the host's namespace. State (host-local leases, service
 * pid files and logs) is under /var/lib/podspan-lab/<prefix>. Needs root.
 *
 *   await labUp();      // idempotent: a second call finds everything and returns the same
 *   await labStatus();  // what exists now
 *   await labDown();    // removes processes, namespaces, bridge, CNI state; idempotent
 */
import { existsSync, mkdirSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { CNI_VERSION, cniExec, type BridgeNetConf, type CniResult } from './cni.js';
import { LAB_ERR, LabError } from './errors.js';
import { ip, run } from './exec.js';
import { withLock } from './lock.js';
import { addrs, deleteNetns, ensureNetns, ipv4Of, links, listNetns, netnsExists, netnsPath, netnsPids } from './netns.js';
import { ensureService, readServiceRecords, serviceRunning, stopPids, type ServiceSpec } from './services.js';
import { hostVethOfPod } from './veth.js';

export { LabError, LAB_ERR } from './errors.js';
export type { LabErrorCode } from './errors.js';
export { execInNetns, run } from './exec.js';
export type { RunOptions, RunResult } from './exec.js';
export { hostVethOfPod } from './veth.js';
export { httpFromNetns } from './services.js';
export type { HttpClientOptions, HttpClientResult } from './services.js';
export { listNetns, netnsExists, netnsPath, netnsPids } from './netns.js';
export { DEMO_INJECTED_DIFFERENCE, DEMO_SERVICE_PORT, demoServiceSpec, driveHttpLoad } from './load.js';
export type { HttpLoadEndpoint, HttpLoadOptions, HttpLoadResult } from './load.js';
export type { ServiceSpec } from './services.js';

export const DEFAULT_PREFIX = 'psl-';
export const DEFAULT_SUBNET = '10.77.0.0/24';
export const STATE_ROOT = '/var/lib/podspan-lab';
export const HTTP_SERVICE_PORT = 8080;
const LOCK_DIR = '/run';
const LOCK_TIMEOUT_MS = 120_000;
const POD_IFNAME = 'eth0';

export interface LabPodSpec {
  /** Pod name: lowercase letters, digits and '-'; the namespace is `<prefix>pod-<name>`. */
  name: string;
  /** Sample services to run inside the pod. */
  services?: ServiceSpec[];
}

export const DEFAULT_PODS: readonly LabPodSpec[] = [
  { name: 'server', services: [{ name: 'http', script: 'http-service.js', port: HTTP_SERVICE_PORT }] },
  { name: 'client' },
];

export interface LabOptions {
  /** Prefix of every name the lab creates; must start with `psl-`; default `psl-`. */
  prefix?: string;
  /** Pod subnet for host-local IPAM; default 10.77.0.0/24 (the bridge gets its first address). */
  subnet?: string;
  /** Pods for labUp; default `server` (HTTP on 8080) and `client`. */
  pods?: readonly LabPodSpec[];
  /** State directory; default /var/lib/podspan-lab/<prefix without the trailing '-'>. */
  stateDir?: string;
  /** Run scripts/install-system-deps.sh when the CNI plugins or iproute2 are missing; default true. */
  installDeps?: boolean;
}

export interface LabPod {
  name: string;
  netns: string;
  netnsPath: string;
  /** Pod IPv4 address on eth0, undefined when the pod is not wired. */
  ip: string | undefined;
  prefixLen: number | undefined;
  mac: string | undefined;
  /** The veth in the node namespace whose peer is the pod's eth0. */
  hostVeth: string | undefined;
  hostVethIfindex: number | undefined;
  /** Processes in the pod's namespace. */
  pids: number[];
}

export interface LabService {
  pod: string;
  name: string;
  pid: number;
  port: number;
  /** e.g. http://10.77.0.2:8080/ (undefined while the pod has no IP). */
  url: string | undefined;
  running: boolean;
}

export interface LabInfo {
  /** True when the node, its bridge and every pod (with an IP and host veth) exist. */
  up: boolean;
  prefix: string;
  subnet: string;
  stateDir: string;
  node: {
    netns: string;
    exists: boolean;
    bridge: string;
    bridgeExists: boolean;
    /** The bridge's address: the pods' default gateway. */
    gatewayIp: string | undefined;
  };
  pods: LabPod[];
  services: LabService[];
}

interface Resolved {
  prefix: string;
  subnet: string;
  stateDir: string;
  nodeNs: string;
  bridge: string;
  podPrefix: string;
  pods: readonly LabPodSpec[];
  installDeps: boolean;
}

const NAME_RE = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;
const SUBNET_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const IFNAMSIZ = 15;

function resolve(opts: LabOptions): Resolved {
  const prefix = opts.prefix ?? DEFAULT_PREFIX;
  if (!/^psl-([a-z0-9]+-)?$/.test(prefix)) {
    throw new LabError(LAB_ERR.OPTIONS, `lab prefix "${prefix}" must be psl- or psl-<letters/digits>-`);
  }
  const bridge = `${prefix}br0`;
  if (bridge.length > IFNAMSIZ) throw new LabError(LAB_ERR.OPTIONS, `lab prefix "${prefix}" too long: bridge name ${bridge} exceeds ${IFNAMSIZ} characters`);
  const subnet = opts.subnet ?? DEFAULT_SUBNET;
  const m = SUBNET_RE.exec(subnet);
  if (m === null || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) < 8 || Number(m[5]) > 30) {
    throw new LabError(LAB_ERR.OPTIONS, `lab subnet "${subnet}" must be an IPv4 CIDR between /8 and /30`);
  }
  const pods = opts.pods ?? DEFAULT_PODS;
  const seen = new Set<string>();
  for (const p of pods) {
    if (!NAME_RE.test(p.name) || seen.has(p.name)) throw new LabError(LAB_ERR.OPTIONS, `lab pod name "${p.name}" must be unique, lowercase letters, digits and '-'`);
    seen.add(p.name);
    for (const s of p.services ?? []) {
      if (!NAME_RE.test(s.name) || !/^[a-z0-9-]+\.js$/.test(s.script) || !Number.isInteger(s.port) || s.port < 1 || s.port > 65535) {
        throw new LabError(LAB_ERR.OPTIONS, `lab service ${p.name}/${s.name}: bad name, script or port`);
      }
      if ((s.args ?? []).some((a) => typeof a !== 'string' || a.length > 256 || a.includes('\0'))) {
        throw new LabError(LAB_ERR.OPTIONS, `lab service ${p.name}/${s.name}: arguments must be strings of at most 256 characters`);
      }
    }
  }
  return {
    prefix,
    subnet,
    stateDir: opts.stateDir ?? join(STATE_ROOT, prefix.replace(/-$/, '')),
    nodeNs: `${prefix}node`,
    bridge,
    podPrefix: `${prefix}pod-`,
    pods,
    installDeps: opts.installDeps ?? true,
  };
}

function assertRoot(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new LabError(LAB_ERR.NOT_ROOT, 'the lab creates network namespaces, veths and a bridge: run it as root (sudo)');
  }
}

/** The repository root: the nearest directory above this file holding package.json. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 32; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new LabError(LAB_ERR.OPTIONS, `cannot find the podspan root (package.json) above ${fileURLToPath(import.meta.url)}`);
}

function commandExists(paths: readonly string[]): boolean {
  return paths.some((p) => existsSync(p));
}

async function ensureDeps(): Promise<void> {
  const ok =
    existsSync('/usr/lib/cni/bridge') &&
    existsSync('/usr/lib/cni/host-local') &&
    commandExists(['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip']) &&
    commandExists(['/usr/sbin/bridge', '/sbin/bridge', '/usr/bin/bridge', '/bin/bridge']);
  if (ok) return;
  await run('bash', [join(repoRoot(), 'scripts', 'install-system-deps.sh')], { timeoutMs: 15 * 60_000 });
}

/** Outside the state directory, which `down` deletes while holding the lock. */
function lockPath(r: Resolved): string {
  return join(LOCK_DIR, `podspan-lab.${basename(r.stateDir)}.lock`);
}

function podNs(r: Resolved, name: string): string {
  return `${r.podPrefix}${name}`;
}

function containerId(r: Resolved, pod: string): string {
  return `podspan-lab-${r.prefix}${pod}`;
}

function netconf(r: Resolved, prevResult?: unknown): BridgeNetConf {
  const conf: BridgeNetConf = {
    cniVersion: CNI_VERSION,
    name: `${r.prefix}net`,
    type: 'bridge',
    bridge: r.bridge,
    isGateway: true,
    ipMasq: false,
    hairpinMode: false,
    ipam: { type: 'host-local', ranges: [[{ subnet: r.subnet }]], dataDir: join(r.stateDir, 'cni') },
  };
  if (prevResult !== undefined) conf.prevResult = prevResult;
  return conf;
}

function cniResultFile(r: Resolved, pod: string): string {
  return join(r.stateDir, 'cni-results', `${pod}.json`);
}

function readCniResult(r: Resolved, pod: string): CniResult | undefined {
  try {
    return JSON.parse(readFileSync(cniResultFile(r, pod), 'utf8')) as CniResult;
  } catch {
    return undefined;
  }
}

async function podWired(ns: string): Promise<boolean> {
  const eth0 = (await addrs(ns)).find((a) => a.ifname === POD_IFNAME);
  return eth0 !== undefined && ipv4Of(eth0) !== undefined;
}

async function cniAdd(r: Resolved, pod: string): Promise<void> {
  const ns = podNs(r, pod);
  const hasEth0 = (await links(ns)).some((l) => l.ifname === POD_IFNAME);
  if (hasEth0) await cniDel(r, pod); // half-wired by an interrupted run: start over
  const result = await cniExec({
    command: 'ADD',
    containerId: containerId(r, pod),
    podNetnsPath: netnsPath(ns),
    ifname: POD_IFNAME,
    nodeNetns: r.nodeNs,
    netconf: netconf(r),
  });
  mkdirSync(dirname(cniResultFile(r, pod)), { recursive: true });
  writeFileSync(cniResultFile(r, pod), JSON.stringify(result, null, 2) + '\n');
}

async function cniDel(r: Resolved, pod: string): Promise<void> {
  await cniExec({
    command: 'DEL',
    containerId: containerId(r, pod),
    podNetnsPath: netnsPath(podNs(r, pod)),
    ifname: POD_IFNAME,
    nodeNetns: r.nodeNs,
    netconf: netconf(r, readCniResult(r, pod)),
  });
  rmSync(cniResultFile(r, pod), { force: true });
}

/**
 * Creates (or completes) the lab and starts its services. Idempotent: what exists is kept,
 * so a second call returns the same info. Needs root; installs the Debian packages it
 * needs when missing (scripts/install-system-deps.sh).
 */
export async function labUp(opts: LabOptions = {}): Promise<LabInfo> {
  const r = resolve(opts);
  assertRoot();
  return withLock(lockPath(r), LOCK_TIMEOUT_MS, async () => {
    if (r.installDeps) await ensureDeps();
    mkdirSync(r.stateDir, { recursive: true });
    await ensureNetns(r.nodeNs);
    for (const pod of r.pods) {
      const ns = podNs(r, pod.name);
      await ensureNetns(ns);
      if (!(await podWired(ns))) await cniAdd(r, pod.name);
    }
    for (const pod of r.pods) {
      for (const svc of pod.services ?? []) await ensureService(r.stateDir, pod.name, podNs(r, pod.name), svc);
    }
    return status(r);
  });
}

/**
 * Removes everything the lab created: service processes (by pid, from the lab's own
 * namespaces), pods (CNI DEL, then the namespace), the bridge, the node namespace and the
 * state directory. Idempotent; works on a half-built lab.
 */
export async function labDown(opts: LabOptions = {}): Promise<void> {
  const r = resolve(opts);
  assertRoot();
  await withLock(lockPath(r), LOCK_TIMEOUT_MS, async () => {
    const pods = existingPods(r);
    const namespaces = [...pods.map((p) => podNs(r, p)), r.nodeNs];
    const pids = new Set<number>();
    for (const ns of namespaces) for (const pid of await netnsPids(ns)) pids.add(pid);
    await stopPids([...pids]);
    const errors: string[] = [];
    if (netnsExists(r.nodeNs)) {
      for (const pod of pods) {
        try {
          await cniDel(r, pod);
        } catch (e) {
          // The namespace is deleted next anyway; keep going, report at the end.
          errors.push(e instanceof Error ? e.message : String(e));
        }
      }
    }
    for (const pod of pods) await deleteNetns(podNs(r, pod));
    if (netnsExists(r.nodeNs)) {
      await ip(['link', 'del', r.bridge], r.nodeNs, { allowFailure: true });
      await deleteNetns(r.nodeNs);
    }
    rmSync(r.stateDir, { recursive: true, force: true });
    try {
      rmdirSync(dirname(r.stateDir)); // the shared root, once no lab uses it
    } catch {
      // other labs' state, or already gone
    }
    const left = listNetns().filter((n) => n === r.nodeNs || n.startsWith(r.podPrefix));
    if (left.length > 0) {
      throw new LabError(LAB_ERR.COMMAND, `lab down left namespaces behind: ${left.join(', ')}${errors.length > 0 ? ` (${errors.join('; ')})` : ''}`);
    }
  });
}

/** What exists now. Never creates anything; works without root for what `ip` can read. */
export async function labStatus(opts: LabOptions = {}): Promise<LabInfo> {
  return status(resolve(opts));
}

function existingPods(r: Resolved): string[] {
  return listNetns()
    .filter((n) => n.startsWith(r.podPrefix))
    .map((n) => n.slice(r.podPrefix.length))
    .sort();
}

async function status(r: Resolved): Promise<LabInfo> {
  const nodeExists = netnsExists(r.nodeNs);
  let bridgeExists = false;
  let gatewayIp: string | undefined;
  if (nodeExists) {
    const br = (await addrs(r.nodeNs)).find((a) => a.ifname === r.bridge);
    bridgeExists = br !== undefined;
    gatewayIp = br === undefined ? undefined : ipv4Of(br)?.local;
  }
  const pods: LabPod[] = [];
  for (const name of existingPods(r)) {
    const ns = podNs(r, name);
    const eth0 = (await addrs(ns)).find((a) => a.ifname === POD_IFNAME);
    const v4 = eth0 === undefined ? undefined : ipv4Of(eth0);
    const veth = nodeExists && eth0 !== undefined ? await hostVethOfPod(ns, r.nodeNs, POD_IFNAME) : undefined;
    pods.push({
      name,
      netns: ns,
      netnsPath: netnsPath(ns),
      ip: v4?.local,
      prefixLen: v4?.prefixlen,
      mac: eth0?.address,
      hostVeth: veth?.ifname,
      hostVethIfindex: veth?.ifindex,
      pids: (await netnsPids(ns)).sort((a, b) => a - b),
    });
  }
  const services: LabService[] = [];
  for (const rec of readServiceRecords(r.stateDir)) {
    const pod = pods.find((p) => p.name === rec.pod);
    services.push({
      pod: rec.pod,
      name: rec.name,
      pid: rec.pid,
      port: rec.port,
      url: pod?.ip === undefined ? undefined : `http://${pod.ip}:${rec.port}/`,
      running: pod !== undefined && (await serviceRunning(rec)),
    });
  }
  const wanted = new Set(r.pods.map((p) => p.name));
  const up =
    nodeExists &&
    bridgeExists &&
    [...wanted].every((w) => pods.some((p) => p.name === w && p.ip !== undefined && p.hostVeth !== undefined)) &&
    services.every((s) => s.running) &&
    r.pods.every((p) => (p.services ?? []).every((s) => services.some((x) => x.pod === p.name && x.name === s.name)));
  return {
    up,
    prefix: r.prefix,
    subnet: r.subnet,
    stateDir: r.stateDir,
    node: { netns: r.nodeNs, exists: nodeExists, bridge: r.bridge, bridgeExists, gatewayIp },
    pods,
    services,
  };
}
