/**
 * Batched UDP export for tunnel exporters whose datagram is `[fixed header, frame]` (VXLAN):
 * one native call (sendmmsg, up to 1024 datagrams per system call) per capture batch instead
 * of one node:dgram send, one Buffer copy and one callback per frame.
 *
 * Frames that go out as (a prefix of) themselves are sent straight from the capture batch:
 * rows `[offset, len]` into its data Buffer, gathered by the kernel with the shared header
 * (no copy in JS). Frames a shaper segments (GSO/GRO super-frames) are written into one
 * arena Buffer owned here and sent from it. Datagrams leave in capture order: a run of
 * rows pointing into one Buffer is one native call, so a batch costs one call plus two per
 * stretch of segmented frames.
 *
 * The send is synchronous: when this returns, nothing refers to the capture batch any
 * more, so nothing is copied to outlive it and there is no queue to bound. When the
 * kernel's buffers stay full past `maxWaitMs` (default 2 ms per batch), the rest of the
 * batch is dropped and counted `export_queue_full`; other send errors count
 * `export_send_error`. Counting is per captured frame, as the VXLAN exporter's:
 *
 *   frames given == exported + export_queue_full + export_send_error
 *
 * A segmented frame counts `exported` when every segment was sent; `export_segments`
 * counts the segments sent. (A datagram the kernel refuses as too long, EMSGSIZE, cannot
 * happen under maxFrame; should it, it is counted `export_send_error` in place of one
 * frame counted `exported` of the same batch: the totals stay exact.)
 *
 * Needs the native addon (UdpBatchSocket); callers check nativeAvailable() and keep their
 * node:dgram path otherwise.
 */
import { lookup } from 'node:dns/promises';

import { CAPTURE_META, CAPTURE_META_COLS, UdpBatchSocket, type CaptureError } from '../../native/index.js';
import type { ExportBatchInput } from './exporter.js';

/** Default total wait per batch for full kernel buffers before the rest is dropped. */
export const UDP_BATCH_SENDER_MAX_WAIT_MS = 2;
/** Rows per native call at most (a longer batch is sent in several). */
export const UDP_BATCH_SENDER_ROWS = 8192;
/** Bytes of the arena segmented frames are written into before a flush. */
export const UDP_BATCH_SENDER_ARENA_BYTES = 1024 * 1024;

const ROW_COLS = 2;
const ROW_END = 1; // the last datagram of its captured frame
const ROW_TRUNCATED = 2; // its frame counts as export_truncated
const ROW_SEGMENT = 4; // a segment of a segmented frame

/** Counters the sender adds to (the VXLAN exporter's own counters object fits). */
export interface UdpBatchSenderCounters {
  exported: number;
  export_truncated: number;
  export_segmented: number;
  export_segments: number;
  export_queue_full: number;
  export_send_error: number;
}

/**
 * How a captured frame is sent (agent/export/frame-shaper.ts's FrameShaper fits): begin()
 * plans it and returns how many datagrams it becomes; `direct` means "send
 * data[off, off + directLen)"; otherwise write(i) puts datagram i into `scratch`.
 */
export interface UdpBatchShaper {
  begin(data: Buffer, off: number, capLen: number, wireLen: number): number;
  readonly direct: boolean;
  readonly directLen: number;
  readonly truncated: boolean;
  readonly scratch: Buffer;
  write(index: number): number;
}

export interface UdpBatchSenderOptions {
  /** Destination host (a name is resolved once, at open). */
  host: string;
  port: number;
  /** Prepended to every datagram (the VXLAN header); not copied per datagram. */
  header: Buffer;
  /** Largest frame part of a datagram: longer frames are cut and counted export_truncated. */
  maxFrame: number;
  /** Shapes frames (segmentation, truncate=N); absent: every frame is sent as itself, cut to maxFrame. */
  shaper?: UdpBatchShaper;
  /** Counted into; default a fresh object. */
  counters?: UdpBatchSenderCounters;
  /** Total wait per batch for full kernel buffers; default UDP_BATCH_SENDER_MAX_WAIT_MS. */
  maxWaitMs?: number;
  /** SO_SNDBUF asked for; default the kernel's. */
  sndBufBytes?: number;
  /** Send from this network namespace. */
  netns?: string;
}

export class UdpBatchSender {
  readonly header: Buffer;
  readonly counters: UdpBatchSenderCounters;
  /** The resolved destination address. */
  readonly address: string;
  readonly port: number;
  /** Native calls made (each one or more sendmmsg system calls). */
  flushes: number;
  /** sendmmsg system calls made. */
  syscalls: number;
  /** The last error that stopped a send, for the summary. */
  lastError: CaptureError | undefined;
  private readonly socket: UdpBatchSocket;
  private readonly shaper: UdpBatchShaper | undefined;
  private readonly maxFrame: number;
  private readonly maxWaitMs: number;
  private readonly rows: Float64Array;
  private readonly flags: Uint8Array;
  private readonly arena: Buffer;
  private arenaUsed: number;
  private rowCount: number;
  private rowData: Buffer | undefined;
  /** A frame whose datagrams span flushes failed in an earlier one. */
  private frameFailed: number;
  /** Set after a busy flush: the other flushes of the batch do not wait again. */
  private busyInBatch: boolean;
  private closed: boolean;

  private constructor(socket: UdpBatchSocket, address: string, opts: UdpBatchSenderOptions) {
    this.socket = socket;
    this.address = address;
    this.port = opts.port;
    this.header = opts.header;
    this.shaper = opts.shaper;
    this.maxFrame = opts.maxFrame;
    this.maxWaitMs = opts.maxWaitMs ?? UDP_BATCH_SENDER_MAX_WAIT_MS;
    this.counters = opts.counters ?? { exported: 0, export_truncated: 0, export_segmented: 0, export_segments: 0, export_queue_full: 0, export_send_error: 0 };
    this.rows = new Float64Array(UDP_BATCH_SENDER_ROWS * ROW_COLS);
    this.flags = new Uint8Array(UDP_BATCH_SENDER_ROWS);
    this.arena = Buffer.allocUnsafeSlow(UDP_BATCH_SENDER_ARENA_BYTES);
    this.arenaUsed = 0;
    this.rowCount = 0;
    this.rowData = undefined;
    this.frameFailed = 0;
    this.busyInBatch = false;
    this.flushes = 0;
    this.syscalls = 0;
    this.lastError = undefined;
    this.closed = false;
  }

  /**
   * Resolves the host once and opens a socket connected to it. Rejects with the lookup
   * error or a CaptureError (UDP_SOCKET, UDP_BIND, NETNS, NATIVE_LOAD).
   */
  static async open(opts: UdpBatchSenderOptions): Promise<UdpBatchSender> {
    const { address } = await lookup(opts.host);
    const sockOpts: Parameters<typeof UdpBatchSocket.open>[0] = { remoteAddress: address, remotePort: opts.port };
    if (opts.sndBufBytes !== undefined) sockOpts.sndBufBytes = opts.sndBufBytes;
    if (opts.netns !== undefined) sockOpts.netns = opts.netns;
    return new UdpBatchSender(UdpBatchSocket.open(sockOpts), address, opts);
  }

  /** The local port datagrams leave from. */
  get localPort(): number {
    return this.socket.localPort;
  }

  /**
   * Sends rows [0, n) of a capture batch (CAPTURE_META rows) and counts every frame. When
   * this returns nothing refers to `batch` any more. Never throws for a frame.
   */
  exportBatch(batch: ExportBatchInput, n: number): void {
    if (this.closed) return;
    const { data, meta } = batch;
    const shaper = this.shaper;
    this.busyInBatch = false;
    for (let i = 0; i < n; i++) {
      const r = i * CAPTURE_META_COLS;
      const off = meta[r + CAPTURE_META.OFFSET]!;
      const capLen = meta[r + CAPTURE_META.CAP_LEN]!;
      if (shaper === undefined) {
        const len = capLen > this.maxFrame ? this.maxFrame : capLen;
        this.addRow(data, off, len, ROW_END | (len < capLen ? ROW_TRUNCATED : 0));
        continue;
      }
      const count = shaper.begin(data, off, capLen, meta[r + CAPTURE_META.WIRE_LEN]!);
      if (shaper.direct) {
        this.addRow(data, off, shaper.directLen, ROW_END | (shaper.truncated ? ROW_TRUNCATED : 0));
        continue;
      }
      this.counters.export_segmented++;
      for (let k = 0; k < count; k++) {
        const len = shaper.write(k);
        // Flush first when the pending rows point elsewhere or the arena or rows are full
        // (after a flush no row refers to the arena: it is free again).
        if (this.rowCount > 0 && (this.rowData !== this.arena || this.arenaUsed + len > this.arena.length || this.rowCount === UDP_BATCH_SENDER_ROWS)) this.flush();
        shaper.scratch.copy(this.arena, this.arenaUsed, 0, len);
        // write() may only find out at the last segment that one is cut.
        const last = k === count - 1;
        this.addRow(this.arena, this.arenaUsed, len, ROW_SEGMENT | (last ? ROW_END : 0) | (last && shaper.truncated ? ROW_TRUNCATED : 0));
        this.arenaUsed += len;
      }
    }
    this.flush();
  }

  private addRow(data: Buffer, off: number, len: number, flags: number): void {
    if ((this.rowData !== data && this.rowCount > 0) || this.rowCount === UDP_BATCH_SENDER_ROWS) this.flush();
    this.rowData = data;
    const k = this.rowCount++;
    this.rows[k * ROW_COLS] = off;
    this.rows[k * ROW_COLS + 1] = len;
    this.flags[k] = flags;
  }

  /** Sends the pending rows in one native call and counts their frames. */
  private flush(): void {
    const n = this.rowCount;
    const data = this.rowData;
    this.rowCount = 0;
    this.rowData = undefined;
    this.arenaUsed = 0;
    if (n === 0 || data === undefined) return;
    const c = this.counters;
    let next = 0;
    let busy = false;
    let tooBig = 0;
    try {
      const r = this.socket.sendBatch(this.header, data, this.rows, {
        count: n,
        cols: ROW_COLS,
        offCol: 0,
        lenCol: 1,
        maxWaitMs: this.busyInBatch ? 0 : this.maxWaitMs,
      });
      next = r.next;
      busy = r.busy;
      tooBig = r.tooBig;
      this.syscalls += r.syscalls;
      if (r.error !== undefined) this.lastError = r.error;
    } catch (e) {
      // Closed underneath us or a bug in the rows: nothing was sent.
      this.lastError = e as CaptureError;
    }
    this.flushes++;
    if (busy) this.busyInBatch = true;
    const flags = this.flags;
    for (let k = 0; k < n; k++) {
      const f = flags[k]!;
      if (k >= next) {
        if (this.frameFailed === 0) this.frameFailed = busy ? 1 : 2;
      } else if ((f & ROW_SEGMENT) !== 0) {
        c.export_segments++;
      }
      if ((f & ROW_END) === 0) continue;
      if (this.frameFailed === 1) c.export_queue_full++;
      else if (this.frameFailed === 2) c.export_send_error++;
      else {
        c.exported++;
        if ((f & ROW_TRUNCATED) !== 0) c.export_truncated++;
      }
      this.frameFailed = 0;
    }
    if (tooBig > 0) {
      const moved = Math.min(tooBig, c.exported);
      c.exported -= moved;
      c.export_send_error += moved;
    }
  }

  /** Closes the socket (nothing is ever queued). Idempotent; never rejects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.socket.close().catch(() => undefined);
  }
}
