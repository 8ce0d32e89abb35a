/**
 * The agent's VXLAN exporter (`--to vxlan://H[:P]?vni=N`): every captured frame goes out as
 * one UDP datagram to H:P (default 4789), RFC 7348 layout as AWS VPC Traffic Mirroring sends
 * it: `[8-byte VXLAN header (I flag, VNI), inner Ethernet frame]`; the kernel adds IP and UDP.
 *
 * Each datagram is sent scatter/gather (`socket.send([header, frame])`, no concatenation).
 * dgram sends are asynchronous and the capture batch is reused once the batch handler's
 * promise settles, so each frame is copied once into its own Buffer, held until its send
 * completes. Those copies are bounded by `queueBytes`: a frame that does not fit is dropped
 * and counted (`export_queue_full`); memory never grows past the cap.
 *
 * Frames longer than one UDP datagram can carry (65507 - 8 bytes of VXLAN header) are
 * truncated to that length and counted (`export_truncated`; they are still sent).
 * TODO(#5): segment GSO/GRO super-frames into MTU-sized frames instead of truncating.
 */
import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';

import { CAPTURE_META, CAPTURE_META_COLS } from '../../native/index.js';
import { buildVxlanHeader } from '../../packet/encap/vxlan.js';
import { VXLAN_HEADER_LEN, VXLAN_PORT, VXLAN_VNI_MAX } from '../../packet/wire/vxlan.js';
import type { ExportEndpoint } from '../exclude.js';
import type { ExportBatchInput, ExportCounters, Exporter, ExporterKind } from './exporter.js';

/** Largest UDP payload over IPv4: 65535 - 20 (IP) - 8 (UDP). */
export const UDP_MAX_PAYLOAD = 65507;
/** Largest inner frame one VXLAN datagram carries. */
export const VXLAN_MAX_INNER = UDP_MAX_PAYLOAD - VXLAN_HEADER_LEN;
/** Default cap on bytes of frames copied and waiting for their send to complete. */
export const DEFAULT_EXPORT_QUEUE_BYTES = 16 * 1024 * 1024;

/** Reasons a frame was not exported. */
export const VXLAN_DROP_REASONS = ['export_queue_full', 'export_send_error'] as const;

export interface VxlanCounters extends ExportCounters {
  /** Datagrams the kernel accepted. */
  exported: number;
  /** Frames cut to VXLAN_MAX_INNER (also counted in `exported` when sent). */
  export_truncated: number;
  export_queue_full: number;
  export_send_error: number;
}

export interface VxlanTarget {
  url: string;
  host: string;
  port: number;
  vni: number;
}

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
  for (const k of u.searchParams.keys()) if (k !== 'vni') throw new RangeError(`export target "${url}": unknown parameter "${k}" (only vni)`);
  if ((u.pathname !== '' && u.pathname !== '/') || u.username !== '' || u.password !== '' || u.hash !== '') throw new RangeError(`export target "${url}": expected vxlan://HOST[:PORT]?vni=N`);
  return { url, host, port, vni: Number(vniText) };
}

export function vxlanEndpoint(t: VxlanTarget): ExportEndpoint {
  return { host: t.host, transport: 'udp', port: t.port };
}

export class VxlanExporter implements Exporter {
  readonly target: VxlanTarget;
  readonly url: string;
  readonly counters: VxlanCounters;
  readonly dropReasons: readonly string[] = VXLAN_DROP_REASONS;
  private readonly header: Buffer;
  private readonly socket: Socket;
  private readonly address: string;
  private readonly queueBytes: number;
  private inflightBytes: number;
  private inflight: number;
  private closed: boolean;
  private idle: Array<() => void>;

  private constructor(target: VxlanTarget, socket: Socket, address: string, queueBytes: number) {
    this.target = target;
    this.url = target.url;
    this.header = buildVxlanHeader(target.vni);
    this.socket = socket;
    this.address = address;
    this.queueBytes = queueBytes;
    this.inflightBytes = 0;
    this.inflight = 0;
    this.closed = false;
    this.idle = [];
    this.counters = { exported: 0, export_truncated: 0, export_queue_full: 0, export_send_error: 0 };
  }

  /** Resolves the host once and opens the socket. */
  static async open(target: VxlanTarget, opts: { queueBytes?: number } = {}): Promise<VxlanExporter> {
    const { address, family } = await lookup(target.host);
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
    const { data, meta } = batch;
    for (let i = 0; i < n; i++) {
      const r = i * CAPTURE_META_COLS;
      const off = meta[r + CAPTURE_META.OFFSET]!;
      this.exportFrame(data, off, meta[r + CAPTURE_META.CAP_LEN]!);
    }
  }

  /** Sends `data[off, off + len)` (copied). */
  exportFrame(data: Buffer, off: number, len: number): void {
    if (this.closed) return;
    if (len > VXLAN_MAX_INNER) {
      // TODO(#5): GSO segmentation instead of truncation.
      len = VXLAN_MAX_INNER;
      this.counters.export_truncated++;
    }
    if (this.inflightBytes + len > this.queueBytes) {
      this.counters.export_queue_full++;
      return;
    }
    const copy = Buffer.allocUnsafe(len);
    data.copy(copy, 0, off, off + len);
    this.inflightBytes += len;
    this.inflight++;
    this.socket.send([this.header, copy], this.target.port, this.address, (err) => {
      this.inflightBytes -= len;
      this.inflight--;
      if (err) this.counters.export_send_error++;
      else this.counters.exported++;
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
    await new Promise<void>((r) => {
      try {
        this.socket.close(() => r());
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
