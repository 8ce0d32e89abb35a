/**
 * The capture agent: pod veths (by interface name or pod IP) → libpcap batches → one
 * pcapng stream.
 *
 *   const agent = await Agent.start({ podIps: ['10.77.0.3'], sink: openFileSink('a.pcapng') });
 *   ...
 *   const summary = await agent.stop('signal');
 *
 * File layout (little-endian, if_tsresol = 9): one SHB (shb_userappl "podspan agent"); one
 * IDB per capture attachment (if_name = the veth, if_description = "pod IP" for pod
 * targets); EPBs with libpcap's kernel nanosecond timestamps; one ISB per attachment when it
 * ends (at exit, or when its pod moved to another veth).
 *
 * Merging: frames of several interfaces go to one file batch by batch, each batch in
 * kernel order, batches in the order they reach JS. Frames of different interfaces are not
 * sorted by time against each other (a reader that needs that sorts, as `mergecap` does).
 *
 * Accounting, per attachment: every frame libpcap handed over is written or counted under
 * a drop reason (AGENT_DROP_REASONS): delivered + batch_full == written + Σ drops. The
 * kernel's own counts (pcap_stats ps_recv, ps_drop) are reported beside them, unchanged.
 *
 * Pod restarts: a pod target is re-resolved every `resolveIntervalMs` (and at once when its
 * capture fails); when its IP is now behind another veth, the agent closes the old capture,
 * opens the new veth, writes the old interface's ISB with a comment naming the move and the
 * gap, then the new IDB. Frames the pod exchanged during the gap were on no captured
 * interface and are not counted anywhere.
 */
import { arch, release, type as osType } from 'node:os';

import { CAPTURE_META, CAPTURE_META_COLS, LiveCapture, epbPrefixBytes, isCaptureError, type CaptureBatch, type CaptureError, type CaptureStats } from '../native/index.js';
import { PcapngWriter } from '../packet/capfile/pcapng-writer.js';
import { LINKTYPE } from '../packet/wire/link-type.js';
import { AGENT_ERR, AgentError } from './errors.js';
import { captureFilter, type ExportEndpoint } from './exclude.js';
import type { EpbBatchCounters } from './export/pcapng-batch.js';
import type { FrameSink } from './export/sink.js';
import type { ExportCounters, Exporter } from './export/exporter.js';
import { findVethForPodIp, isPodIp, type VethForPodIp } from './target/veth.js';

/** Reasons a frame handed over by libpcap was not written. `snaplen` is not one: truncation is counted apart. */
export const AGENT_DROP_REASONS = ['batch_full', 'write_error', 'after_stop'] as const;
/**
 * - batch_full: found no room in the native batch slot (should stay 0).
 * - write_error: the output failed; nothing more is written.
 * - after_stop: handed over after the agent stopped taking frames (-c reached, or closing).
 */
export type AgentDropReason = (typeof AGENT_DROP_REASONS)[number];
export type AgentDrops = Record<AgentDropReason, number>;

export const SHB_USER_APPL = 'podspan agent';
export const DEFAULT_AGENT_SNAP_LEN = 262144;
export const DEFAULT_RESOLVE_INTERVAL_MS = 500;
/** Re-resolution period while a pod target has no live capture. */
export const LOST_RESOLVE_INTERVAL_MS = 100;
/** How long the fast period lasts after a pod's veth was lost before falling back. */
export const LOST_FAST_RESOLVE_MS = 10_000;
export const DEFAULT_AGENT_TIMEOUT_MS = 100;
export const DEFAULT_AGENT_BATCH_BYTES = 8 * 1024 * 1024;
export const DEFAULT_AGENT_BATCH_ROWS = 32768;
/**
 * With a pcapng output and no exporters, the capture thread holds a batch this long after
 * its first frame (unless the slot fills; at most half of timeoutMs): under load, batches
 * of many ring blocks instead of one, so the per-batch costs (wakeups, the JS call, the
 * write) are paid ~10x less often.
 */
export const PCAPNG_COALESCE_MS = 50;

export type AgentStopReason = 'count' | 'signal' | 'duration' | 'write_error' | 'no_interfaces' | 'requested';

export type AgentEvent =
  | { type: 'listening'; iface: string; description: string | undefined; linkType: number; linkTypeName: string; snapLen: number; warning: string | undefined }
  | { type: 'capture_error'; iface: string; code: string; message: string }
  | { type: 'reattached'; podIp: string; from: string; to: string; gapMs: number }
  | { type: 'pod_added'; podIp: string; podName: string | undefined; iface: string }
  | { type: 'pod_removed'; podIp: string; podName: string | undefined }
  | { type: 'attach_failed'; podIp: string; iface: string; code: string; message: string };

export interface AgentOptions {
  /** Interfaces by name (in `netns`). */
  ifaces?: readonly string[];
  /** Pod IPv4 or IPv6 addresses: the agent finds and follows their veths. */
  podIps?: readonly string[];
  /** Names of pods (`NAMESPACE/NAME`) by pod IP, for the pcapng interface descriptions. */
  podNames?: ReadonlyMap<string, string>;
  /**
   * Start with nothing to capture and keep running when every capture is gone: pods come
   * and go through addPod/removePod (`--selector`). Default false.
   */
  dynamicPods?: boolean;
  /** The node's network namespace, where the veths are (a name or a path); default: this process's. */
  netns?: string;
  /** BPF expression. */
  filter?: string;
  /** Export targets whose traffic is left out of the capture (agent/exclude.ts). */
  exclude?: readonly ExportEndpoint[];
  /** Default 262144. */
  snapLen?: number;
  /** Kernel ring bytes per interface; default libpcap's via native (8 MiB). */
  bufferSize?: number;
  /** Stop after writing this many frames. */
  count?: number;
  /** The pcapng output; or a function opening it, called once every capture has opened. Optional when `exporters` are given. */
  sink?: FrameSink | (() => FrameSink);
  /** Where frames are also sent (--to); closed by the agent when it stops. Add their endpoints to `exclude`. */
  exporters?: readonly Exporter[];
  /** Default 500. */
  resolveIntervalMs?: number;
  /** TPACKET_V3 block timeout; default 100. */
  timeoutMs?: number;
  /** Native batch slot size; default 8 MiB and 32768 rows. */
  batchBytes?: number;
  batchRows?: number;
  /** On stop by signal, duration or request: keep writing this long so frames already in the kernel ring get out; default timeoutMs + 100 (+ the coalescing time, PCAPNG_COALESCE_MS, with a pcapng output and no exporters). */
  drainMs?: number;
  onEvent?: (e: AgentEvent) => void;
}

export interface AgentInterfaceSummary {
  /** pcapng interface id. */
  ifaceId: number;
  iface: string;
  ifindex: number | undefined;
  podIp: string | undefined;
  description: string | undefined;
  /** pcap_stats ps_recv / ps_drop / ps_ifdrop at the end of this attachment. */
  received: number;
  dropped: number;
  ifDropped: number;
  /** Frames libpcap handed to JS (native `delivered`), in how many batches. */
  delivered: number;
  batches: number;
  written: number;
  truncated: number;
  drops: AgentDrops;
  /** Why this attachment ended early, if it did. */
  endNote: string | undefined;
}

export interface AgentSummary {
  reason: AgentStopReason;
  /** Frames written (tcpdump's "packets captured"). */
  captured: number;
  /** Σ ps_recv (tcpdump's "packets received by filter"). */
  received: number;
  /** Σ ps_drop (tcpdump's "packets dropped by kernel"). */
  droppedByKernel: number;
  drops: AgentDrops;
  truncated: number;
  reattachments: number;
  interfaces: AgentInterfaceSummary[];
  /** The output error that stopped the agent, if any. */
  writeError: NodeJS.ErrnoException | undefined;
  /** Per export target (--to): datagrams sent and frames dropped per reason. */
  exports: Array<{ url: string; dropReasons: readonly string[]; counters: ExportCounters }>;
}

function zeroDrops(): AgentDrops {
  return { batch_full: 0, write_error: 0, after_stop: 0 };
}

function nowParts(): { sec: number; nsec: number; ms: number } {
  const ms = Date.now();
  return { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1_000_000, ms };
}

/** One metric sample (cli/metrics-server.ts serves them). */
export interface AgentMetricSample {
  name: string;
  help: string;
  labels: Record<string, string>;
  value: number;
}

/** Frames of rows [0, n) of `b` cut by the snap length. */
function truncatedIn(b: CaptureBatch, n: number): number {
  if (n >= b.count) return b.truncated; // counted by the capture thread
  let k = 0;
  for (let i = 0; i < n; i++) if (b.meta[i * CAPTURE_META_COLS + CAPTURE_META.CAP_LEN]! < b.meta[i * CAPTURE_META_COLS + CAPTURE_META.WIRE_LEN]!) k++;
  return k;
}

/** One capture on one interface, from open to close; one pcapng interface. */
class Attachment {
  readonly iface: string;
  readonly ifindex: number | undefined;
  readonly podIp: string | undefined;
  /** `NAMESPACE/NAME` when known. */
  readonly podName: string | undefined;
  readonly description: string | undefined;
  readonly cap: LiveCapture;
  /** The Buffer list of the batch being written (reused: one batch per attachment at a time). */
  readonly segments: Buffer[];
  readonly counters: EpbBatchCounters;
  readonly drops: AgentDrops;
  ifaceId: number;
  /** Frames the batch handler saw. */
  seen: number;
  written: number;
  startSec: number;
  startNsec: number;
  endSec: number;
  endNsec: number;
  endMs: number;
  retired: boolean;
  retiring: Promise<void> | undefined;
  final: CaptureStats | undefined;
  isbWritten: boolean;
  endNote: string | undefined;

  constructor(cap: LiveCapture, iface: string, ifindex: number | undefined, pod: { ip: string; name: string | undefined } | undefined) {
    this.cap = cap;
    this.iface = iface;
    this.ifindex = ifindex;
    this.podIp = pod?.ip;
    this.podName = pod?.name;
    this.description = pod === undefined ? undefined : pod.name === undefined ? `pod ${pod.ip}` : `pod ${pod.name} ${pod.ip}`;
    this.segments = [];
    this.counters = { truncated: 0 };
    this.drops = zeroDrops();
    this.ifaceId = -1;
    this.seen = 0;
    this.written = 0;
    const t = nowParts();
    this.startSec = t.sec;
    this.startNsec = t.nsec;
    this.endSec = 0;
    this.endNsec = 0;
    this.endMs = 0;
    this.retired = false;
    this.retiring = undefined;
    this.final = undefined;
    this.isbWritten = false;
    this.endNote = undefined;
  }

  /** The capture's link type and snap length (ExportSource). */
  get linkType(): number {
    return this.cap.linkType;
  }

  get snapLen(): number {
    return this.cap.snapLen;
  }

  markEnd(): void {
    if (this.endMs !== 0) return;
    const t = nowParts();
    this.endSec = t.sec;
    this.endNsec = t.nsec;
    this.endMs = t.ms;
  }
}

/** A pod IP the agent follows from veth to veth. */
interface PodTarget {
  podIp: string;
  podName: string | undefined;
  /** Whether a capture was ever opened for it (the first one is not a reattachment). */
  attached: boolean;
  current: Attachment | undefined;
  /** The last attachment, retired, whose ISB waits for the next one (to name the move). */
  previous: Attachment | undefined;
  /** When the last attachment ended (ms since the epoch); 0 while live. */
  lostAtMs: number;
  hint: string | undefined;
  /** Last failed attach, so the same failure is reported once. */
  lastAttachError: string | undefined;
}

export class Agent {
  private readonly opts: AgentOptions;
  private readonly filter: string | undefined;
  private readonly snapLen: number;
  private readonly coalesceMs: number;
  private readonly writer: PcapngWriter;
  private sink: FrameSink | undefined;
  /** Whether there is a pcapng output at all (false: export only). */
  private pcapng: boolean;
  private readonly attachments: Attachment[];
  private readonly podTargets: PodTarget[];
  private tail: Promise<void>;
  private writeError: NodeJS.ErrnoException | undefined;
  private accepting: boolean;
  private reserved: number;
  private reattachments: number;
  private stopping: Promise<AgentSummary> | undefined;
  private resolveTimer: NodeJS.Timeout | undefined;
  private resolving: Promise<void> | undefined;
  private readonly doneResolvers: Array<(s: AgentSummary) => void>;
  /** Resolves with the summary once the agent has stopped, for whatever reason. */
  readonly done: Promise<AgentSummary>;

  private constructor(opts: AgentOptions, filter: string | undefined) {
    this.opts = opts;
    this.filter = filter;
    this.snapLen = opts.snapLen ?? DEFAULT_AGENT_SNAP_LEN;
    // At most half the block timeout: who asks for fresher blocks gets fresher batches too.
    const halfTimeout = Math.floor((opts.timeoutMs ?? DEFAULT_AGENT_TIMEOUT_MS) / 2);
    this.coalesceMs = opts.sink !== undefined && (opts.exporters ?? []).length === 0 ? Math.min(PCAPNG_COALESCE_MS, halfTimeout) : 0;
    this.writer = new PcapngWriter();
    this.sink = undefined;
    this.pcapng = false;
    this.attachments = [];
    this.podTargets = [];
    this.tail = Promise.resolve();
    this.writeError = undefined;
    this.accepting = true;
    this.reserved = 0;
    this.reattachments = 0;
    this.stopping = undefined;
    this.resolveTimer = undefined;
    this.resolving = undefined;
    this.doneResolvers = [];
    this.done = new Promise((resolve) => this.doneResolvers.push(resolve));
  }

  /**
   * Resolves pod IPs, opens every capture, then the sink, writes SHB and IDBs and starts
   * capturing. Throws (nothing left open) CaptureError from libpcap (NO_SUCH_DEVICE, PERM,
   * BAD_FILTER, IFACE_DOWN, OPEN, NETNS, NATIVE_LOAD) and AgentError (POD_IP_UNREACHABLE,
   * MIXED_INTERFACES, OPTIONS, WRITE, COMMAND).
   */
  static async start(opts: AgentOptions): Promise<Agent> {
    const ifaces = opts.ifaces ?? [];
    const podIps = opts.podIps ?? [];
    if (ifaces.length + podIps.length === 0 && opts.dynamicPods !== true) throw new AgentError(AGENT_ERR.OPTIONS, 'nothing to capture: give an interface or a pod IP');
    if (opts.sink === undefined && (opts.exporters ?? []).length === 0) throw new AgentError(AGENT_ERR.OPTIONS, 'no output: give a sink or an exporter');
    for (const ip of podIps) if (!isPodIp(ip)) throw new AgentError(AGENT_ERR.OPTIONS, `pod IP "${ip}" is not an IPv4 or IPv6 address`);
    if (opts.count !== undefined && (!Number.isInteger(opts.count) || opts.count < 1)) throw new AgentError(AGENT_ERR.OPTIONS, 'count must be a positive integer');
    let filter: string | undefined;
    try {
      filter = captureFilter(opts.filter, opts.exclude ?? []);
    } catch (e) {
      throw new AgentError(AGENT_ERR.OPTIONS, (e as Error).message);
    }
    const agent = new Agent(opts, filter);

    // Targets: names as given, pod IPs through their veths.
    const wanted: Array<{ iface: string; ifindex: number | undefined; podIp: string | undefined; target: PodTarget | undefined }> = [];
    for (const iface of ifaces) wanted.push({ iface, ifindex: undefined, podIp: undefined, target: undefined });
    for (const podIp of podIps) {
      const found = await findVethForPodIp(podIp, opts.netns === undefined ? {} : { netns: opts.netns });
      if (found === undefined) {
        throw new AgentError(
          AGENT_ERR.POD_IP_UNREACHABLE,
          `no veth ${opts.netns === undefined ? 'in this network namespace' : `in network namespace ${opts.netns}`} reaches pod IP ${podIp} ` +
            '(looked up by route, neighbour + bridge FDB, and the veth peers of the named namespaces)',
          { podIp },
        );
      }
      const target: PodTarget = { podIp, podName: opts.podNames?.get(podIp), attached: true, current: undefined, previous: undefined, lostAtMs: 0, hint: found.podNetns, lastAttachError: undefined };
      wanted.push({ iface: found.ifname, ifindex: found.ifindex, podIp, target });
    }
    const seen = new Map<string, string>();
    for (const w of wanted) {
      const what = w.podIp === undefined ? `--iface ${w.iface}` : `pod IP ${w.podIp} (on ${w.iface})`;
      const before = seen.get(w.iface);
      if (before !== undefined) throw new AgentError(AGENT_ERR.OPTIONS, `${what} and ${before} are the same interface: give it once`);
      seen.set(w.iface, what);
    }

    // Open everything before writing anything: a failure leaves no file behind.
    try {
      for (const w of wanted) {
        const att = agent.open(w.iface, w.ifindex, w.target);
        if (w.target !== undefined) {
          w.target.current = att;
          agent.podTargets.push(w.target);
        }
      }
      const first = agent.attachments[0];
      for (const a of agent.attachments) {
        if (first === undefined) break;
        if (a.cap.linkType !== first.cap.linkType || a.cap.snapLen !== first.cap.snapLen) {
          throw new AgentError(
            AGENT_ERR.MIXED_INTERFACES,
            `${a.iface} (${a.cap.linkTypeName}, snaplen ${a.cap.snapLen}) and ${first.iface} (${first.cap.linkTypeName}, snaplen ${first.cap.snapLen}) ` +
              'cannot share one pcapng file that tcpdump can read: capture them in separate runs',
          );
        }
      }
      // A tunnel of Ethernet frames cannot carry a cooked (any), raw-IP or loopback capture:
      // the receiver would read the first bytes as MAC addresses.
      const ethOnly = (opts.exporters ?? []).find((x) => x.ethernetOnly === true);
      const notEth = agent.attachments.find((a) => a.cap.linkType !== LINKTYPE.ETHERNET);
      if (ethOnly !== undefined && notEth !== undefined) {
        throw new AgentError(
          AGENT_ERR.OPTIONS,
          `${ethOnly.url} carries Ethernet frames, and ${notEth.iface} captures ${notEth.cap.linkTypeName}: capture the pod's veth or an Ethernet interface instead, or write it with -w (pcapng keeps the link type)`,
        );
      }
      agent.sink = typeof opts.sink === 'function' ? opts.sink() : opts.sink;
      agent.pcapng = agent.sink !== undefined;
    } catch (e) {
      await Promise.all(agent.attachments.map((a) => a.cap.close()));
      throw e;
    }

    const shb = agent.writer.sectionHeader({ userAppl: SHB_USER_APPL, os: `${osType()} ${release()}`, hardware: arch() });
    agent.enqueue(() => shb);
    for (const a of agent.attachments) agent.begin(a);
    if (agent.podTargets.length > 0 || opts.dynamicPods === true) agent.scheduleResolve(opts.resolveIntervalMs ?? DEFAULT_RESOLVE_INTERVAL_MS);
    return agent;
  }

  /** Opens (not starts) a capture on `iface`. Throws CaptureError. */
  private open(iface: string, ifindex: number | undefined, target: PodTarget | undefined): Attachment {
    const o = this.opts;
    const cap = LiveCapture.open({
      iface,
      snapLen: this.snapLen,
      ...(o.bufferSize !== undefined ? { bufferSize: o.bufferSize } : {}),
      ...(this.filter !== undefined ? { filter: this.filter } : {}),
      ...(o.netns !== undefined ? { netns: o.netns } : {}),
      timeoutMs: o.timeoutMs ?? DEFAULT_AGENT_TIMEOUT_MS,
      batchBytes: Math.max(o.batchBytes ?? DEFAULT_AGENT_BATCH_BYTES, this.snapLen),
      batchRows: o.batchRows ?? DEFAULT_AGENT_BATCH_ROWS,
      // With a pcapng output the capture thread lays frames out as finished EPBs: a batch
      // is written with one write and no per-frame JavaScript. Exporters read the frames
      // through the meta rows, as in the plain layout.
      layout: o.sink !== undefined ? 'epb' : 'plain',
      // Exporters forward frames live: they keep the batches as soon as the ring drains.
      coalesceMs: this.coalesceMs,
    });
    const att = new Attachment(cap, iface, ifindex, target === undefined ? undefined : { ip: target.podIp, name: target.podName });
    this.attachments.push(att);
    return att;
  }

  /** Writes the IDB (queued after whatever precedes it) and starts the capture. */
  private begin(att: Attachment): void {
    const { id, block } = this.writer.addInterface({
      linkType: att.cap.linkType,
      snapLen: att.cap.snapLen,
      name: att.iface,
      ...(att.description !== undefined ? { description: att.description } : {}),
      tsResolPower: 9,
    });
    att.ifaceId = id;
    if (att.cap.layout === 'epb') att.cap.setEpbInterfaceId(id);
    this.enqueue(() => block);
    att.cap.onBatch((b) => this.onBatch(att, b));
    att.cap.onError((e) => this.onCaptureError(att, e));
    att.cap.start();
    this.opts.onEvent?.({
      type: 'listening',
      iface: att.iface,
      description: att.description,
      linkType: att.cap.linkType,
      linkTypeName: att.cap.linkTypeName,
      snapLen: att.cap.snapLen,
      warning: att.cap.warning,
    });
  }

  /**
   * The hot path: one call per batch, no per-frame work. The batch data already holds the
   * frames as EPBs for this attachment's interface (layout 'epb'); the first n blocks are
   * contiguous from offset 0, so they go out with one write. Returns the write's promise,
   * which keeps the batch (and so the native slot) held until the bytes are out: a slow
   * output leaves frames in the kernel ring, where the kernel drops and counts them.
   */
  private onBatch(att: Attachment, b: CaptureBatch): Promise<void> | undefined {
    att.seen += b.count;
    if (!this.accepting || att.retired) {
      att.drops.after_stop += b.count;
      return undefined;
    }
    let n = b.count;
    const limit = this.opts.count;
    if (limit !== undefined) {
      const room = limit - this.reserved;
      if (n >= room) {
        n = room;
        this.accepting = false;
        void this.stop('count');
      }
      this.reserved += n;
    }
    att.drops.after_stop += b.count - n;
    if (n === 0) return undefined;
    if (this.writeError !== undefined) {
      att.drops.write_error += n;
      return undefined;
    }
    // Exporters copy what they keep, so they are done with the batch on return.
    for (const x of this.opts.exporters ?? []) x.exportBatch(b, n, att);
    att.counters.truncated += truncatedIn(b, n);
    if (!this.pcapng) {
      att.written += n;
      return undefined;
    }
    const segments = att.segments;
    segments.length = 1;
    segments[0] = b.data.subarray(0, epbPrefixBytes(b, n));
    return this.enqueue(() => segments).then((ok) => {
      if (ok) att.written += n;
      else att.drops.write_error += n;
    });
  }

  /**
   * Queues a block for the sink; `build` runs when the block's turn comes, so counters it
   * reads are final for everything written before it. Resolves true when written, false
   * when the output has failed (the error is kept and the agent stops).
   */
  private enqueue(build: () => Buffer | Buffer[]): Promise<boolean> {
    const p = this.tail.then(async () => {
      if (!this.pcapng) return true;
      if (this.writeError !== undefined || this.sink === undefined) return false;
      try {
        const b = build();
        await this.sink.write(Array.isArray(b) ? b : [b]);
        return true;
      } catch (e) {
        this.writeError = e as NodeJS.ErrnoException;
        this.accepting = false;
        void this.stop('write_error');
        return false;
      }
    });
    this.tail = p.then(() => undefined);
    return p;
  }

  private onCaptureError(att: Attachment, e: CaptureError): void {
    att.markEnd();
    att.endNote = `capture stopped: ${e.message}`;
    this.opts.onEvent?.({ type: 'capture_error', iface: att.iface, code: e.code, message: e.message });
    void this.retire(att).then(() => {
      if (this.stopping !== undefined) return;
      const target = this.podTargets.find((t) => t.current === att || t.previous === att);
      if (target !== undefined) {
        if (target.current === att) this.lose(target, att);
        this.scheduleResolve(0); // look for the pod's new veth now
        return;
      }
      if (att.isbWritten) return; // already replaced by a newer attachment
      this.enqueueIsb(att, [att.endNote ?? 'capture stopped']);
      const live = this.attachments.some((a) => !a.retired);
      if (!live && this.podTargets.length === 0 && this.opts.dynamicPods !== true) void this.stop('no_interfaces');
    });
  }

  private lose(target: PodTarget, att: Attachment): void {
    target.current = undefined;
    target.previous = att;
    target.lostAtMs = att.endMs;
  }

  /** Closes the capture and takes its final counters. Idempotent. */
  private retire(att: Attachment): Promise<void> {
    if (att.retiring !== undefined) return att.retiring;
    att.retired = true;
    att.markEnd();
    att.retiring = (async () => {
      await att.cap.close();
      try {
        att.final = att.cap.stats();
      } catch {
        att.final = undefined;
      }
      if (att.final !== undefined) {
        // Handed over but never seen: the capture was closed first.
        att.drops.after_stop += Math.max(0, att.final.delivered - att.seen);
        att.drops.batch_full = att.final.ringFull;
      }
    })();
    return att.retiring;
  }

  /**
   * The ISB of a retired attachment, built when its turn in the queue comes (so `written`
   * counts every batch before it): isb_ifrecv = ps_recv, isb_ifdrop = ps_drop (as dumpcap
   * writes them), isb_osdrop = frames libpcap handed over that podspan did not write (Σ
   * drop reasons), isb_usrdeliv = frames written.
   */
  private enqueueIsb(att: Attachment, comments: string[]): void {
    if (att.isbWritten) return;
    att.isbWritten = true;
    this.enqueue(() => {
      att.segments.length = 0; // every batch of att is written by now: drop the view
      const f = att.final;
      const d = att.drops;
      const detail =
        `counters provided by podspan agent: kernel received ${f?.received ?? 0}, kernel dropped ${f?.dropped ?? 0}, ` +
        `written ${att.written}, not written: ${AGENT_DROP_REASONS.map((r) => `${r}=${d[r]}`).join(' ')}, truncated to snaplen ${att.counters.truncated}`;
      return this.writer.stats({
        ifaceId: att.ifaceId,
        tsSec: att.endSec,
        tsNsec: att.endNsec,
        ifRecv: f === undefined ? undefined : BigInt(f.received),
        ifDrop: f === undefined ? undefined : BigInt(f.dropped),
        filterAccept: undefined,
        osDrop: BigInt(d.batch_full + d.write_error + d.after_stop),
        usrDeliv: BigInt(att.written),
        comments: [...comments, detail],
        startTsSec: att.startSec,
        startTsNsec: att.startNsec,
        endTsSec: att.endSec,
        endTsNsec: att.endNsec,
      });
    });
  }

  private scheduleResolve(delayMs: number): void {
    if (this.stopping !== undefined) return;
    if (this.resolveTimer !== undefined) clearTimeout(this.resolveTimer);
    this.resolveTimer = setTimeout(() => {
      this.resolveTimer = undefined;
      if (this.resolving !== undefined) {
        this.scheduleResolve(LOST_RESOLVE_INTERVAL_MS);
        return;
      }
      this.resolving = this.resolveAll().finally(() => {
        this.resolving = undefined;
        const now = Date.now();
        const lost = this.podTargets.some((t) => t.current === undefined && now - t.lostAtMs < LOST_FAST_RESOLVE_MS);
        this.scheduleResolve(lost ? LOST_RESOLVE_INTERVAL_MS : (this.opts.resolveIntervalMs ?? DEFAULT_RESOLVE_INTERVAL_MS));
      });
    }, delayMs);
  }

  private async resolveAll(): Promise<void> {
    for (const t of this.podTargets) {
      if (this.stopping !== undefined) return;
      let found: VethForPodIp | undefined;
      try {
        found = await findVethForPodIp(t.podIp, {
          ...(this.opts.netns !== undefined ? { netns: this.opts.netns } : {}),
          ...(t.hint !== undefined ? { preferNetns: t.hint } : {}),
        });
      } catch {
        continue; // `ip` failed (a namespace vanished mid-read): next round
      }
      if (this.stopping !== undefined) return;
      if (found === undefined) continue; // keep the live capture, or keep looking
      if (found.podNetns !== undefined) t.hint = found.podNetns;
      const cur = t.current;
      if (cur !== undefined && !cur.retired && cur.iface === found.ifname && cur.ifindex === found.ifindex) continue;
      if (cur !== undefined) {
        // Still open, but the IP is behind another veth now (or the error is on its way).
        cur.markEnd();
        cur.endNote ??= `pod ${t.podIp} is now behind ${found.ifname}`;
        await this.retire(cur);
        if (t.current === cur) this.lose(t, cur);
        if (this.stopping !== undefined) return;
      }
      this.reattach(t, found);
    }
  }

  private reattach(t: PodTarget, found: VethForPodIp): void {
    let att: Attachment;
    try {
      att = this.open(found.ifname, found.ifindex, t);
    } catch (e) {
      // The new veth may not be up yet (CNI creates it, then sets it up): next round.
      const msg = e instanceof Error ? e.message : String(e);
      if (t.lastAttachError !== msg) {
        t.lastAttachError = msg;
        this.opts.onEvent?.({ type: 'attach_failed', podIp: t.podIp, iface: found.ifname, code: isCaptureError(e) ? e.code : 'unknown', message: msg });
      }
      return;
    }
    t.lastAttachError = undefined;
    if (!t.attached) {
      // A pod added while running (addPod): its first capture, not a reattachment.
      t.attached = true;
      t.current = att;
      t.lostAtMs = 0;
      this.begin(att);
      this.opts.onEvent?.({ type: 'pod_added', podIp: t.podIp, podName: t.podName, iface: found.ifname });
      return;
    }
    const prev = t.previous;
    const gapMs = Math.max(0, Date.now() - t.lostAtMs);
    if (prev !== undefined) {
      const note = `reattached: pod ${t.podIp} moved from ${prev.iface} to ${found.ifname} after ${gapMs} ms`;
      prev.endNote = note;
      this.enqueueIsb(prev, [note]);
    }
    t.previous = undefined;
    t.current = att;
    t.lostAtMs = 0;
    this.reattachments++;
    this.begin(att);
    this.opts.onEvent?.({ type: 'reattached', podIp: t.podIp, from: prev?.iface ?? '', to: found.ifname, gapMs });
  }

  /**
   * Follows one more pod (`--selector` found it): its veth is looked up on the next resolve
   * round, then captured like a --pod-ip target. Ignored when the pod IP is followed already
   * or the agent is stopping.
   */
  addPod(podIp: string, podName?: string): void {
    if (this.stopping !== undefined || !isPodIp(podIp)) return;
    if (this.podTargets.some((t) => t.podIp === podIp)) return;
    this.podTargets.push({ podIp, podName, attached: false, current: undefined, previous: undefined, lostAtMs: Date.now(), hint: undefined, lastAttachError: undefined });
    if (this.resolveTimer !== undefined) clearTimeout(this.resolveTimer);
    this.scheduleResolve(0);
  }

  /**
   * Stops following a pod (it is gone from the API): closes its capture with an ISB noting
   * why, and forgets the target so a long-running agent does not keep looking for it.
   */
  async removePod(podIp: string): Promise<void> {
    const i = this.podTargets.findIndex((t) => t.podIp === podIp);
    if (i < 0 || this.stopping !== undefined) return;
    const t = this.podTargets[i]!;
    this.podTargets.splice(i, 1);
    const note = `pod ${t.podName ?? t.podIp} left the selection`;
    for (const att of [t.current, t.previous]) {
      if (att === undefined) continue;
      att.markEnd();
      att.endNote ??= note;
      await this.retire(att);
      this.enqueueIsb(att, [att.endNote]);
    }
    this.opts.onEvent?.({ type: 'pod_removed', podIp: t.podIp, podName: t.podName });
  }

  /**
   * Every counter as a metric sample, read now (live captures ask libpcap for their kernel
   * counters): for `--metrics`. Labels: iface and pod ("NS/NAME" or the IP, "" for --iface).
   */
  samples(): AgentMetricSample[] {
    const out: AgentMetricSample[] = [];
    const add = (name: string, help: string, labels: Record<string, string>, value: number): void => {
      out.push({ name, help, labels, value });
    };
    let live = 0;
    for (const a of this.attachments) {
      let st: CaptureStats | undefined = a.final;
      if (st === undefined && !a.retired) {
        live++;
        try {
          st = a.cap.stats();
        } catch {
          st = undefined;
        }
      }
      const l = { iface: a.iface, pod: a.podName ?? a.podIp ?? '' };
      add('podspan_agent_frames_captured_total', 'Frames written to the pcapng output or handed to the exporters.', l, a.written);
      add('podspan_agent_kernel_received_total', "Frames the kernel passed to the capture socket (libpcap's ps_recv).", l, st?.received ?? 0);
      add('podspan_agent_kernel_dropped_total', "Frames the kernel dropped because the capture ring was full (libpcap's ps_drop).", l, st?.dropped ?? 0);
      for (const r of AGENT_DROP_REASONS) add('podspan_agent_frames_dropped_total', 'Frames the agent saw and did not write, by reason.', { ...l, reason: r }, a.drops[r]);
    }
    add('podspan_agent_captures', 'Captures open now (one per interface).', {}, live);
    add('podspan_agent_pods', 'Pods followed now (--pod-ip, --pod, --selector).', {}, this.podTargets.length);
    for (const x of this.opts.exporters ?? []) {
      add('podspan_agent_export_frames_total', 'Frames an exporter sent (accepted by the kernel or acknowledged).', { url: x.url }, x.counters.exported);
      add('podspan_agent_export_truncated_total', 'Frames an exporter sent cut (also in export_frames_total).', { url: x.url }, x.counters.export_truncated);
      for (const r of x.dropReasons) add('podspan_agent_export_dropped_total', 'Frames an exporter did not send, by reason.', { url: x.url, reason: r }, x.counters[r] ?? 0);
    }
    return out;
  }

  /** Pod IPs followed now. */
  get pods(): string[] {
    return this.podTargets.map((t) => t.podIp);
  }

  /**
   * Stops: for signal, duration and request, first keeps writing for `drainMs` so frames
   * already in the kernel ring get out; then closes every capture, writes one ISB per
   * interface, closes the sink. Idempotent: every call gets the same summary.
   */
  stop(reason: AgentStopReason = 'requested'): Promise<AgentSummary> {
    if (this.stopping !== undefined) return this.stopping;
    this.stopping = this.finish(reason);
    void this.stopping.then((s) => {
      for (const r of this.doneResolvers) r(s);
    });
    return this.stopping;
  }

  private async finish(reason: AgentStopReason): Promise<AgentSummary> {
    if (this.resolveTimer !== undefined) clearTimeout(this.resolveTimer);
    this.resolveTimer = undefined;
    if (reason === 'signal' || reason === 'duration' || reason === 'requested') {
      const drainMs = this.opts.drainMs ?? (this.opts.timeoutMs ?? DEFAULT_AGENT_TIMEOUT_MS) + this.coalesceMs + 100;
      if (drainMs > 0) await new Promise((r) => setTimeout(r, drainMs));
    }
    this.accepting = false;
    if (this.resolving !== undefined) await this.resolving;
    await Promise.all(this.attachments.map((a) => this.retire(a)));
    for (const t of this.podTargets) {
      const prev = t.previous;
      if (prev !== undefined) {
        this.enqueueIsb(prev, [`pod ${t.podIp} lost: ${prev.iface} ended ${Math.max(0, Date.now() - t.lostAtMs)} ms before the capture did, no new veth found`]);
      }
    }
    for (const a of this.attachments) this.enqueueIsb(a, a.endNote === undefined ? [] : [a.endNote]);
    await this.tail;
    if (this.sink !== undefined) await this.sink.close();
    await Promise.all((this.opts.exporters ?? []).map((x) => x.close()));
    return this.summary(reason);
  }

  private summary(reason: AgentStopReason): AgentSummary {
    const drops = zeroDrops();
    let captured = 0;
    let received = 0;
    let droppedByKernel = 0;
    let truncated = 0;
    const interfaces: AgentInterfaceSummary[] = [];
    for (const a of this.attachments) {
      const f = a.final;
      captured += a.written;
      received += f?.received ?? 0;
      droppedByKernel += f?.dropped ?? 0;
      truncated += a.counters.truncated;
      for (const r of AGENT_DROP_REASONS) drops[r] += a.drops[r];
      interfaces.push({
        ifaceId: a.ifaceId,
        iface: a.iface,
        ifindex: a.ifindex,
        podIp: a.podIp,
        description: a.description,
        received: f?.received ?? 0,
        dropped: f?.dropped ?? 0,
        ifDropped: f?.ifDropped ?? 0,
        delivered: f?.delivered ?? a.seen,
        batches: f?.batches ?? 0,
        written: a.written,
        truncated: a.counters.truncated,
        drops: { ...a.drops },
        endNote: a.endNote,
      });
    }
    const exports = (this.opts.exporters ?? []).map((x) => ({ url: x.url, dropReasons: x.dropReasons, counters: { ...x.counters } }));
    return { reason, captured, received, droppedByKernel, drops, truncated, reattachments: this.reattachments, interfaces, writeError: this.writeError, exports };
  }
}
