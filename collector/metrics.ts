/**
 * The collector's counters, one object for all of them, so a Prometheus exporter (or the
 * summary printed on exit, or a pcapng ISB comment) reads the same numbers.
 *
 * Every stage keeps the no-silent-loss invariant of ARCHITECTURE.md:
 *
 *   received == delivered + Σ dropped[reason]
 *
 * A stage counts a frame once as received, then exactly once as delivered or as dropped
 * under one named reason. Counters are plain numbers (exact up to 2^53) in objects whose
 * shape is fixed at construction: every reason of a stage exists from the start, at 0.
 *
 * Prometheus names (see `samples()`), snake_case with the unit suffix and a `reason` label:
 *   podspan_collector_frames_received_total{stage="vxlan"}
 *   podspan_collector_frames_delivered_total{stage="vxlan"}
 *   podspan_collector_frames_dropped_total{stage="vxlan",reason="bad_header"}
 *   podspan_collector_bytes_delivered_total{stage="store"}
 */

/** Counters of one stage. `R` is the stage's fixed set of drop reasons. */
export class Stage<R extends string = string> {
  readonly name: string;
  /** Frames (or datagrams, or IP packets, for an ingest stage) that reached the stage. */
  received: number;
  /** Frames the stage passed on (ingest: to the sinks; a sink: written). */
  delivered: number;
  /** Bytes of the delivered frames (ingest: inner frame bytes; a sink: frame bytes written). */
  deliveredBytes: number;
  /** Frames dropped, per reason; every reason present from the start. */
  readonly dropped: Record<R, number>;
  readonly reasons: readonly R[];

  constructor(name: string, reasons: readonly R[]) {
    this.name = name;
    this.received = 0;
    this.delivered = 0;
    this.deliveredBytes = 0;
    this.reasons = reasons;
    const d = {} as Record<R, number>;
    for (const r of reasons) d[r] = 0;
    this.dropped = d;
  }

  /** Counts one received frame as dropped for `reason`. Does not allocate. */
  drop(reason: R): void {
    this.dropped[reason]++;
  }

  totalDropped(): number {
    let n = 0;
    for (const r of this.reasons) n += this.dropped[r];
    return n;
  }

  /** True when received == delivered + Σ dropped. */
  balanced(): boolean {
    return this.received === this.delivered + this.totalDropped();
  }
}

/** A plain copy of one stage's counters. */
export interface StageSnapshot {
  stage: string;
  received: number;
  delivered: number;
  deliveredBytes: number;
  dropped: Record<string, number>;
}

/** One Prometheus sample: metric name, labels, value. */
export interface MetricSample {
  name: string;
  help: string;
  labels: Record<string, string>;
  value: number;
}

export const METRIC = {
  RECEIVED: 'podspan_collector_frames_received_total',
  DELIVERED: 'podspan_collector_frames_delivered_total',
  DROPPED: 'podspan_collector_frames_dropped_total',
  BYTES_DELIVERED: 'podspan_collector_bytes_delivered_total',
  SOURCES: 'podspan_collector_sources',
} as const;

const HELP: Record<string, string> = {
  [METRIC.RECEIVED]: 'Frames that reached a collector stage (ingest: datagrams or IP packets).',
  [METRIC.DELIVERED]: 'Frames a collector stage passed on (ingest: to the sinks; sinks: written).',
  [METRIC.DROPPED]: 'Frames a collector stage dropped, by reason; received = delivered + sum(dropped).',
  [METRIC.BYTES_DELIVERED]: 'Bytes of the frames a collector stage passed on.',
  [METRIC.SOURCES]: 'Distinct mirror sources (tunnel type, id, sender) seen.',
};

/** All of the collector's counters. Stages are registered once, at set-up, in pipeline order. */
/** Remote counter lines kept at most (the most recently updated). */
export const REMOTE_MAX_ENTRIES = 64;
/** Longest remote counter line, in characters. */
export const REMOTE_MAX_LINE = 1024;

export class CollectorMetrics {
  readonly stages: Stage[] = [];
  /** Distinct sources seen (set by the source table). */
  sources = 0;
  /**
   * Counters reported by remote stages (the agents' own, over the WebSocket tunnel), one
   * line each by key, in the words of describe(): written into the ISB comments too.
   */
  private readonly remote = new Map<string, string>();

  /**
   * Sets remote line `key` (an agent's stage). The peer chooses these texts, so they are
   * bounded: a line is cut at REMOTE_MAX_LINE characters, and past REMOTE_MAX_ENTRIES the
   * line updated longest ago goes (a statistics block carries them all, in every file).
   */
  setRemote(key: string, line: string): void {
    this.remote.delete(key);
    if (this.remote.size >= REMOTE_MAX_ENTRIES) {
      const oldest = this.remote.keys().next();
      if (oldest.done !== true) this.remote.delete(oldest.value);
    }
    this.remote.set(key, line.length > REMOTE_MAX_LINE ? `${line.slice(0, REMOTE_MAX_LINE - 1)}\u2026` : line);
  }

  /** Registers a stage; a name may be registered once. */
  stage<R extends string>(name: string, reasons: readonly R[]): Stage<R> {
    if (this.stages.some((s) => s.name === name)) throw new Error(`CollectorMetrics: stage "${name}" registered twice`);
    const s = new Stage<R>(name, reasons);
    this.stages.push(s as unknown as Stage);
    return s;
  }

  snapshot(): StageSnapshot[] {
    return this.stages.map((s) => ({ stage: s.name, received: s.received, delivered: s.delivered, deliveredBytes: s.deliveredBytes, dropped: { ...s.dropped } }));
  }

  /** Stages whose counters do not add up (should always be empty), as "stage: r != d + Σ". */
  invariantViolations(): string[] {
    const out: string[] = [];
    for (const s of this.stages) {
      if (!s.balanced()) out.push(`${s.name}: received ${s.received} != delivered ${s.delivered} + dropped ${s.totalDropped()}`);
    }
    return out;
  }

  /** Every counter as a Prometheus sample (for an exporter; names in METRIC). */
  samples(): MetricSample[] {
    const out: MetricSample[] = [];
    const add = (name: string, labels: Record<string, string>, value: number): void => {
      out.push({ name, help: HELP[name] ?? '', labels, value });
    };
    for (const s of this.stages) {
      add(METRIC.RECEIVED, { stage: s.name }, s.received);
      add(METRIC.DELIVERED, { stage: s.name }, s.delivered);
      add(METRIC.BYTES_DELIVERED, { stage: s.name }, s.deliveredBytes);
      for (const r of s.reasons) add(METRIC.DROPPED, { stage: s.name, reason: r }, s.dropped[r] ?? 0);
    }
    add(METRIC.SOURCES, {}, this.sources);
    return out;
  }

  /**
   * One line per stage, "vxlan received=10 delivered=8 dropped{short=1,bad_header=1}"
   * (reasons at 0 left out): the text of pcapng ISB comments.
   */
  describe(): string[] {
    return this.stages.map((s) => {
      const drops = s.reasons.filter((r) => s.dropped[r] !== 0).map((r) => `${r}=${s.dropped[r]}`);
      return `${s.name} received=${s.received} delivered=${s.delivered} dropped=${s.totalDropped()}${drops.length > 0 ? `{${drops.join(',')}}` : ''}`;
    }).concat([...this.remote.values()]);
  }
}
