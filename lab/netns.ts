/**
 * Named network namespaces (/var/run/netns) and the links inside them, read with `ip -j`.
 */
import { existsSync, readdirSync } from 'node:fs';

import { ip, ipJson, run } from './exec.js';

export const NETNS_DIR = '/var/run/netns';

/** `ip -j -d link` entry, the fields the lab reads. */
export interface IpLink {
  ifindex: number;
  ifname: string;
  address?: string;
  operstate?: string;
  flags?: string[];
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

export function netnsPath(name: string): string {
  return `${NETNS_DIR}/${name}`;
}

export function netnsExists(name: string): boolean {
  return existsSync(netnsPath(name));
}

/** Names of the named namespaces, sorted. */
export function listNetns(): string[] {
  try {
    return readdirSync(NETNS_DIR).sort();
  } catch {
    return [];
  }
}

/** Creates the namespace if missing and brings its lo up. */
export async function ensureNetns(name: string): Promise<void> {
  if (!netnsExists(name)) await ip(['netns', 'add', name]);
  await ip(['link', 'set', 'lo', 'up'], name);
}

export async function deleteNetns(name: string): Promise<void> {
  if (netnsExists(name)) await ip(['netns', 'del', name]);
}

/** Pids of the processes whose network namespace is `name`. */
export async function netnsPids(name: string): Promise<number[]> {
  if (!netnsExists(name)) return [];
  const { stdout } = await run('ip', ['netns', 'pids', name], { allowFailure: true });
  return stdout
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
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

export function isVeth(l: IpLink): boolean {
  return l.linkinfo?.info_kind === 'veth';
}
