/**
 * `podspan agent --pod NS/NAME | --selector K=V,.. [--namespace NS] [--kube-api URL]`:
 * pods named through the Kubernetes API (agent/target/k8s.ts), followed by a PodSelection
 * (agent/target/pod-selection.ts) that adds and removes the agent's pod targets.
 *
 * --pod fails fast when the pod does not exist, has no IP yet, or uses the host network;
 * --selector starts even when nothing matches yet (a DaemonSet on a node without such
 * pods) and says so.
 */
import type { Agent } from '../agent/agent.js';
import { isAgentError } from '../agent/errors.js';
import { KubeApi, checkSelector, parsePodName, type PodRef } from '../agent/target/k8s.js';
import { PodSelection, podLabel, type PodSelectionEvent } from '../agent/target/pod-selection.js';
import { usageError } from './errors.js';

export interface KubeSelection {
  pod: { namespace: string; name: string } | undefined;
  selector: string | undefined;
  namespace: string | undefined;
  api: string | undefined;
}

type Values = { [flag: string]: string | boolean | Array<string | boolean> | undefined };

function str(v: Values[string]): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** --pod / --selector / --namespace / --kube-api → selection; undefined when neither --pod nor --selector. */
export function kubeSelection(values: Values): KubeSelection | undefined {
  const podText = str(values['pod']);
  const selText = str(values['selector']);
  const namespace = str(values['namespace']);
  const api = str(values['kube-api']);
  if (podText !== undefined && selText !== undefined) throw usageError('agent: give --pod NAMESPACE/NAME or --selector K=V, not both');
  if (podText === undefined && selText === undefined) {
    if (namespace !== undefined) throw usageError('agent: --namespace goes with --selector (e.g. --selector app=web --namespace shop)');
    if (api !== undefined) throw usageError('agent: --kube-api goes with --pod or --selector');
    return undefined;
  }
  if (podText !== undefined && namespace !== undefined) throw usageError('agent: --pod already names the namespace (NAMESPACE/NAME); drop --namespace');
  let pod: KubeSelection['pod'];
  let selector: string | undefined;
  try {
    if (podText !== undefined) pod = parsePodName(podText);
    if (selText !== undefined) selector = checkSelector(selText);
  } catch (e) {
    throw usageError(`agent: ${podText !== undefined ? '--pod' : '--selector'} ${(e as Error).message}`);
  }
  if (namespace !== undefined && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) throw usageError(`agent: --namespace "${namespace}" is not a namespace name`);
  return { pod, selector, namespace, api };
}

export interface KubeStart {
  /** Pod IPs to capture from the start, with their names. */
  podIps: string[];
  podNames: Map<string, string>;
  /** Whether the agent starts with dynamic pods (--selector). */
  dynamic: boolean;
  /** Attaches the selection to the started agent; returns its stop function. */
  follow(agent: Agent, log: (line: string) => void): () => Promise<void>;
}

function eventText(e: PodSelectionEvent): string {
  switch (e.type) {
    case 'list_failed':
      return `podspan: kubernetes: listing pods failed: ${e.message} (keeping the current captures; retrying)`;
    case 'list_ok':
      return 'podspan: kubernetes: listing pods works again';
    case 'skipped':
      return `podspan: kubernetes: not capturing pod ${e.pod}: ${e.reason}`;
  }
}

/**
 * Asks the API before the agent starts. Usage errors (exit 2) for a missing API
 * configuration, a refused or failed request, and a --pod that cannot be captured.
 */
export async function startKube(sel: KubeSelection, netns: string | undefined): Promise<KubeStart> {
  let api: KubeApi;
  try {
    api = new KubeApi(sel.api === undefined ? {} : { url: sel.api });
  } catch (e) {
    throw usageError(`agent: ${(e as Error).message}`);
  }
  const node = process.env['NODE_NAME'] === undefined || process.env['NODE_NAME'] === '' ? undefined : process.env['NODE_NAME'];
  const list = async (): Promise<PodRef[]> => {
    if (sel.pod !== undefined) {
      const p = await api.getPod(sel.pod.namespace, sel.pod.name);
      return p === undefined ? [] : [p];
    }
    return api.listPods(sel.selector!, { namespace: sel.namespace, node });
  };
  let first: PodRef[];
  try {
    first = await list();
  } catch (e) {
    throw usageError(`agent: ${isAgentError(e) ? e.message : String(e)}`);
  }
  const podIps: string[] = [];
  const podNames = new Map<string, string>();
  if (sel.pod !== undefined) {
    const label = `${sel.pod.namespace}/${sel.pod.name}`;
    const p = first[0];
    if (p === undefined) throw usageError(`agent: --pod ${label}: no such pod (kubectl get pod -n ${sel.pod.namespace} ${sel.pod.name})`);
    if (p.hostNetwork) throw usageError(`agent: --pod ${label} uses the host network and has no veth of its own: capture the node's interface with --iface`);
    if (p.ip === undefined) throw usageError(`agent: --pod ${label} has no IP yet (phase ${p.phase}); try again when it is Running`);
    if (node !== undefined && p.node !== node) throw usageError(`agent: --pod ${label} runs on node ${p.node ?? '(none)'}, not on this node (${node}): run the agent there`);
    podIps.push(p.ip);
    podNames.set(p.ip, podLabel(p));
  }
  return {
    podIps,
    podNames,
    dynamic: sel.selector !== undefined,
    follow(agent, log) {
      const selection = new PodSelection(agent, { list, node, netns, onEvent: (e) => log(eventText(e)) });
      // --pod: the pod is followed already; the selection takes over when it is re-created.
      const seed = sel.selector !== undefined ? selection.refreshOnce().catch((e: unknown) => log(eventText({ type: 'list_failed', message: String(e) }))) : selection.refreshOnce().catch(() => undefined);
      void seed.then(() => {
        if (sel.selector !== undefined && agent.pods.length === 0) log(`podspan: kubernetes: no pod on this node matches ${sel.selector} yet; waiting for one`);
        selection.start();
      });
      return async () => {
        await seed;
        await selection.stop();
      };
    },
  };
}
