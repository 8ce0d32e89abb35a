/**
 * Packet replay (`podspan replay FILE --iface IF --mode packet`), tcpreplay-like: every
 * Ethernet frame of a pcap or pcapng file written onto an interface, in file order, with
 * the file's inter-packet timing scaled by a speed factor, or as fast as the interface
 * takes them (`max`, tcpreplay's --topspeed), optionally rewritten (MACs, IPv4 addresses,
 * checksums: packet/rewrite) on the way.
 *
 * Path: the file is read in 1 MiB chunks into the streaming CapfileReader; each record is
 * copied once, into one of two batch slots (a data Buffer and INJECT_META rows), rewritten
 * there in place, and a full slot is handed to the native PacketInjector (sendmmsg on a
 * worker thread) while the other slot fills. Memory is two slots and two read chunks,
 * whatever the file's size.
 *
 * Timing: a frame's due time is its capture time minus the first frame's, in nanoseconds
 * (integer arithmetic on the (sec, nsec) pair, exact below 2^53 ns = 104 days), divided by
 * the speed and rounded; a timestamp earlier than the previous frame's goes at once after
 * it (as tcpreplay). The addon sleeps until each due time on CLOCK_MONOTONIC. Each loop
 * starts its own schedule when its first frame is ready.
 *
 * What tcpreplay does, done the same: a frame over the interface MTU + 14 is offered to the
 * kernel, refused (EMSGSIZE) and counted as failed; a frame cut by the capture's snap
 * length goes out as captured (capLen bytes); ENOBUFS/EAGAIN are retried and counted.
 * Records of a non-Ethernet link type (Linux SLL, raw IP...) are skipped and counted:
 * convert them first (`tcprewrite --dlt=enet`).
 */
import { open } from 'node:fs/promises';

import type { InjectResult, PacketInjector } from '../../native/index.js';
import { checkCaptureFile } from '../capture-file.js';
import { CapfileReader } from '../../packet/capfile/reader.js';
import { isEmptyPlan, rewriteFrame, type RewritePlan } from '../../packet/rewrite/frame-rewrite.js';
import { LINKTYPE } from '../../packet/wire/link-type.js';

export const REPLAY_READ_CHUNK_BYTES = 1 << 20;
export const REPLAY_DEFAULT_BATCH_BYTES = 4 * 1024 * 1024;
export const REPLAY_DEFAULT_BATCH_ROWS = 4096;
/** Rows of the first batch: sending starts after these, not after a whole slot. */
export const REPLAY_FIRST_BATCH_ROWS = 64;
/** INJECT_META_COLS, repeated here so this module loads nothing native until a replay starts. */
const META_COLS = 3;

export interface PacketReplayOptions {
  file: string;
  iface: string;
  /** Open the interface in this network namespace (a name under /var/run/netns or a path). */
  netns?: string;
  /** Multiplier of the file's timing (2 = twice as fast), or 'max' (no waiting). */
  speed: number | 'max';
  rewrite?: RewritePlan;
  /** Stop after this many frames (across loops); default all. */
  count?: number;
  /** Passes over the file; 0 = until count or abort; default 1. */
  loop?: number;
  /** PACKET_QDISC_BYPASS (frames skip the qdisc and the taps on the sending interface). */
  qdiscBypass?: boolean;
  batchBytes?: number;
  batchRows?: number;
  /** Stops the replay at the next frame; the summary then has `interrupted`. */
  signal?: AbortSignal;
}

export interface PacketReplaySummary {
  iface: string;
  mtu: number;
  /** Frames the kernel took (tcpreplay's "Successful packets"). */
  packets: number;
  bytes: number;
  /** From the first frame handed to the kernel to the last send finishing. */
  elapsedNs: number;
  /** Frames offered and not sent: tooBig + gaveUp + sendErrors (tcpreplay's "Failed packets"). */
  failed: number;
  /** Longer than the interface MTU + 14, refused by the kernel (EMSGSIZE). */
  tooBig: number;
  /** Given up after retrying (never, unless maxRetry is set). */
  gaveUp: number;
  /** Frames not sent because a send error stopped the replay. */
  sendErrors: number;
  retriesNoBufs: number;
  retriesAgain: number;
  /** Records skipped because their link type is not Ethernet. */
  skippedNotEthernet: number;
  /** Frames sent shorter than on the original wire (cut by the capture's snap length). */
  cutBySnapLen: number;
  /** Frames changed by the rewrite. */
  rewritten: number;
  /** Records read from the file (all loops). */
  records: number;
  loops: number;
  sendCalls: number;
  syscalls: number;
  interrupted: boolean;
  /** What stopped the replay early: a damaged or cut-off file (PodspanError), a send error (CaptureError). */
  error: Error | undefined;
}

interface Slot {
  data: Buffer;
  meta: Float64Array;
  count: number;
  bytes: number;
}

function newSlot(bytes: number, rows: number): Slot {
  return { data: Buffer.allocUnsafeSlow(bytes), meta: new Float64Array(rows * META_COLS), count: 0, bytes: 0 };
}

/**
 * Opens the interface (fails fast: CaptureError INJECT_NO_SUCH_DEVICE, INJECT_IFACE_DOWN,
 * INJECT_PERM, INJECT_OPEN, NETNS, NATIVE_LOAD; PodspanError IO for the file) and returns
 * a replay ready to run.
 */
export async function openPacketReplay(opts: PacketReplayOptions): Promise<PacketReplay> {
  await checkCaptureFile(opts.file);
  const { PacketInjector } = await import('../../native/index.js');
  const injector = PacketInjector.open({ iface: opts.iface, ...(opts.netns !== undefined ? { netns: opts.netns } : {}), qdiscBypass: opts.qdiscBypass ?? false });
  return new PacketReplay(injector, opts);
}

/** Same as `(await openPacketReplay(opts)).run()`. */
export async function replayPackets(opts: PacketReplayOptions): Promise<PacketReplaySummary> {
  return (await openPacketReplay(opts)).run();
}

export class PacketReplay {
  readonly injector: PacketInjector;
  private readonly opts: PacketReplayOptions;
  private readonly slots: [Slot, Slot];
  private cur: number;
  private inFlight: Promise<void> | undefined;
  private readonly sum: PacketReplaySummary;
  private startNs: bigint;
  private endNs: bigint;
  /** Monotonic base of the current loop's schedule, set when its first batch goes. */
  private baseNs: bigint | undefined;
  private stopped: boolean;
  /** A send error stopped the replay: nothing more is handed to the injector. */
  private sendFailed: boolean;
  /** Frames queued for sending so far, all passes (for the count limit). */
  private queued: number;
  /**
   * Rows after which the filling slot is handed over: small at first, so the interface is
   * busy while the reader fills the rest, doubling up to the slot size.
   */
  private flushRows: number;
  private readonly slotRows: number;

  constructor(injector: PacketInjector, opts: PacketReplayOptions) {
    this.injector = injector;
    this.opts = opts;
    const rows = opts.batchRows ?? REPLAY_DEFAULT_BATCH_ROWS;
    const bytes = opts.batchBytes ?? REPLAY_DEFAULT_BATCH_BYTES;
    this.slots = [newSlot(bytes, rows), newSlot(bytes, rows)];
    this.cur = 0;
    this.inFlight = undefined;
    this.startNs = -1n;
    this.endNs = -1n;
    this.baseNs = undefined;
    this.stopped = false;
    this.sendFailed = false;
    this.queued = 0;
    this.slotRows = rows;
    this.flushRows = Math.min(REPLAY_FIRST_BATCH_ROWS, rows);
    this.sum = {
      iface: opts.iface,
      mtu: injector.mtu,
      packets: 0,
      bytes: 0,
      elapsedNs: 0,
      failed: 0,
      tooBig: 0,
      gaveUp: 0,
      sendErrors: 0,
      retriesNoBufs: 0,
      retriesAgain: 0,
      skippedNotEthernet: 0,
      cutBySnapLen: 0,
      rewritten: 0,
      records: 0,
      loops: 0,
      sendCalls: 0,
      syscalls: 0,
      interrupted: false,
      error: undefined,
    };
  }

  /** Replays the file; resolves with the summary (errors that stop it are in `error`). Closes the interface. */
  async run(): Promise<PacketReplaySummary> {
    const o = this.opts;
    const onAbort = (): void => {
      this.stopped = true;
      this.sum.interrupted = true;
      this.injector.cancel();
    };
    if (o.signal?.aborted === true) onAbort();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const loops = o.loop ?? 1;
    try {
      try {
        for (let pass = 0; (loops === 0 || pass < loops) && !this.stopped; pass++) {
          const before = this.sum.records;
          await this.onePass();
          this.sum.loops++;
          if (this.sum.records === before) break; // an empty file would loop forever with --loop 0
        }
      } catch (e) {
        // A damaged or cut-off file: every complete record before the damage still goes out.
        this.sum.error ??= e as Error;
      }
      await this.flush();
      await this.inFlight;
    } finally {
      o.signal?.removeEventListener('abort', onAbort);
      await this.injector.close();
    }
    const s = this.sum;
    if (this.startNs >= 0n && this.endNs >= this.startNs) s.elapsedNs = Number(this.endNs - this.startNs);
    s.failed = s.tooBig + s.gaveUp + s.sendErrors;
    return s;
  }

  /** One pass over the file; at its end every frame of the pass has been sent. */
  private async onePass(): Promise<void> {
    const o = this.opts;
    const speed = o.speed;
    const paced = speed !== 'max';
    const limit = o.count ?? Infinity;
    const plan = o.rewrite !== undefined && !isEmptyPlan(o.rewrite) ? o.rewrite : undefined;
    const reader = new CapfileReader({ keepStats: false });
    const fh = await open(o.file, 'r');
    let firstSec = -1;
    let firstNsec = 0;
    let lastDue = 0;
    const spare: Buffer[] = [];
    let older: Buffer | undefined;
    let prev: Buffer | undefined;
    try {
      let eof = false;
      while (!eof && !this.stopped) {
        const buf = spare.pop() ?? Buffer.allocUnsafeSlow(REPLAY_READ_CHUNK_BYTES);
        const { bytesRead } = await fh.read(buf, 0, REPLAY_READ_CHUNK_BYTES, null);
        if (bytesRead === 0) {
          eof = true;
          reader.end();
        } else {
          reader.push(buf.subarray(0, bytesRead));
        }
        for (let rec = reader.next(); rec !== null; rec = reader.next()) {
          this.sum.records++;
          if (rec.iface.linkType !== LINKTYPE.ETHERNET) {
            this.sum.skippedNotEthernet++;
            continue;
          }
          if (this.queued >= limit) {
            this.stopped = true;
            break;
          }
          let due = 0;
          if (paced) {
            if (firstSec < 0) {
              firstSec = rec.tsSec;
              firstNsec = rec.tsNsec;
            }
            const deltaNs = (rec.tsSec - firstSec) * 1e9 + (rec.tsNsec - firstNsec);
            due = Math.round(deltaNs / speed);
            if (!(due >= lastDue)) due = lastDue; // earlier than the previous frame (or NaN): right after it
            lastDue = due;
          }
          const len = rec.data.length;
          let slot = this.slots[this.cur]!;
          if (slot.count >= this.flushRows || slot.bytes + len > slot.data.length) {
            await this.flush();
            slot = this.slots[this.cur]!;
            if (len > slot.data.length) {
              // Larger than a whole batch (a pcapng block of several MiB): no interface takes it.
              this.sum.tooBig++;
              continue;
            }
          }
          const at = slot.bytes;
          slot.data.set(rec.data, at); // TypedArray set: a memcpy; Buffer.copy allocates a view per call (Node 20)
          if (plan !== undefined && rewriteFrame(slot.data.subarray(at, at + len), plan) !== 0) this.sum.rewritten++;
          if (len < rec.wireLen) this.sum.cutBySnapLen++;
          const row = slot.count * META_COLS;
          slot.meta[row] = at;
          slot.meta[row + 1] = len;
          slot.meta[row + 2] = due;
          slot.count++;
          slot.bytes = at + len;
          this.queued++;
        }
        if (bytesRead > 0) {
          // The chunk before this one is free once the reader holds nothing older than this one.
          const chunk = buf.subarray(0, bytesRead);
          if (prev !== undefined && reader.bufferedBytes <= chunk.length && older !== undefined) spare.push(older);
          older = buf;
          prev = chunk;
        }
      }
    } finally {
      await fh.close();
    }
    // The next pass starts its own schedule once this one has gone out entirely.
    await this.flush();
    await this.inFlight;
    this.baseNs = undefined;
  }

  /** Hands the filling slot to the injector (after the previous send finished) and switches slots. */
  private async flush(): Promise<void> {
    const slot = this.slots[this.cur]!;
    if (slot.count === 0) return;
    if (this.inFlight !== undefined) await this.inFlight;
    if (this.sendFailed || this.sum.interrupted) {
      slot.count = 0;
      slot.bytes = 0;
      return;
    }
    const paced = this.opts.speed !== 'max';
    const now = process.hrtime.bigint();
    if (this.startNs < 0n) this.startNs = now;
    const count = slot.count;
    this.flushRows = Math.min(this.flushRows * 2, this.slotRows);
    // The first batch of a pass starts its schedule when its worker runs; later batches reuse that base.
    const p = this.injector.send(slot.data, slot.meta, { count, ...(paced ? { baseNs: this.baseNs ?? 'now' } : {}) });
    this.sum.sendCalls++;
    this.cur = 1 - this.cur;
    this.inFlight = p.then(
      (r) => this.account(slot, r, count),
      (e: unknown) => {
        slot.count = 0;
        slot.bytes = 0;
        this.sum.sendErrors += count;
        this.sum.error ??= e as Error;
        this.stopped = true;
        this.sendFailed = true;
        this.inFlight = undefined;
      },
    );
  }

  private account(slot: Slot, r: InjectResult, count: number): void {
    const s = this.sum;
    s.packets += r.sent;
    s.bytes += r.bytes;
    s.tooBig += r.tooBig;
    s.gaveUp += r.gaveUp;
    s.retriesNoBufs += r.retriesNoBufs;
    s.retriesAgain += r.retriesAgain;
    s.syscalls += r.syscalls;
    this.endNs = process.hrtime.bigint();
    if (this.opts.speed !== 'max' && this.baseNs === undefined) this.baseNs = r.baseNs;
    if (r.error !== undefined) {
      s.sendErrors += count - r.next;
      s.error ??= r.error;
      this.stopped = true;
      this.sendFailed = true;
    }
    slot.count = 0;
    slot.bytes = 0;
    this.inFlight = undefined;
  }
}
