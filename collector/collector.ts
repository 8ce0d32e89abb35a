/**
 * The collector: ingests (VXLAN listeners, the GRE/ERSPAN raw socket) feed every frame,
 * synchronously, to every sink (pcapng store, stdout stream). Counters of every stage live
 * in one CollectorMetrics.
 *
 * Start order: sinks first (the store repairs leftover `.part` files), then listeners, so no
 * frame arrives before there is somewhere to put it. Stop order: listeners first (no frame
 * is delivered after they close), then sinks (flush, ISBs, fsync, rename).
 *
 * The native addon is loaded only when GRE or --tap is asked for: a collector that only
 * listens for VXLAN and writes files starts without libpcap.
 */
import type { Writable } from 'node:stream';

import { ReceiveClock } from './clock.js';
import type { IngestFrame } from './ingest/frame.js';
import { GRE_DROP_REASONS, GreListener, type GreDropReason } from './ingest/gre.js';
import { DEFAULT_MAX_SOURCES, SourceTable, type Source } from './ingest/source.js';
import { VXLAN_DROP_REASONS, VxlanListener, type VxlanDropReason } from './ingest/vxlan.js';
import { WS_CONNECTION_DROP_REASONS, WS_DROP_REASONS, WS_MESSAGE_DROP_REASONS, WsListener } from './ingest/ws.js';
import { CollectorMetrics, type Stage, type StageSnapshot } from './metrics.js';
import { PcapngStore, STORE_DROP_REASONS, type PcapngStoreOptions, type RepairReport } from './sink/pcapng-store.js';
import type { FrameSink } from './sink/sink.js';
import { STDOUT_DROP_REASONS, StdoutSink } from './sink/stdout.js';
import { TAP_DROP_REASONS, TapSink, type TapDropReason } from './sink/tap.js';
import { LiveReplaySink, type LiveReplayCounters, type LiveReplayOptions } from './replay/live.js';
import type { LiveHttpCounters } from './replay/live-http.js';
import type { WireStreamEvent } from '../proto/envelope.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export interface CollectorOptions {
  /** VXLAN listeners (UDP). */
  vxlan?: ListenAddress[];
  /**
   * WebSocket ingest (podspan agents); absent = none. With a store, the store keeps its
   * commit journal (acks only for committed frames; see collector/ingest/ws.ts).
   */
  ws?: ListenAddress & { tls?: { cert: Buffer; key: Buffer }; token: string | undefined; commitIntervalMs?: number };
  /** GRE/ERSPAN raw socket; absent = no GRE ingest. */
  gre?: { bindAddress?: string; netns?: string };
  /** pcapng store; absent = no files. */
  store?: Omit<PcapngStoreOptions, 'stage' | 'metrics' | 'clock'>;
  /** pcap stream; absent = none. */
  stdout?: { stream?: Writable; maxQueueBytes?: number };
  /** Re-injection onto an interface for an IDS (--tap); absent = none. Loads the native addon. */
  tap?: { iface: string; netns?: string; maxRetryMs?: number };
  /** Live replay of client streams to a shadow (--replay-to); absent = none. */
  replayTo?: LiveReplayOptions;
  maxSources?: number;
}

export interface CollectorSummary {
  stages: StageSnapshot[];
  sources: Array<Pick<Source, 'name' | 'description' | 'frames'>>;
  filesFinished: number;
  filesDeleted: number;
  /** The store's I/O errors, its rollbacks to the last commit, and the last error. */
  storeErrors: { errors: number; rollbacks: number; lastError: string | undefined };
  repaired: RepairReport[];
  /** Why the stdout stream ended early (EPIPE…), if it did. */
  stdoutEnded: string | undefined;
  /** Bytes a stalled stdout reader had not taken at the end (they are not written). */
  stdoutAbandonedBytes: number;
  /** The --tap sink's interface, send retries (ENOBUFS/EAGAIN) and last send error. */
  tap: { iface: string; retriesNoBufs: number; retriesAgain: number; lastError: string | undefined } | undefined;
  /** The --replay-to sink's target and what became of the connections it saw. */
  replay: ({ target: string; http: LiveHttpCounters | undefined } & LiveReplayCounters) | undefined;
  /** Stages whose counters do not add up; always empty unless there is a bug. */
  invariantViolations: string[];
}

export class Collector {
  readonly metrics: CollectorMetrics;
  readonly sources: SourceTable;
  readonly clock: ReceiveClock;
  readonly vxlanListeners: VxlanListener[];
  greListener: GreListener | undefined;
  wsListener: WsListener | undefined;
  readonly store: PcapngStore | undefined;
  readonly stdout: StdoutSink | undefined;
  tap: TapSink | undefined;
  readonly replay: LiveReplaySink | undefined;
  readonly sinks: FrameSink[];
  /** Called once when every sink has ended on its own (the stdout reader went away, no store). */
  onAllSinksEnded: (() => void) | undefined;
  private readonly vxlanStage: Stage<VxlanDropReason> | undefined;
  private readonly greStage: Stage<GreDropReason> | undefined;
  private readonly tapStage: Stage<TapDropReason> | undefined;
  private stopping: Promise<CollectorSummary> | undefined;

  private constructor(opts: CollectorOptions) {
    this.metrics = new CollectorMetrics();
    this.sources = new SourceTable(opts.maxSources ?? DEFAULT_MAX_SOURCES);
    this.sources.onNew = () => {
      this.metrics.sources++;
    };
    this.clock = new ReceiveClock();
    this.vxlanListeners = [];
    this.greListener = undefined;
    this.wsListener = undefined;
    this.onAllSinksEnded = undefined;
    this.stopping = undefined;
    this.vxlanStage = (opts.vxlan ?? []).length > 0 ? this.metrics.stage('vxlan', VXLAN_DROP_REASONS) : undefined;
    this.greStage = opts.gre !== undefined ? this.metrics.stage('gre', GRE_DROP_REASONS) : undefined;
    this.sinks = [];
    this.store = undefined;
    this.stdout = undefined;
    if (opts.store !== undefined) {
      this.store = PcapngStore.open({
        ...opts.store,
        stage: this.metrics.stage('store', STORE_DROP_REASONS),
        metrics: this.metrics,
        clock: this.clock,
        ...(opts.ws !== undefined ? { journal: true } : {}),
      });
      this.sinks.push(this.store);
    }
    if (opts.stdout !== undefined) {
      const s = new StdoutSink({ stage: this.metrics.stage('stdout', STDOUT_DROP_REASONS), ...opts.stdout });
      s.onEnded = () => {
        if (this.store === undefined) this.onAllSinksEnded?.();
      };
      this.stdout = s;
      this.sinks.push(s);
    }
    this.replay = undefined;
    if (opts.replayTo !== undefined) {
      this.replay = new LiveReplaySink(this.metrics, opts.replayTo);
      this.sinks.push(this.replay);
    }
    this.tap = undefined;
    this.tapStage = opts.tap !== undefined ? this.metrics.stage('tap', TAP_DROP_REASONS) : undefined;
  }

  /**
   * Opens the sinks, then binds every listener. Rejects with the first error (a bind error
   * from node:dgram, a CaptureError from the raw socket, a PodspanError IO for the output
   * directory) after closing whatever was opened.
   */
  static async start(opts: CollectorOptions): Promise<Collector> {
    const c = new Collector(opts);
    const sinks = c.sinks;
    const onFrame = (f: IngestFrame & { source: Source }): void => {
      for (let i = 0; i < sinks.length; i++) sinks[i]!.write(f);
    };
    try {
      if (opts.tap !== undefined) {
        c.tap = await TapSink.open({ ...opts.tap, stage: c.tapStage! });
        sinks.push(c.tap);
      }
      for (const a of opts.vxlan ?? []) {
        c.vxlanListeners.push(await VxlanListener.open({ host: a.host, port: a.port, sources: c.sources, stage: c.vxlanStage!, clock: c.clock, onFrame }));
      }
      if (opts.gre !== undefined) {
        c.greListener = await GreListener.open({ ...opts.gre, sources: c.sources, stage: c.greStage!, onFrame });
      }
      if (opts.ws !== undefined) {
        const w = opts.ws;
        const store = c.store;
        const m = c.metrics;
        const listener = await WsListener.open({
          host: w.host,
          port: w.port,
          ...(w.tls !== undefined ? { tls: w.tls } : {}),
          token: w.token,
          sources: c.sources,
          stage: m.stage('ws', WS_DROP_REASONS),
          messageStage: m.stage('ws_messages', WS_MESSAGE_DROP_REASONS),
          connectionStage: m.stage('ws_connections', WS_CONNECTION_DROP_REASONS),
          metrics: m,
          onFrame,
          ...(c.replay !== undefined ? { onStreamEvent: (key: string, ev: WireStreamEvent) => c.replay!.streamEvent(key, ev) } : {}),
          // Without a store the sinks hold nothing to make durable: commit = ack now.
          commit: store !== undefined ? () => store.commit() : () => (listener.journalState(), listener.committed(), true),
          recoveredState: store?.recoveredState,
          ...(w.commitIntervalMs !== undefined ? { commitIntervalMs: w.commitIntervalMs } : {}),
        });
        if (store !== undefined) {
          store.journalState = () => listener.journalState();
          store.onCommit = () => listener.committed();
          store.onRollback = () => listener.rewind();
        }
        c.wsListener = listener;
      }
    } catch (e) {
      await c.stop();
      throw e;
    }
    return c;
  }

  /** Closes the listeners, then the sinks; resolves with the final counters. Idempotent. */
  stop(): Promise<CollectorSummary> {
    if (this.stopping === undefined) this.stopping = this.doStop();
    return this.stopping;
  }

  /** Every listener and sink is closed even when one fails; the first failure is thrown after. */
  private async doStop(): Promise<CollectorSummary> {
    let first: unknown;
    const attempt = async (f: () => unknown): Promise<void> => {
      try {
        await f();
      } catch (e) {
        first ??= e;
      }
    };
    await Promise.all(this.vxlanListeners.map((l) => attempt(() => l.close())));
    await attempt(() => this.greListener?.close());
    await attempt(() => this.wsListener?.close());
    for (const s of this.sinks) await attempt(() => s.close());
    if (first !== undefined) throw first;
    return this.summary();
  }

  summary(): CollectorSummary {
    return {
      stages: this.metrics.snapshot(),
      sources: this.sources.all.map((s) => ({ name: s.name, description: s.description, frames: s.frames })),
      filesFinished: this.store?.filesFinished ?? 0,
      filesDeleted: this.store?.filesDeleted ?? 0,
      storeErrors: { errors: this.store?.errors ?? 0, rollbacks: this.store?.rollbacks ?? 0, lastError: this.store?.lastError?.message },
      repaired: this.store?.repaired ?? [],
      stdoutAbandonedBytes: this.stdout?.abandonedBytes ?? 0,
      stdoutEnded: this.stdout?.endError === undefined ? undefined : (this.stdout.endError as NodeJS.ErrnoException).code ?? this.stdout.endError.message,
      tap: this.tap === undefined ? undefined : { iface: this.tap.iface, retriesNoBufs: this.tap.retriesNoBufs, retriesAgain: this.tap.retriesAgain, lastError: this.tap.lastError?.message },
      replay: this.replay === undefined ? undefined : { target: this.replay.target, http: this.replay.comparing ? { ...this.replay.http } : undefined, ...this.replay.counters },
      invariantViolations: this.metrics.invariantViolations(),
    };
  }
}
