/**
 * Keeps the agent's pod targets equal to what the Kubernetes API says: `--pod NS/NAME`
 * (one pod, followed across re-creation: a new pod object with the same name usually has
 * a new IP) or `--selector` (every matching pod on this node, as they come and go).
 *
 * Every `intervalMs` it lists the pods; pods with an IP, not on the host network, and on
 * this node (NODE_NAME, or, without it, whose IP a local veth reaches) are added; followed
 * pods that left the list are removed. A failed list changes nothing (the next round
 * retries) and is reported once until a list succeeds again.
 *
 * Polling, not a watch: TODO(#3) use the API's watch with resourceVersion for sub-second
 * pickup of new pods; the veth of a followed pod is still re-resolved every 500 ms by the
 * agent itself.
 */
import type { PodRef } from './k8s.js';
import { findVethForPodIp } from './veth.js';

export const DEFAULT_POD_LIST_INTERVAL_MS = 5_000;

/** What the selection drives (the Agent fits). */
export interface PodTargets {
  addPod(podIp: string, podName?: string): void;
  removePod(podIp: string): Promise<void>;
  readonly pods: string[];
}

export type PodSelectionEvent =
  | { type: 'list_failed'; message: string }
  | { type: 'list_ok' }
  | { type: 'skipped'; pod: string; reason: string };

export interface PodSelectionOptions {
  /** Lists the pods wanted now (KubeApi.getPod / listPods). */
  list: () => Promise<PodRef[]>;
  /** This node's name (spec.nodeName); undefined: keep pods whose IP a local veth reaches. */
  node?: string | undefined;
  /** The node's network namespace, for the veth check without `node`. */
  netns?: string | undefined;
  intervalMs?: number;
  onEvent?: (e: PodSelectionEvent) => void;
}

export function podLabel(p: PodRef): string {
  return `${p.namespace}/${p.name}`;
}

export class PodSelection {
  private readonly opts: PodSelectionOptions;
  private readonly targets: PodTargets;
  /** Pod IP → name of the pods this selection added. */
  private readonly followed: Map<string, string>;
  /** Pods reported as skipped, so each is reported once. */
  private readonly reported: Set<string>;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped: boolean;
  private failing: boolean;

  constructor(targets: PodTargets, opts: PodSelectionOptions) {
    this.targets = targets;
    this.opts = opts;
    this.followed = new Map();
    this.reported = new Set();
    this.timer = undefined;
    this.running = undefined;
    this.stopped = false;
    this.failing = false;
  }

  /** One round now; rejects with the list's error (the caller decides whether that is fatal at start). */
  async refreshOnce(): Promise<void> {
    const pods = await this.opts.list();
    const wanted = new Map<string, string>();
    for (const p of pods) {
      const label = podLabel(p);
      const skip = (reason: string): void => {
        if (this.reported.has(`${label} ${reason}`)) return;
        this.reported.add(`${label} ${reason}`);
        this.opts.onEvent?.({ type: 'skipped', pod: label, reason });
      };
      if (p.hostNetwork) {
        skip('it uses the host network (no veth of its own)');
        continue;
      }
      if (p.ip === undefined) {
        skip(`no IP yet (phase ${p.phase})`);
        continue;
      }
      if (this.opts.node !== undefined && p.node !== this.opts.node) continue; // another node's pod
      if (this.opts.node === undefined && !this.followed.has(p.ip)) {
        const found = await findVethForPodIp(p.ip, this.opts.netns === undefined ? {} : { netns: this.opts.netns }).catch(() => undefined);
        if (found === undefined) {
          skip(`no veth here reaches ${p.ip} (on another node? set NODE_NAME)`);
          continue;
        }
      }
      wanted.set(p.ip, label);
    }
    if (this.stopped) return;
    for (const [ip, label] of this.followed) {
      if (wanted.get(ip) === label) continue;
      this.followed.delete(ip);
      await this.targets.removePod(ip);
    }
    for (const [ip, label] of wanted) {
      if (this.followed.has(ip)) continue;
      this.followed.set(ip, label);
      this.targets.addPod(ip, label);
    }
  }

  /** Lists every `intervalMs` until stop(). */
  start(): void {
    const tick = (): void => {
      this.timer = undefined;
      if (this.stopped) return;
      this.running = this.refreshOnce()
        .then(() => {
          if (this.failing) this.opts.onEvent?.({ type: 'list_ok' });
          this.failing = false;
        })
        .catch((e: unknown) => {
          if (!this.failing) this.opts.onEvent?.({ type: 'list_failed', message: e instanceof Error ? e.message : String(e) });
          this.failing = true;
        })
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.timer = setTimeout(tick, this.opts.intervalMs ?? DEFAULT_POD_LIST_INTERVAL_MS);
        });
    };
    this.timer = setTimeout(tick, this.opts.intervalMs ?? DEFAULT_POD_LIST_INTERVAL_MS);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running !== undefined) await this.running;
  }
}
