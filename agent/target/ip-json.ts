/**
 * The few `ip -j` / `bridge -j` reads target resolution needs, run from the node side:
 * argument vectors only (execFile, never a shell), bounded in time, failures as AgentError
 * with the command's stderr. Read-only: nothing here changes the network.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { isIP } from 'node:net';

import { AGENT_ERR, AgentError } from '../errors.js';

/** Where `ip netns` keeps named namespaces (the lab's, containerd's cni-*). */
export const NETNS_DIR = '/var/run/netns';

const COMMAND_TIMEOUT_MS = 10_000;
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/** `ip -j -d link` entry: the fields target resolution reads. */
export interface IpLink {
  ifindex: number;
  ifname: string;
  address?: string;
  operstate?: string;
  /** Peer's ifindex (veth), in the namespace given by link_netnsid when present. */
  link_index?: number;
  link_netnsid?: number;
  master?: string;
  linkinfo?: { info_kind?: string; info_slave_kind?: string };
}

export interface IpAddrInfo {
  family: string;
  local: string;
  prefixlen: number;
}

export interface IpAddr extends IpLink {
  addr_info?: IpAddrInfo[];
}

/** Runs a read-only command and resolves with its stdout. */
export function runCommand(cmd: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: COMMAND_TIMEOUT_MS, maxBuffer: MAX_OUTPUT_BYTES, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err === null) {
        resolve(stdout);
        return;
      }
      const why = stderr.trim() !== '' ? stderr.trim() : err.message;
      reject(new AgentError(AGENT_ERR.COMMAND, `${cmd} ${args.join(' ')}: ${why}`));
    });
  });
}

function parseJsonArray<T>(cmd: string, args: readonly string[], text: string): T[] {
  const s = text.trim();
  if (s === '') return [];
  try {
    const v = JSON.parse(s) as unknown;
    return Array.isArray(v) ? (v as T[]) : [];
  } catch {
    throw new AgentError(AGENT_ERR.COMMAND, `${cmd} ${args.join(' ')}: output is not JSON`);
  }
}

/**
 * `TOOL -j ARGS...` in `netns`: `-n NAME` for a named namespace, `nsenter --net=PATH` for
 * a path (`ip -n` takes names only).
 */
async function toolJson<T>(tool: 'ip' | 'bridge', args: readonly string[], netns: string | undefined): Promise<T[]> {
  let cmd: string = tool;
  let full: string[];
  if (netns === undefined) full = ['-j', ...args];
  else if (!netns.includes('/')) full = ['-n', netns, '-j', ...args];
  else {
    cmd = 'nsenter';
    full = [`--net=${netns}`, tool, '-j', ...args];
  }
  return parseJsonArray<T>(cmd, full, await runCommand(cmd, full));
}

/** `ip -j ARGS...` in `netns` (default: this process's), parsed; [] for empty output. */
export function ipJson<T>(args: readonly string[], netns?: string): Promise<T[]> {
  return toolJson<T>('ip', args, netns);
}

/** `bridge -j ARGS...` in `netns`, parsed; [] for empty output. */
export function bridgeJson<T>(args: readonly string[], netns?: string): Promise<T[]> {
  return toolJson<T>('bridge', args, netns);
}

export function links(netns?: string): Promise<IpLink[]> {
  return ipJson<IpLink>(['-d', 'link', 'show'], netns);
}

export function addrs(netns?: string): Promise<IpAddr[]> {
  return ipJson<IpAddr>(['-d', 'addr', 'show'], netns);
}

export function ipv4Of(a: IpAddr): IpAddrInfo | undefined {
  return a.addr_info?.find((i) => i.family === 'inet');
}

/** Whether `a` holds `ip` (IPv4, or IPv6 in any spelling: compared canonically). */
export function holdsIp(a: IpAddr, ip: string): boolean {
  const want = canonicalIp(ip);
  return want !== undefined && (a.addr_info ?? []).some((i) => canonicalIp(i.local) === want);
}

/**
 * One spelling per address: IPv4 as given, IPv6 compressed and lower-case as WHATWG URL
 * hosts print it (fd00:0:0::5 and FD00::5 both become fd00::5). Undefined for neither.
 */
export function canonicalIp(ip: string): string | undefined {
  if (isIP(ip) === 4) return ip;
  if (isIP(ip) !== 6) return undefined;
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
}

export function isVeth(l: IpLink): boolean {
  return l.linkinfo?.info_kind === 'veth';
}

/** Names of the named namespaces, sorted; [] when there are none. */
export function listNetns(): string[] {
  try {
    return readdirSync(NETNS_DIR).sort();
  } catch {
    return [];
  }
}

/** The nsfs path of a namespace: a name under /var/run/netns, a path, or this process's. */
export function netnsFile(netns: string | undefined): string {
  if (netns === undefined) return '/proc/self/ns/net';
  return netns.includes('/') ? netns : `${NETNS_DIR}/${netns}`;
}

/** True when `netns` names a namespace: a name under /var/run/netns, or a path. */
export function netnsExists(netns: string): boolean {
  return existsSync(netnsFile(netns));
}

/** Whether two namespaces are the same one (same nsfs inode); false when either is gone. */
export function sameNetns(a: string | undefined, b: string | undefined): boolean {
  try {
    const sa = statSync(netnsFile(a));
    const sb = statSync(netnsFile(b));
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}
