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
 * Timestamps: node:dgram gives none, so frames carry the collector's receive time from a
 * ReceiveClock (nanosecond resolution, wall-clock anchored at start).
 *
 * node:dgram delivers one event per datagram (no recvmmsg batching is exposed); the handler
 * does not allocate beyond the Buffer and rinfo node:dgram makes for each datagram.
 */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';

import { ETHERNET_HEADER_LEN, ETHERNET_OFF, ETHERTYPE_MIN } from '../../packet/wire/ethernet.js';
import { VXLAN_FLAG_I, VXLAN_HEADER_LEN, VXLAN_OFF } from '../../packet/wire/vxlan.js';
import type { ReceiveClock } from '../clock.js';
import type { Stage } from '../metrics.js';
import { IngestFrame, type FrameHandler } from './frame.js';
import type { SourceTable } from './source.js';

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

  /** Validates one datagram from `from` (the sender's address) and delivers its inner frame. */
  handle(msg: Buffer, from: string): void {
    const { stage, clock } = this.opts;
    const f = this.frame;
    clock.now(f);
    stage.received++;
    const len = msg.length;
    if (len < VXLAN_HEADER_LEN) {
      stage.drop('short');
      return;
    }
    // I flag, RFC 7348 §5; the other flag and reserved bits are ignored on receipt.
    if ((msg.readUInt8(VXLAN_OFF.FLAGS) & VXLAN_FLAG_I) === 0) {
      stage.drop('bad_header');
      return;
    }
    if (len - VXLAN_HEADER_LEN < ETHERNET_HEADER_LEN) {
      stage.drop('short_frame');
      return;
    }
    const typeLen = msg.readUInt16BE(VXLAN_HEADER_LEN + ETHERNET_OFF.ETHER_TYPE);
    if (typeLen > IEEE8023_MAX_LENGTH && typeLen < ETHERTYPE_MIN) {
      stage.drop('not_ethernet');
      return;
    }
    const vni = msg.readUInt32BE(VXLAN_OFF.VNI) >>> 8;
    const source = this.opts.sources.vxlanSource(from, vni);
    if (source === undefined) {
      stage.drop('too_many_sources');
      return;
    }
    f.data = msg.subarray(VXLAN_HEADER_LEN);
    f.source = source;
    source.frames++;
    stage.delivered++;
    stage.deliveredBytes += len - VXLAN_HEADER_LEN;
    this.opts.onFrame(f as IngestFrame & { source: typeof source });
  }
}

/** A bound UDP socket and its decoder. */
export class VxlanListener {
  readonly host: string;
  /** The bound port. */
  port: number;
  /** The last socket error after bind (node:dgram reports few), or undefined. */
  lastError: Error | undefined;
  readonly decoder: VxlanDecoder;
  private readonly socket: dgram.Socket;
  private closed: boolean;

  private constructor(socket: dgram.Socket, opts: VxlanListenerOptions) {
    this.socket = socket;
    this.host = opts.host;
    this.port = opts.port;
    this.lastError = undefined;
    this.decoder = new VxlanDecoder(opts);
    this.closed = false;
  }

  /** Binds and starts receiving. Rejects with the bind error (EADDRINUSE, EADDRNOTAVAIL, EACCES). */
  static open(opts: VxlanListenerOptions): Promise<VxlanListener> {
    const socket = dgram.createSocket({ type: isIPv6(opts.host) ? 'udp6' : 'udp4', reuseAddr: false });
    const l = new VxlanListener(socket, opts);
    return new Promise((resolve, reject) => {
      const onBindError = (e: Error): void => {
        socket.close();
        reject(e);
      };
      socket.once('error', onBindError);
      socket.bind({ address: opts.host, port: opts.port, exclusive: true }, () => {
        socket.off('error', onBindError);
        socket.on('error', (e) => {
          l.lastError = e;
        });
        try {
          socket.setRecvBufferSize(opts.recvBufferBytes ?? VXLAN_DEFAULT_RECV_BUFFER_BYTES);
        } catch {
          // Capped or refused: the kernel default still works, bursts may drop in the kernel.
        }
        l.port = socket.address().port;
        const decoder = l.decoder;
        socket.on('message', (msg, rinfo) => decoder.handleSafe(msg, rinfo.address));
        resolve(l);
      });
    });
  }

  /** Stops receiving; no frame is delivered after the promise resolves. Idempotent. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.socket.removeAllListeners('message');
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
