/**
 * Calling a CNI plugin the way a kubelet's container runtime does (CNI spec 1.0.0):
 * CNI_* variables in the environment, the network configuration as JSON on stdin, the
 * result (or an error object) as JSON on stdout. The plugin runs inside the node's network
 * namespace (`ip netns exec NODE PLUGIN`), so the bridge and the host-side veths are
 * created there; CNI_NETNS names the pod's namespace.
 */
import { LAB_ERR, LabError } from './errors.js';
import { run } from './exec.js';

export const CNI_PATH = '/usr/lib/cni';
export const CNI_VERSION = '1.0.0';

export interface BridgeNetConf {
  cniVersion: string;
  name: string;
  type: 'bridge';
  bridge: string;
  isGateway: boolean;
  ipMasq: boolean;
  hairpinMode: boolean;
  ipam: {
    type: 'host-local';
    ranges: { subnet: string; gateway?: string }[][];
    dataDir: string;
  };
  prevResult?: unknown;
}

export interface CniInterface {
  name: string;
  mac?: string;
  sandbox?: string;
}

export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: { address: string; gateway?: string; interface?: number }[];
  routes?: { dst: string; gw?: string }[];
}

export interface CniCall {
  command: 'ADD' | 'DEL' | 'CHECK';
  containerId: string;
  /** Path of the pod's namespace, e.g. /var/run/netns/psl-pod-server. */
  podNetnsPath: string;
  ifname: string;
  /** The node namespace the plugin runs in. */
  nodeNetns: string;
  netconf: BridgeNetConf;
  plugin?: string;
}

interface CniErrorResult {
  code?: number;
  msg?: string;
  details?: string;
}

/** Runs the plugin; ADD resolves with its result, DEL and CHECK with undefined. */
export async function cniExec(call: CniCall): Promise<CniResult | undefined> {
  const plugin = call.plugin ?? `${CNI_PATH}/${call.netconf.type}`;
  const res = await run('ip', ['netns', 'exec', call.nodeNetns, plugin], {
    input: JSON.stringify(call.netconf),
    env: {
      CNI_COMMAND: call.command,
      CNI_CONTAINERID: call.containerId,
      CNI_NETNS: call.podNetnsPath,
      CNI_IFNAME: call.ifname,
      CNI_PATH,
    },
    allowFailure: true,
    timeoutMs: 30_000,
  });
  if (res.code !== 0) {
    let msg = res.stderr.trim() || res.stdout.trim();
    try {
      const e = JSON.parse(res.stdout) as CniErrorResult;
      msg = [e.msg, e.details].filter((s) => s !== undefined && s !== '').join(': ') || msg;
    } catch {
      // not JSON: keep the raw text
    }
    throw new LabError(LAB_ERR.CNI, `CNI ${call.command} (${plugin}) for ${call.containerId} failed: ${msg}`, { exitCode: res.code });
  }
  if (call.command !== 'ADD') return undefined;
  return JSON.parse(res.stdout) as CniResult;
}
