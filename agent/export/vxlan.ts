/**
 * The agent's VXLAN exporter (`--to vxlan://H[:P]?vni=N`): every captured frame goes out as
 * one UDP datagram to H:P (default 4789), RFC 7348 layout as AWS VPC Traffic Mirroring sends
 * it: `[8-byte VXLAN header (I flag, VNI), inner Ethernet frame]`; the kernel adds IP and UDP.
 *
 * With the native addon, a capture batch goes out in one native call (udp-batch-sender.ts:
 * sendmmsg, [header, frame] gathered per datagram straight from the capture batch, no copy,
 * no queue; full kernel buffers past a 2 ms wait count `export_queue_full`). Without it:
 * each datagram is sent scatter/gather (`socket.send([header, frame])`, no concatenation).
 * dgram sends are asynchronous and the capture batch is reused once the batch handler's
 * promise settles, so each frame is copied once into its own Buffer, held until its send
 * completes. Those copies are bounded by `queueBytes`: a frame that does not fit is dropped
 * and counted (`export_queue_full`); memory never grows past the cap.
 *
 * Oversize frames (GSO/GRO super-frames longer than the tunnel's inner MTU): segmented into
 * MTU-sized frames as GSO would (default), or truncated, by query parameter; `truncate=N`
 * cuts every frame to N bytes (AWS's PacketLength). See frame-shaper.ts:
 *   vxlan://H[:P]?vni=N[&oversize=segment|truncate][&mtu=N][&truncate=N]
 * A segmented frame counts once: `exported` when the kernel accepted all its segments,
 * else `export_send_error`; `export_segmented` counts such frames, `export_segments` the
 * segments sent.
 */
import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';

import { CAPTURE_META, CAPTURE_META_COLS, nativeAvailable } from '../../native/index.js';
import { buildVxlanHeader } from '../../packet/encap/vxlan.js';
import { VXLAN_HEADER_LEN, VXLAN_PORT, VXLAN_VNI_MAX } from '../../packet/wire/vxlan.js';
import type { ExportEndpoint } from '../exclude.js';
import type { ExportBatchInput, ExportCounters, Exporter, ExporterKind } from './exporter.js';
import { FrameShaper, parseShapeParams, SHAPE_PARAMS, type ShapeCounters, type ShapeOptions } from './frame-shaper.js';
import { UdpBatchSender } from './udp-batch-sender.js';

/** Largest UDP payload over IPv4: 65535 - 20 (IP) - 8 (UDP). */
export const UDP_MAX_PAYLOAD = 65507;
/** Largest inner frame one VXLAN datagram carries. */
export const VXLAN_MAX_INNER = UDP_MAX_PAYLOAD - VXLAN_HEADER_LEN;
/** Default cap on bytes of frames copied and waiting for their send to complete. */
export const DEFAULT_EXPORT_QUEUE_BYTES = 16 * 1024 * 1024;

/** Reasons a frame was not exported. */
export const VXLAN_DROP_REASONS = ['export_queue_full', 'export_send_error'] as const;

export interface VxlanCounters extends ExportCounters, ShapeCounters {
  /** Frames whose every datagram the kernel accepted. */
  exported: number;
  /** Frames sent cut (also counted in `exported` when sent). */
  export_truncated: number;
  export_queue_full: number;
  export_send_error: number;
}

export interface VxlanTarget {
  url: string;
  host: string;
  port: number;
  vni: number;
  shape: ShapeOptions;
}

const VXLAN_PARAMS: readonly string[] = ['vni', ...SHAPE_PARAMS];

/** Parses `vxlan://H[:P]?vni=N`. Throws RangeError with a message for the user. */
export function parseVxlanUrl(url: string): VxlanTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RangeError(`export target "${url}" is not a URL`);
  }
  if (u.protocol !== 'vxlan:') throw new RangeError(`export target "${url}" is not vxlan://`);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new RangeError(`export target "${url}" has no host`);
  const port = u.port === '' ? VXLAN_PORT : Number(u.port);
  const vniText = u.searchParams.get('vni');
  if (vniText === null) throw new RangeError(`export target "${url}": say which VNI: vxlan://HOST[:PORT]?vni=N`);
  if (!/^[0-9]+$/.test(vniText) || Number(vniText) > VXLAN_VNI_MAX) throw new RangeError(`export target "${url}": vni wants an integer 0..${VXLAN_VNI_MAX}, got "${vniText}"`);
  for (const k of u.searchParams.keys()) if (!VXLAN_PARAMS.includes(k)) throw new RangeError(`export target "${url}": unknown parameter "${k}" (${VXLAN_PARAMS.join(', ')})`);
  if ((u.pathname !== '' && u.pathname !== '/') || u.username !== '' || u.password !== '' || u.hash !== '') throw new RangeError(`export target "${url}": expected vxlan://HOST[:PORT]?vni=N`);
  return { url, host, port, vni: Number(vniText), shape: parseShapeParams(url, u) };
}

export function vxlanEndpoint(t: VxlanTarget): ExportEndpoint {
  return { host: t.host, transport: 'udp', port: t.port };
}

export class VxlanExporter implements Exporter {
  readonly target: VxlanTarget;
  readonly url: string;
  readonly counters: VxlanCounters;
  readonly dropReasons: readonly string[] = VXLAN_DROP_REASONS;
  readonly ethernetOnly = true;
  private readonly header: Buffer;
  private readonly socket: Socket | undefined;
  private readonly address: string;
  private readonly queueBytes: number;
  private readonly shaper: FrameShaper;
  private inflightBytes: number;
  private inflight: number;
  private closed: boolean;
  private idle: Array<() => void>;
  /** The native batch path (sendmmsg, one call per capture batch); undefined on node:dgram. */
  private batchSender: UdpBatchSender | undefined;
  /** One capture row, for exportFrame() on the batch path. */
  private readonly oneRow: Float64Array;

  private constructor(target: VxlanTarget, socket: Socket | undefined, address: string, queueBytes: number) {
    this.target = target;
    this.url = target.url;
    this.header = buildVxlanHeader(target.vni);
    this.socket = socket;
    this.address = address;
    this.queueBytes = queueBytes;
    this.shaper = new FrameShaper(target.shape, VXLAN_MAX_INNER);
    this.inflightBytes = 0;
    this.inflight = 0;
    this.closed = false;
    this.idle = [];
    this.counters = { exported: 0, export_truncated: 0, export_segmented: 0, export_segments: 0, export_queue_full: 0, export_send_error: 0 };
    this.batchSender = undefined;
    this.oneRow = new Float64Array(CAPTURE_META_COLS);
  }

  /**
   * Resolves the host once and opens the socket: the native batch socket (one sendmmsg per
   * capture batch, no copies, no queue) when the addon loads, else node:dgram. `native:
   * false` forces node:dgram (tests of its queue).
   */
  static async open(target: VxlanTarget, opts: { queueBytes?: number; native?: boolean } = {}): Promise<VxlanExporter> {
    const { address, family } = await lookup(target.host);
    if (opts.native !== false && nativeAvailable()) {
      const x = new VxlanExporter(target, undefined, address, opts.queueBytes ?? DEFAULT_EXPORT_QUEUE_BYTES);
      x.batchSender = await UdpBatchSender.open({ host: address, port: target.port, header: x.header, maxFrame: VXLAN_MAX_INNER, shaper: x.shaper, counters: x.counters });
      return x;
    }
    const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
    socket.on('error', () => {
      /* per-send errors arrive in the send callbacks */
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new VxlanExporter(target, socket, address, opts.queueBytes ?? DEFAULT_EXPORT_QUEUE_BYTES);
  }

  /** Sends rows [0, n) of `batch`, each frame copied (the batch may be reused on return). */
  exportBatch(batch: ExportBatchInput, n: number): void {
    if (this.batchSender !== undefined) {
      this.batchSender.exportBatch(batch, n);
      return;
    }
    const { data, meta } = batch;
    for (let i = 0; i < n; i++) {
      const r = i * CAPTURE_META_COLS;
      this.exportFrame(data, meta[r + CAPTURE_META.OFFSET]!, meta[r + CAPTURE_META.CAP_LEN]!, meta[r + CAPTURE_META.WIRE_LEN]!);
    }
  }

  /** Sends `data[off, off + capLen)` (wire length `wireLen`; default capLen), copied. */
  exportFrame(data: Buffer, off: number, capLen: number, wireLen: number = capLen): void {
    if (this.closed) return;
    if (this.batchSender !== undefined) {
      const row = this.oneRow;
      row[CAPTURE_META.OFFSET] = off;
      row[CAPTURE_META.CAP_LEN] = capLen;
      row[CAPTURE_META.WIRE_LEN] = wireLen;
      this.batchSender.exportBatch({ data, meta: row }, 1);
      return;
    }
    const s = this.shaper;
    const counters = this.counters;
    const count = s.begin(data, off, capLen, wireLen);
    if (s.direct) {
      const len = s.directLen;
      if (this.inflightBytes + len > this.queueBytes) {
        this.counters.export_queue_full++;
        return;
      }
      const truncated = s.truncated;
      const copy = Buffer.allocUnsafe(len);
      data.copy(copy, 0, off, off + len);
      this.send(copy, (err) => {
        if (err) this.counters.export_send_error++;
        else {
          this.counters.exported++;
          if (truncated) this.counters.export_truncated++;
        }
      });
      return;
    }
    // Segments: all or nothing against the queue cap (an upper bound: payload plus each
    // segment's headers, at most the link header + 60 + 60 bytes of IP and TCP).
    if (this.inflightBytes + capLen + count * 160 > this.queueBytes) {
      this.counters.export_queue_full++;
      return;
    }
    this.counters.export_segmented++;
    let pending = count;
    let failed = false;
    // Read once every segment is written (write() may cut one to the datagram limit).
    let truncated = false;
    const done = (err: Error | null): void => {
      if (err) failed = true;
      else counters.export_segments++;
      if (--pending === 0) {
        if (failed) counters.export_send_error++;
        else {
          counters.exported++;
          if (truncated) counters.export_truncated++;
        }
      }
    };
    for (let i = 0; i < count; i++) {
      const len = s.write(i);
      const copy = Buffer.allocUnsafe(len);
      s.scratch.copy(copy, 0, 0, len);
      this.send(copy, done);
    }
    // dgram send callbacks always run later, after this.
    truncated = s.truncated;
  }

  /** One datagram [header, frame]; `frame` is held until the send completes. */
  private send(frame: Buffer, done: (err: Error | null) => void): void {
    const len = frame.length;
    this.inflightBytes += len;
    this.inflight++;
    this.socket!.send([this.header, frame], this.target.port, this.address, (err) => {
      this.inflightBytes -= len;
      this.inflight--;
      done(err);
      if (this.inflight === 0) {
        const w = this.idle;
        this.idle = [];
        for (const f of w) f();
      }
    });
  }

  /** Waits for every queued send, then closes the socket. Idempotent; never rejects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.inflight > 0) await new Promise<void>((r) => this.idle.push(r));
    await this.batchSender?.close();
    const socket = this.socket;
    if (socket === undefined) return;
    await new Promise<void>((r) => {
      try {
        socket.close(() => r());
      } catch {
        r();
      }
    });
  }
}

export const VXLAN_EXPORTER: ExporterKind<VxlanTarget> = {
  schemes: ['vxlan:'],
  usage: 'vxlan://HOST[:PORT]?vni=N',
  parse: parseVxlanUrl,
  endpoint: vxlanEndpoint,
  open: (t) => VxlanExporter.open(t),
};
