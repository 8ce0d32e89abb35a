/**
 * VXLAN ingest (RFC 7348 §5): a UDP listener whose datagrams are an 8-byte VXLAN header and
 * an Ethernet frame. Senders: podspan agents (vxlan://), the Linux vxlan device, tc mirred
 * onto one, Open vSwitch, and AWS VPC Traffic Mirroring, which sends to UDP 4789 with the
 * VNI set to the mirror session's virtual network id (same layout; nothing special).
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |R|R|R|R|I|R|R|R|            Reserved                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                VXLAN Network Identifier (VNI) |   Reserved    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * Validation: the I flag must be set (RFC 7348 §5); reserved bits are ignored, as the RFC
 * says receivers must, and as Linux (GBP, "reserved_bits") and some appliances set them.
 * The payload must be at least an Ethernet header whose type/length field is a length
 * (≤ 1500) or an EtherType (≥ 0x0600).
 *
 * Receiving (udp-batch-receiver.ts): with the native addon, a recvmmsg thread hands over
 * batches (one JS call per batch) and every frame carries the kernel's receive timestamp
 * (SO_TIMESTAMPNS). Without it, node:dgram (one event per datagram) and the collector's
 * ReceiveClock (nanosecond resolution, wall-clock anchored at start).
 *
 * Datagrams the kernel dropped because the socket's receive buffer was full are counted
 * too (`kernel_socket_drops`: SO_MEMINFO on the native socket, /proc/net/udp{,6} for
 * node:dgram; see kernel-drops.ts).
 */

import { ETHERNET_HEADER_LEN, ETHERNET_OFF, ETHERTYPE_MIN } from '../../packet/wire/ethernet.js';
import { VXLAN_FLAG_I, VXLAN_HEADER_LEN, VXLAN_OFF } from '../../packet/wire/vxlan.js';
import type { ReceiveClock } from '../clock.js';
import type { Stage } from '../metrics.js';
import { IngestFrame, type FrameHandler } from './frame.js';
import { KernelDropPoller } from './kernel-drops.js';
import type { SourceTable } from './source.js';
import { DATAGRAM_META, DATAGRAM_META_COLS, UdpBatchReceiver, type DatagramBatch } from './udp-batch-receiver.js';

/** Largest 802.3 length field (IEEE 802.3 §3.2.6); 1501..1535 is neither length nor type. */
const IEEE8023_MAX_LENGTH = 1500;

/** Why a VXLAN datagram was dropped. */
export const VXLAN_DROP_REASONS = [
  /** Shorter than the 8-byte VXLAN header. */
  'short',
  /** I flag clear (RFC 7348 §5): not a VXLAN header we can trust. */
  'bad_header',
  /** Less than an Ethernet header after the VXLAN header. */
  'short_frame',
  /** The type/length field is 1501..1535: not an Ethernet frame. */
  'not_ethernet',
  /** A new (sender, VNI) past the source table's cap. */
  'too_many_sources',
  /** An exception while handling the datagram: a bug, counted and survived. */
  'decoder_bug',
  /** Dropped by the kernel before the collector read it: the socket's receive buffer was full. */
  'kernel_socket_drops',
] as const;
export type VxlanDropReason = (typeof VXLAN_DROP_REASONS)[number];

/** Default SO_RCVBUF asked for (the kernel caps it at net.core.rmem_max). */
export const VXLAN_DEFAULT_RECV_BUFFER_BYTES = 8 * 1024 * 1024;

export interface VxlanListenerOptions {
  /** Address to bind: an IPv4 or IPv6 address ('0.0.0.0', '::', '127.0.0.1'). */
  host: string;
  /** UDP port; 0 picks a free one (see `port` after open). */
  port: number;
  sources: SourceTable;
  /** The shared "vxlan" stage (all listeners count into it). */
  stage: Stage<VxlanDropReason>;
  clock: ReceiveClock;
  onFrame: FrameHandler;
  recvBufferBytes?: number;
  /** false: node:dgram even when the native addon loads (default: native when it loads). */
  native?: boolean;
}

/**
 * Validates VXLAN datagrams and delivers their inner frames. No I/O: `VxlanListener` feeds
 * it from a socket, tests feed it directly. Does not allocate once the source exists.
 */
export class VxlanDecoder {
  /** The last exception counted as `decoder_bug`. */
  lastBug: unknown;
  private readonly opts: Pick<VxlanListenerOptions, 'sources' | 'stage' | 'clock' | 'onFrame'>;
  private readonly frame: IngestFrame;

  constructor(opts: Pick<VxlanListenerOptions, 'sources' | 'stage' | 'clock' | 'onFrame'>) {
    this.opts = opts;
    this.frame = new IngestFrame();
    this.lastBug = undefined;
  }

  /** handle(), with an exception counted as `decoder_bug` (once per datagram) and survived. */
  handleSafe(msg: Buffer, from: string): void {
    try {
      this.handle(msg, from);
    } catch (e) {
      this.lastBug = e;
      if (!this.opts.stage.balanced()) this.opts.stage.drop('decoder_bug');
    }
  }

  /** Validates one datagram from `from` (the sender's address), received now, and delivers its inner frame. */
  handle(msg: Buffer, from: string): void {
    const f = this.frame;
    this.opts.clock.now(f);
    this.handleAt(msg, 0, msg.length, from, f.tsSec, f.tsNsec);
  }

  /**
   * Every datagram of a receive batch (rows DATAGRAM_META), each with its own receive time;
   * an exception is counted as `decoder_bug` once per datagram and the batch goes on.
   */
  handleBatch(batch: DatagramBatch, receiver: UdpBatchReceiver): void {
    const { data, meta, count } = batch;
    for (let i = 0; i < count; i++) {
      const r = i * DATAGRAM_META_COLS;
      try {
        this.handleAt(data, meta[r + DATAGRAM_META.OFFSET]!, meta[r + DATAGRAM_META.LEN]!, receiver.senderAddress(batch, i), meta[r + DATAGRAM_META.TS_SEC]!, meta[r + DATAGRAM_META.TS_NSEC]!);
      } catch (e) {
        this.lastBug = e;
        if (!this.opts.stage.balanced()) this.opts.stage.drop('decoder_bug');
      }
    }
  }

  /**
   * Validates the datagram buf[off, off + len) from `from`, received at (tsSec, tsNsec), and
   * delivers its inner frame (a view of `buf`). Lengths are checked before every read.
   */
  handleAt(buf: Buffer, off: number, len: number, from: string, tsSec: number, tsNsec: number): void {
    const { stage } = this.opts;
    const f = this.frame;
    f.tsSec = tsSec;
    f.tsNsec = tsNsec;
    stage.received++;
    if (len < VXLAN_HEADER_LEN || off + len > buf.length) {
      stage.drop('short');
      return;
    }
    // I flag, RFC 7348 §5; the other flag and reserved bits are ignored on receipt.
    if ((buf.readUInt8(off + VXLAN_OFF.FLAGS) & VXLAN_FLAG_I) === 0) {
      stage.drop('bad_header');
      return;
    }
    if (len - VXLAN_HEADER_LEN < ETHERNET_HEADER_LEN) {
      stage.drop('short_frame');
      return;
    }
    const typeLen = buf.readUInt16BE(off + VXLAN_HEADER_LEN + ETHERNET_OFF.ETHER_TYPE);
    if (typeLen > IEEE8023_MAX_LENGTH && typeLen < ETHERTYPE_MIN) {
      stage.drop('not_ethernet');
      return;
    }
    const vni = buf.readUInt32BE(off + VXLAN_OFF.VNI) >>> 8;
    const source = this.opts.sources.vxlanSource(from, vni);
    if (source === undefined) {
      stage.drop('too_many_sources');
      return;
    }
    f.data = buf.subarray(off + VXLAN_HEADER_LEN, off + len);
    f.source = source;
    source.frames++;
    stage.delivered++;
    stage.deliveredBytes += len - VXLAN_HEADER_LEN;
    this.opts.onFrame(f as IngestFrame & { source: typeof source });
  }
}

/** A bound UDP socket (native batch receiver, or node:dgram) and its decoder. */
export class VxlanListener {
  readonly host: string;
  /** The bound port. */
  port: number;
  readonly decoder: VxlanDecoder;
  private readonly receiver: UdpBatchReceiver;
  private readonly kernelDrops: KernelDropPoller;
  private closed: boolean;

  private constructor(receiver: UdpBatchReceiver, decoder: VxlanDecoder, opts: VxlanListenerOptions) {
    this.receiver = receiver;
    this.decoder = decoder;
    this.host = opts.host;
    this.port = receiver.port;
    this.kernelDrops = new KernelDropPoller(() => receiver.kernelDrops(), opts.stage).start();
    this.closed = false;
  }

  /** The last socket or receive error after bind, or undefined. */
  get lastError(): Error | undefined {
    return this.receiver.lastError;
  }

  /** 'native' (recvmmsg, kernel timestamps) or 'dgram' (node:dgram, the collector's clock). */
  get mode(): 'native' | 'dgram' {
    return this.receiver.mode;
  }

  /** Binds and starts receiving. Rejects with the bind error (EADDRINUSE, EADDRNOTAVAIL, EACCES; syscall 'bind'). */
  static async open(opts: VxlanListenerOptions): Promise<VxlanListener> {
    const decoder = new VxlanDecoder(opts);
    const recvOpts: Parameters<typeof UdpBatchReceiver.open>[0] = {
      host: opts.host,
      port: opts.port,
      clock: opts.clock,
      recvBufferBytes: opts.recvBufferBytes ?? VXLAN_DEFAULT_RECV_BUFFER_BYTES,
      onBatch: (b, receiver) => decoder.handleBatch(b, receiver),
    };
    if (opts.native !== undefined) recvOpts.native = opts.native;
    return new VxlanListener(await UdpBatchReceiver.open(recvOpts), decoder, opts);
  }

  /** Reads the kernel's drop counter now (the timer does it every second). */
  pollKernelDrops(): void {
    this.kernelDrops.poll();
  }

  /** Stops receiving; no frame is delivered after the promise resolves. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // The kernel's count is read while the socket (and its /proc row) still exists.
    this.kernelDrops.stop();
    await this.receiver.close();
  }
}
