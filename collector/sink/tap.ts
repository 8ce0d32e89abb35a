/**
 * The tap sink (`--tap IF`): every decapsulated frame re-injected, whole and in arrival
 * order, onto an interface where an IDS listens (Suricata `af-packet`, Zeek, Snort on a
 * veth peer, a tap device or a dummy-like Ethernet interface):
 *
 *   podspan collector --vxlan 0.0.0.0:4789 --tap ids0     # suricata -i ids0-peer
 *
 * Path: `write()` copies the frame (it is valid only during the call) into the filling one
 * of two batch slots; once per event-loop turn, or when the slot is full, the slot goes to
 * the native PacketInjector (AF_PACKET, sendmmsg on a worker thread) while the other one
 * fills. When the filling slot is full and the other is still being sent, the frame is
 * dropped and counted `tap_queue_full`: memory is the two slots, whatever the load, and a
 * slow interface never stalls ingest or the other sinks.
 *
 * Every frame offered is counted once: delivered (the kernel took it), or dropped as
 * `tap_queue_full`, `tap_too_big` (longer than the interface MTU + 14, + 4 for a VLAN tag:
 * an MTU-sized inner frame plus a tag, or a GSO super-frame that no NIC would carry),
 * `tap_busy` (the device queue stayed full, ENOBUFS, for `maxRetryMs`), `tap_send_error`
 * (the interface went down or away: the sink keeps trying with the next batch) or `closed`.
 * ENOBUFS/EAGAIN retries are counted separately (`retriesNoBufs`, `retriesAgain`).
 *
 * The native addon is imported in `open()` only: a collector without --tap starts without it.
 */
import type { InjectResult, PacketInjector } from '../../native/index.js';
import type { IngestFrame } from '../ingest/frame.js';
import type { Source } from '../ingest/source.js';
import type { Stage } from '../metrics.js';
import type { FrameSink } from './sink.js';

export const TAP_DROP_REASONS = [
  /** Both batch slots busy: the interface is slower than the mirror traffic. */
  'tap_queue_full',
  /** Longer than the interface takes (MTU + link header); refused by the kernel (EMSGSIZE). */
  'tap_too_big',
  /** The device queue stayed full (ENOBUFS/EAGAIN) for longer than maxRetryMs. */
  'tap_busy',
  /** Sending failed (the interface went down or away). */
  'tap_send_error',
  /** Offered after close(). */
  'closed',
] as const;
export type TapDropReason = (typeof TAP_DROP_REASONS)[number];

export const TAP_DEFAULT_SLOT_BYTES = 4 * 1024 * 1024;
export const TAP_DEFAULT_SLOT_ROWS = 4096;
/** How long one frame may wait for a full device queue before it is given up. */
export const TAP_DEFAULT_MAX_RETRY_MS = 5;
/** 802.1Q tag bytes the kernel allows on top of MTU + 14 for a tagged frame. */
const VLAN_TAG_LEN = 4;
/** INJECT_META_COLS (native/index.ts), repeated so nothing native loads before open(). */
const META_COLS = 3;

export interface TapSinkOptions {
  stage: Stage<TapDropReason>;
  /** The interface frames are written onto. */
  iface: string;
  /** Open it in this network namespace (a name under /var/run/netns or a path). */
  netns?: string;
  /** Bytes per batch slot (two slots); default 4 MiB. */
  slotBytes?: number;
  /** Frames per batch slot; default 4096. */
  slotRows?: number;
  /** Default 5 ms. */
  maxRetryMs?: number;
}

interface Slot {
  data: Buffer;
  meta: Float64Array;
  count: number;
  bytes: number;
}

export class TapSink implements FrameSink {
  readonly stage: Stage<TapDropReason>;
  readonly iface: string;
  /** Retries after ENOBUFS (device queue full) and EAGAIN (socket buffer full). */
  retriesNoBufs: number;
  retriesAgain: number;
  /** The last send error (the interface went down or away), if any. */
  lastError: Error | undefined;
  onEnded: (() => void) | undefined;
  private readonly injector: PacketInjector;
  private readonly maxFrameLen: number;
  private readonly maxRetryMs: number;
  private readonly slots: [Slot, Slot];
  private cur: number;
  private inFlight: Promise<void> | undefined;
  private flushScheduled: boolean;
  private closed: boolean;

  private constructor(injector: PacketInjector, opts: TapSinkOptions) {
    this.stage = opts.stage;
    this.iface = opts.iface;
    this.retriesNoBufs = 0;
    this.retriesAgain = 0;
    this.lastError = undefined;
    this.onEnded = undefined;
    this.injector = injector;
    this.maxFrameLen = injector.maxFrameLen + VLAN_TAG_LEN;
    this.maxRetryMs = opts.maxRetryMs ?? TAP_DEFAULT_MAX_RETRY_MS;
    const bytes = Math.max(opts.slotBytes ?? TAP_DEFAULT_SLOT_BYTES, this.maxFrameLen);
    const rows = opts.slotRows ?? TAP_DEFAULT_SLOT_ROWS;
    const slot = (): Slot => ({ data: Buffer.allocUnsafeSlow(bytes), meta: new Float64Array(rows * META_COLS), count: 0, bytes: 0 });
    this.slots = [slot(), slot()];
    this.cur = 0;
    this.inFlight = undefined;
    this.flushScheduled = false;
    this.closed = false;
  }

  /**
   * Opens the interface. Throws CaptureError: INJECT_NO_SUCH_DEVICE, INJECT_IFACE_DOWN,
   * INJECT_PERM, INJECT_OPEN (not Ethernet), NETNS, NATIVE_LOAD (no addon / libpcap).
   */
  static async open(opts: TapSinkOptions): Promise<TapSink> {
    const { PacketInjector } = await import('../../native/index.js');
    const injector = PacketInjector.open({ iface: opts.iface, ...(opts.netns !== undefined ? { netns: opts.netns } : {}) });
    return new TapSink(injector, opts);
  }

  /** The interface MTU when opened. */
  get mtu(): number {
    return this.injector.mtu;
  }

  write(frame: IngestFrame & { source: Source }): void {
    const stage = this.stage;
    stage.received++;
    if (this.closed) {
      stage.drop('closed');
      return;
    }
    const data = frame.data;
    const len = data.length;
    if (len > this.maxFrameLen) {
      stage.drop('tap_too_big');
      return;
    }
    let slot = this.slots[this.cur]!;
    if (slot.count * META_COLS >= slot.meta.length || slot.bytes + len > slot.data.length) {
      if (this.inFlight !== undefined) {
        stage.drop('tap_queue_full');
        return;
      }
      this.startSend();
      slot = this.slots[this.cur]!;
    }
    const at = slot.bytes;
    data.copy(slot.data, at);
    const row = slot.count * META_COLS;
    slot.meta[row] = at;
    slot.meta[row + 1] = len;
    slot.meta[row + 2] = 0;
    slot.count++;
    slot.bytes = at + len;
    this.scheduleFlush();
  }

  /** Sends what is queued, waits for it, closes the interface. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.inFlight !== undefined || this.slots[this.cur]!.count > 0) {
      if (this.inFlight !== undefined) await this.inFlight;
      else this.startSend();
    }
    await this.injector.close();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      if (this.inFlight === undefined && this.slots[this.cur]!.count > 0) this.startSend();
    });
  }

  /** Hands the filling slot to the injector and switches to the other. Caller checks inFlight is unset. */
  private startSend(): void {
    const slot = this.slots[this.cur]!;
    this.cur = 1 - this.cur;
    const count = slot.count;
    this.inFlight = this.injector.send(slot.data, slot.meta, { count, maxRetryMs: this.maxRetryMs }).then(
      (r) => this.account(slot, count, r),
      (e: unknown) => {
        // A bug or a closed injector: count the batch, never lose track of it.
        this.lastError = e as Error;
        this.stage.dropped.tap_send_error += count;
        this.finish(slot);
      },
    );
  }

  private account(slot: Slot, count: number, r: InjectResult): void {
    const stage = this.stage;
    stage.delivered += r.sent;
    stage.deliveredBytes += r.bytes;
    stage.dropped.tap_too_big += r.tooBig;
    stage.dropped.tap_busy += r.gaveUp;
    this.retriesNoBufs += r.retriesNoBufs;
    this.retriesAgain += r.retriesAgain;
    const rest = count - r.next;
    if (rest > 0) {
      if (r.error !== undefined) {
        this.lastError = r.error;
        stage.dropped.tap_send_error += rest;
      } else {
        stage.dropped.closed += rest; // cancelled
      }
    }
    this.finish(slot);
  }

  private finish(slot: Slot): void {
    slot.count = 0;
    slot.bytes = 0;
    this.inFlight = undefined;
    // Frames that queued meanwhile go at once, not a turn later.
    if (this.slots[this.cur]!.count > 0) this.startSend();
  }
}
