/**
 * Which veth in a node's network namespace carries a pod's traffic, found from the node
 * side the way a capture agent on a Kubernetes node must (it cannot ask the pod):
 *
 *   1. route:  `ip route get POD_IP` names a veth directly (Calico, Cilium and other
 *              routed CNIs install a /32 route per pod).
 *   2. fdb:    the route names a bridge (bridge CNI, flannel's cni0): the neighbour table
 *              gives the pod's MAC, the bridge's forwarding database the port it was
 *              learnt on.
 *   3. peer:   scan the named namespaces (/var/run/netns: containerd's cni-*, the lab's)
 *              for the interface holding POD_IP; its veth peer's ifindex (`link_index`)
 *              names the node-side veth, confirmed by that veth pointing back.
 *
 * Read-only, through `ip -j` and `bridge -j` (agent/target/ip-json.ts). IPv4 and IPv6
 * (`ip route get` and `ip neigh` take either; addresses are compared canonically).
 */
import { IPV4_RE } from '../exclude.js';
import { addrs, bridgeJson, canonicalIp, holdsIp, ipJson, isVeth, links, listNetns, sameNetns, type IpLink } from './ip-json.js';

export type VethLookupMethod = 'route' | 'fdb' | 'peer';

export interface VethForPodIp {
  /** Interface name in the node namespace. */
  ifname: string;
  ifindex: number;
  method: VethLookupMethod;
  /** The pod's namespace name, when method 3 found it (a hint for the next lookup). */
  podNetns?: string;
}

export interface FindVethOptions {
  /** The node's namespace (a name under /var/run/netns, or a path); default: this process's. */
  netns?: string;
  /** Allow method 3 (read other namespaces with `ip -n`); default true. */
  scan?: boolean;
  /** A namespace to scan first (the `podNetns` of an earlier answer). */
  preferNetns?: string;
}

interface RouteGet {
  dev?: string;
}

interface NeighEntry {
  dst: string;
  dev?: string;
  lladdr?: string;
  state?: string[];
}

interface FdbEntry {
  mac: string;
  ifname?: string;
  master?: string;
  state?: string;
  flags?: string[];
}

interface NsId {
  nsid: number;
  name?: string;
}



/** True for a dotted-quad IPv4 address. */
export function isIpv4(s: string): boolean {
  return IPV4_RE.test(s);
}

/** True for what findVethForPodIp accepts: an IPv4 or IPv6 address (no zone). */
export function isPodIp(s: string): boolean {
  return IPV4_RE.test(s) || (!s.includes('%') && canonicalIp(s) !== undefined && s.includes(':'));
}

/** The node-side veth for a pod IP (v4 or v6), or undefined when none is found. */
export async function findVethForPodIp(podIp: string, opts: FindVethOptions = {}): Promise<VethForPodIp | undefined> {
  if (!isPodIp(podIp)) return undefined;
  const ns = opts.netns;
  const nodeLinks = await links(ns);
  const byName = new Map(nodeLinks.map((l) => [l.ifname, l] as const));

  // 1. route
  let routeDev: string | undefined;
  try {
    routeDev = (await ipJson<RouteGet>(['route', 'get', podIp], ns))[0]?.dev;
  } catch {
    routeDev = undefined; // no route: only the scan can help
  }
  const routed = routeDev === undefined ? undefined : byName.get(routeDev);
  if (routed !== undefined && isVeth(routed)) return { ifname: routed.ifname, ifindex: routed.ifindex, method: 'route' };

  // 2. neighbour + bridge FDB
  if (routed !== undefined && routed.linkinfo?.info_kind === 'bridge') {
    const found = await viaFdb(podIp, routed.ifname, byName, ns);
    if (found !== undefined) return found;
  }

  // 3. veth peer of the interface holding the address
  if (opts.scan === false) return undefined;
  return viaPeer(podIp, nodeLinks, ns, opts.preferNetns);
}

async function viaFdb(podIp: string, bridge: string, byName: Map<string, IpLink>, ns: string | undefined): Promise<VethForPodIp | undefined> {
  const neigh = await ipJson<NeighEntry>(['neigh', 'show', 'to', podIp, 'dev', bridge], ns);
  const mac = neigh.find((n) => n.lladdr !== undefined && !(n.state ?? []).includes('FAILED'))?.lladdr;
  if (mac === undefined) return undefined;
  const fdb = await bridgeJson<FdbEntry>(['fdb', 'show', 'br', bridge], ns);
  const entry = fdb.find((f) => f.mac.toLowerCase() === mac.toLowerCase() && f.state !== 'permanent' && f.ifname !== undefined);
  const port = entry?.ifname === undefined ? undefined : byName.get(entry.ifname);
  if (port === undefined || !isVeth(port)) return undefined;
  return { ifname: port.ifname, ifindex: port.ifindex, method: 'fdb' };
}

/**
 * Whether `link` (seen from `fromNs`) has its veth peer in `targetNs`. ifindexes are per
 * namespace, so matching them alone can pair unrelated veths; the peer's namespace id
 * (`link_netnsid`) resolved through `ip netns list-id` settles it. `targetNs` undefined is
 * this process's namespace.
 */
async function peerIsIn(link: IpLink, fromNs: string, targetNs: string | undefined): Promise<boolean> {
  if (link.link_netnsid === undefined) return false; // peer in fromNs itself
  const ids = await ipJson<NsId>(['netns', 'list-id'], fromNs);
  const entry = ids.find((i) => i.nsid === link.link_netnsid);
  // An nsid without a name is a namespace `ip netns` does not know: this process's when
  // the caller runs in the node's (the usual agent), else unknown.
  if (entry?.name === undefined) return targetNs === undefined;
  return entry.name === targetNs || sameNetns(entry.name, targetNs);
}

async function viaPeer(podIp: string, nodeLinks: IpLink[], ns: string | undefined, prefer: string | undefined): Promise<VethForPodIp | undefined> {
  const all = listNetns();
  const order = prefer !== undefined && all.includes(prefer) ? [prefer, ...all.filter((n) => n !== prefer)] : all;
  for (const other of order) {
    if (other === ns || (ns !== undefined && sameNetns(other, ns))) continue;
    let holders;
    try {
      holders = await addrs(other);
    } catch {
      continue; // vanished meanwhile
    }
    for (const a of holders) {
      if (!holdsIp(a, podIp) || !isVeth(a) || a.link_index === undefined) continue;
      if (!(await peerIsIn(a, other, ns))) continue;
      const peer = nodeLinks.find((l) => l.ifindex === a.link_index && isVeth(l) && l.link_index === a.ifindex);
      if (peer !== undefined) return { ifname: peer.ifname, ifindex: peer.ifindex, method: 'peer', podNetns: other };
    }
  }
  return undefined;
}
