/**
 * Pods by name or label selector, from the Kubernetes API: `podspan agent --pod NS/NAME`
 * and `--selector K=V,.. [--namespace NS]`. The agent needs only each pod's IP (then
 * agent/target/veth.ts finds its veth on this node) and its name for the pcapng interface
 * description.
 *
 * Where the API is:
 *   - in a cluster (the DaemonSet): KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT and
 *     the service account's token and CA in /var/run/secrets/kubernetes.io/serviceaccount,
 *     as client-go's rest.InClusterConfig reads them; the token file is re-read on every
 *     request (kubelet rotates projected tokens);
 *   - outside one: `--kube-api URL`, e.g. `kubectl proxy` (http://127.0.0.1:8001), which
 *     authenticates with the user's kubeconfig.
 *
 * Only pods on this node are wanted: with NODE_NAME set (the DaemonSet passes
 * spec.nodeName through the downward API) the list asks the API server for
 * `fieldSelector=spec.nodeName=NODE_NAME`; without it every matching pod comes back and
 * the agent keeps those whose IP has a veth here.
 *
 * Reads: GET /api/v1/namespaces/NS/pods/NAME and GET /api/v1[/namespaces/NS]/pods. Needs
 * RBAC `get` and `list` on pods (deploy/ has the role).
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

import { AGENT_ERR, AgentError } from '../errors.js';
import { canonicalIp } from './ip-json.js';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** A request that takes longer fails (the agent retries on its next round). */
const REQUEST_TIMEOUT_MS = 10_000;
/** A pod list larger than this is refused rather than buffered. */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** What the agent keeps of a pod. */
export interface PodRef {
  namespace: string;
  name: string;
  /** status.podIP; undefined while the pod has none yet (Pending). */
  ip: string | undefined;
  /** spec.nodeName; undefined before scheduling. */
  node: string | undefined;
  /** spec.hostNetwork: such a pod has no veth of its own. */
  hostNetwork: boolean;
  /** status.phase. */
  phase: string;
}

export interface KubeApiOptions {
  /** API server base URL; default: the in-cluster service. */
  url?: string;
  /** Service account directory (token, ca.crt); default SERVICE_ACCOUNT_DIR. */
  serviceAccountDir?: string;
  /** Environment to read KUBERNETES_SERVICE_HOST/PORT from; default process.env. */
  env?: NodeJS.ProcessEnv;
}

interface Endpoint {
  url: URL;
  tokenFile: string | undefined;
  ca: Buffer | undefined;
}

/** Parses `NS/NAME` (both DNS-1123 names). Throws RangeError with a message. */
export function parsePodName(text: string): { namespace: string; name: string } {
  const m = /^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?)$/.exec(text);
  if (m === null) throw new RangeError(`"${text}" is not NAMESPACE/POD (lowercase names, e.g. default/web-0)`);
  return { namespace: m[1]!, name: m[3]! };
}

/**
 * Checks a label selector in kubectl's equality form (`app=web,tier!=db,env in (a,b)` is
 * also accepted: the API server parses it; this only refuses what cannot be one).
 */
export function checkSelector(text: string): string {
  const s = text.trim();
  if (s === '' || s.length > 4096 || /[\s&?#]/.test(s.replace(/\s*(in|notin)\s*\(/g, '(').replace(/,\s+/g, ','))) {
    throw new RangeError(`"${text}" is not a label selector (e.g. app=web,tier=frontend)`);
  }
  return s;
}

function resolveEndpoint(opts: KubeApiOptions): Endpoint {
  if (opts.url !== undefined) {
    let url: URL;
    try {
      url = new URL(opts.url);
    } catch {
      throw new AgentError(AGENT_ERR.KUBE, `--kube-api "${opts.url}" is not a URL (e.g. http://127.0.0.1:8001 from kubectl proxy)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new AgentError(AGENT_ERR.KUBE, `--kube-api "${opts.url}" must be http:// or https://`);
    return { url, tokenFile: undefined, ca: undefined };
  }
  const env = opts.env ?? process.env;
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  if (host === undefined || host === '' || port === undefined || port === '') {
    throw new AgentError(
      AGENT_ERR.KUBE,
      'not running in a Kubernetes pod (KUBERNETES_SERVICE_HOST is not set): give --kube-api URL (e.g. run `kubectl proxy` and use http://127.0.0.1:8001), or use --pod-ip IP',
    );
  }
  const dir = opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  let ca: Buffer;
  try {
    ca = readFileSync(`${dir}/ca.crt`);
  } catch (e) {
    throw new AgentError(AGENT_ERR.KUBE, `cannot read the service account CA ${dir}/ca.crt: ${(e as Error).message} (is automountServiceAccountToken off?)`);
  }
  return { url: new URL(`https://${host.includes(':') ? `[${host}]` : host}:${port}`), tokenFile: `${dir}/token`, ca };
}

interface PodJson {
  metadata?: { namespace?: string; name?: string };
  spec?: { nodeName?: string; hostNetwork?: boolean };
  status?: { podIP?: string; phase?: string };
}

function podRef(p: PodJson): PodRef | undefined {
  const namespace = p.metadata?.namespace;
  const name = p.metadata?.name;
  if (typeof namespace !== 'string' || typeof name !== 'string') return undefined;
  const ip = p.status?.podIP;
  const node = p.spec?.nodeName;
  return {
    namespace,
    name,
    ip: typeof ip === 'string' && ip !== '' ? (canonicalIp(ip) ?? ip) : undefined,
    node: typeof node === 'string' && node !== '' ? node : undefined,
    hostNetwork: p.spec?.hostNetwork === true,
    phase: typeof p.status?.phase === 'string' ? p.status.phase : 'Unknown',
  };
}

export class KubeApi {
  private readonly ep: Endpoint;

  /** Throws AgentError KUBE when no API server is configured. */
  constructor(opts: KubeApiOptions = {}) {
    this.ep = resolveEndpoint(opts);
  }

  /** The API server's address, for messages. */
  get where(): string {
    return this.ep.url.origin;
  }

  /** One pod; undefined when it does not exist (404). */
  async getPod(namespace: string, name: string): Promise<PodRef | undefined> {
    const body = await this.get(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`, true);
    if (body === undefined) return undefined;
    const ref = podRef(body as PodJson);
    if (ref === undefined) throw new AgentError(AGENT_ERR.KUBE, `${this.where}: pod ${namespace}/${name}: the answer is not a Pod`);
    return ref;
  }

  /** Pods matching `selector` in `namespace` (all namespaces when undefined), on `node` when given. */
  async listPods(selector: string, opts: { namespace?: string | undefined; node?: string | undefined } = {}): Promise<PodRef[]> {
    const q = new URLSearchParams({ labelSelector: selector });
    if (opts.node !== undefined) q.set('fieldSelector', `spec.nodeName=${opts.node}`);
    const base = opts.namespace === undefined ? '/api/v1/pods' : `/api/v1/namespaces/${encodeURIComponent(opts.namespace)}/pods`;
    const body = (await this.get(`${base}?${q.toString()}`, false)) as { kind?: string; items?: unknown };
    if (!Array.isArray(body.items)) throw new AgentError(AGENT_ERR.KUBE, `${this.where}: the pod list has no items`);
    const out: PodRef[] = [];
    for (const item of body.items as PodJson[]) {
      const r = podRef(item);
      if (r !== undefined) out.push(r);
    }
    return out;
  }

  private get(path: string, allow404: boolean): Promise<unknown> {
    const url = new URL(path, this.ep.url);
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'podspan-agent' };
    if (this.ep.tokenFile !== undefined) {
      let token: string;
      try {
        token = readFileSync(this.ep.tokenFile, 'utf8').trim();
      } catch (e) {
        return Promise.reject(new AgentError(AGENT_ERR.KUBE, `cannot read the service account token ${this.ep.tokenFile}: ${(e as Error).message}`));
      }
      headers['authorization'] = `Bearer ${token}`;
    }
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const fail = (msg: string): void => reject(new AgentError(AGENT_ERR.KUBE, `${this.where}: GET ${url.pathname}: ${msg}`));
      const req = request(url, { method: 'GET', headers, timeout: REQUEST_TIMEOUT_MS, ...(this.ep.ca !== undefined ? { ca: this.ep.ca } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE_BYTES) {
            res.destroy();
            fail(`answer larger than ${MAX_RESPONSE_BYTES} bytes`);
            return;
          }
          chunks.push(c);
        });
        res.on('error', (e) => fail(e.message));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString('utf8');
          if (status === 404 && allow404) {
            resolve(undefined);
            return;
          }
          if (status === 401 || status === 403) {
            fail(`${status}: the agent's service account may not read pods (deploy/ has the RBAC role: get, list on pods)`);
            return;
          }
          if (status !== 200) {
            fail(`HTTP ${status}${text === '' ? '' : `: ${text.slice(0, 200)}`}`);
            return;
          }
          try {
            resolve(JSON.parse(text));
          } catch {
            fail('the answer is not JSON');
          }
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer in ${REQUEST_TIMEOUT_MS} ms`)));
      req.on('error', (e) => fail(e.message));
      req.end();
    });
  }
}
