/**
 * What every `--to URL` exporter is to the agent: it takes rows of a capture batch, copies
 * what it keeps (the batch is reused as soon as exportBatch returns), sends it, and counts
 * every frame either as exported or under a named drop reason:
 *
 *   frames given == exported + Σ counters[dropReasons[i]] (+ frames still queued at close: none)
 *
 * `export_truncated` counts frames sent cut (also counted in `exported`).
 * Each transport lives in its own file and registers an ExporterKind in registry.ts.
 */
import type { ExportEndpoint } from '../exclude.js';

/** What exportBatch reads of a batch (a native CaptureBatch fits). */
export interface ExportBatchInput {
  readonly data: Buffer;
  /** Rows of CAPTURE_META_COLS: offset, capLen, wireLen, tsSec, tsNsec (native/index.ts). */
  readonly meta: Float64Array;
}

/** Which capture a batch came from (valid for the call; copy what you keep). */
export interface ExportSource {
  /** Host-side interface name, e.g. a pod's veth. */
  readonly iface: string;
  /** The interface's index in its namespace, when known. */
  readonly ifindex: number | undefined;
  /** The pod IP the agent followed to this interface, when it was given one. */
  readonly podIp: string | undefined;
  /** `NAMESPACE/NAME` when the pod came from the Kubernetes API. */
  readonly podName: string | undefined;
  /** The capture's LINKTYPE_ value and snap length. */
  readonly linkType: number;
  readonly snapLen: number;
}

/** Counters every exporter has; transports add their own drop reasons. */
export interface ExportCounters {
  /** Frames handed to the transport (accepted by the kernel, or acknowledged). */
  exported: number;
  /** Frames sent cut (also in `exported`). */
  export_truncated: number;
  [reason: string]: number;
}

export interface Exporter {
  /** The URL as the user gave it, for messages. */
  readonly url: string;
  readonly counters: ExportCounters;
  /** The keys of `counters` that are drop reasons, in the order the summary prints them. */
  readonly dropReasons: readonly string[];
  /** The transport carries Ethernet frames only (VXLAN, GRE, ERSPAN): captures of other link types are refused at start. */
  readonly ethernetOnly?: boolean;
  /** Takes rows [0, n) of `batch`; copies what it keeps; never throws for a frame. */
  exportBatch(batch: ExportBatchInput, n: number, source: ExportSource): void;
  /** Sends what is queued (bounded wait), then closes. Idempotent; never rejects. */
  close(): Promise<void>;
}

/** One transport: how its URLs parse, where its traffic goes, how it opens. */
export interface ExporterKind<T> {
  /** URL schemes with the colon, e.g. ['vxlan:']. */
  readonly schemes: readonly string[];
  /** The URL form for messages, e.g. 'vxlan://HOST[:PORT]?vni=N'. */
  readonly usage: string;
  /** Parses and validates; throws RangeError with a message for the user. */
  parse(url: string): T;
  /** The conversation the agent leaves out of its own capture. */
  endpoint(target: T): ExportEndpoint;
  /** Resolves names and opens sockets; rejects with a message for the user. */
  open(target: T): Promise<Exporter>;
}
