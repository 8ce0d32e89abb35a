/**
 * The node-side veth of a lab pod, found from both ends (the lab knows both namespaces).
 * Finding a veth from a pod IP alone, as a node agent must, is the agent's job:
 * agent/target/veth.ts `findVethForPodIp`.
 */
import { ipJson } from './exec.js';
import { isVeth, links, type IpLink } from './netns.js';

interface NsId {
  nsid: number;
  name?: string;
}

/**
 * Whether `link` (seen from `fromNs`) has its veth peer in `targetNs`. ifindexes are per
 * namespace, so matching them alone can pair unrelated veths; the peer's namespace id
 * (`link_netnsid`) resolved through `ip netns list-id` settles it. `targetNs` undefined is
 * this process's namespace, which has no name there.
 */
async function peerIsIn(link: IpLink, fromNs: string, targetNs: string | undefined): Promise<boolean> {
  if (link.link_netnsid === undefined) return false; // peer in fromNs itself
  const ids = await ipJson<NsId>(['netns', 'list-id'], fromNs);
  const entry = ids.find((i) => i.nsid === link.link_netnsid);
  if (entry === undefined) return targetNs === undefined;
  return targetNs === undefined ? entry.name === undefined : entry.name === targetNs;
}

/**
 * The node-side veth whose peer is `podIfname` in `podNetns` (both namespaces known, as in
 * the lab): matched by the ifindexes the two ends report for each other.
 */
export async function hostVethOfPod(podNetns: string, nodeNetns: string | undefined, podIfname = 'eth0'): Promise<IpLink | undefined> {
  const podLink = (await links(podNetns)).find((l) => l.ifname === podIfname);
  if (podLink === undefined || podLink.link_index === undefined) return undefined;
  if (!(await peerIsIn(podLink, podNetns, nodeNetns))) return undefined;
  return (await links(nodeNetns)).find((l) => l.ifindex === podLink.link_index && isVeth(l) && l.link_index === podLink.ifindex);
}
