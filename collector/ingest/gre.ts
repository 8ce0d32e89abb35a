/**
 * GRE and ERSPAN ingest: a raw IPv4 socket for IP protocol 47 (native RawIpSocket), one JS
 * call per batch of packets, each an IPv4 packet with its header and a kernel receive
 * timestamp (nanoseconds). Senders: podspan agents (gre://, erspan://), Linux gretap and
 * erspan devices, tc mirred onto them, and switches (Cisco/Arista ERSPAN).
 *
 * Accepted (RFC 2784 / RFC 2890 GRE version 0, optional checksum, key, sequence number):
 * - protocol type 0x6558, transparent Ethernet bridging: the Ethernet frame follows;
 *   source id = the GRE key when present;
 * - 0x88be without the S bit: ERSPAN type I, the frame follows the GRE header;
 * - 0x88be with the S bit: ERSPAN type II, 8-byte header (Ver = 1), id = session;
 * - 0x22eb: ERSPAN type III, 12-byte header (Ver = 2) plus 8 bytes when O is set; only
 *   frame type (FT) 0, Ethernet. The header's 32-bit timestamp and its granularity (Gra)
 *   are kept as frame metadata (see IngestFrame.erspanTimestamp): Gra 0 counts 100 µs
 *   units (Linux's erspan driver always sends 0), 1 counts 100 ns, 2 is IEEE 1588
 *   nanoseconds (seconds in the platform subheader), 3 is platform-defined.
 * Header layouts: packet/wire/gre.ts, packet/wire/erspan.ts (draft-foschiano-erspan-03).
 *
 * Everything else is counted under a drop reason and the socket keeps reading. Packets the
 * kernel dropped because the socket's receive buffer was full are counted too
 * (`kernel_socket_drops`, SO_MEMINFO; see kernel-drops.ts). The kernel
 * defragments before raw delivery, so a packet here is always whole.
 */
import type { RawIpBatch, RawIpSocket, RawIpSocketOptions } from '../../native/index.js';
import { ETHERNET_HEADER_LEN, ETHERNET_OFF, ETHERTYPE, ETHERTYPE_MIN } from '../../packet/wire/ethernet.js';
import { internetChecksum } from '../../packet/wire/checksum.js';
import {
  ERSPAN_FT,
  ERSPAN_II_HEADER_LEN,
  ERSPAN_III_FLAG_O,
  ERSPAN_III_HEADER_LEN,
  ERSPAN_III_PLATFORM_LEN,
  ERSPAN_OFF,
  ERSPAN_SESSION_MASK,
  ERSPAN_VERSION,
} from '../../packet/wire/erspan.js';
import { GRE_BASE_HEADER_LEN, GRE_FLAG, GRE_OFF, greFixedHeaderLen } from '../../packet/wire/gre.js';
import { IPV4_MIN_HEADER_LEN, IPV4_OFF } from '../../packet/wire/ipv4.js';
import type { Stage } from '../metrics.js';
import { IngestFrame, type FrameHandler } from './frame.js';
import { KernelDropPoller } from './kernel-drops.js';
import { SOURCE_KIND, type SourceTable } from './source.js';

const IEEE8023_MAX_LENGTH = 1500;

/** Why a GRE packet was dropped. */
export const GRE_DROP_REASONS = [
  /** IPv4 header impossible (version, IHL, total length vs bytes received). */
  'bad_ip_header',
  /** The GRE header, its optional fields or the ERSPAN header run past the packet. */
  'short',
  /** C bit set and the GRE checksum (RFC 2784 §2.5) does not verify. */
  'bad_checksum',
  /** GRE version other than 0 (PPTP's version 1), or RFC 1701 routing present. */
  'unsupported_header',
  /** A protocol type that carries no Ethernet frame (e.g. 0x0800, plain IP over GRE). */
  'unsupported_protocol',
  /** ERSPAN header Ver field not 1 (type II) or 2 (type III). */
  'bad_erspan_version',
  /** ERSPAN type III frame type other than Ethernet, or a type/length field of 1501..1535. */
  'not_ethernet',
  /** Less than an Ethernet header after the tunnel headers. */
  'short_frame',
  /** A new (sender, type, id) past the source table's cap. */
  'too_many_sources',
  /** An exception while handling the packet: a bug, counted and survived. */
  'decoder_bug',
  /** Dropped by the kernel before the collector read it: the raw socket's receive buffer was full. */
  'kernel_socket_drops',
] as const;
export type GreDropReason = (typeof GRE_DROP_REASONS)[number];

/**
 * Default kernel receive buffer asked for, as the VXLAN listener does: the kernel default
 * (net.core.rmem_default, ~208 KiB) holds well under a hundred packets on loopback and
 * overflows in ordinary bursts.
 */
export const GRE_DEFAULT_RECV_BUFFER_BYTES = 8 * 1024 * 1024;

export interface GreListenerOptions {
  sources: SourceTable;
  stage: Stage<GreDropReason>;
  onFrame: FrameHandler;
  /** Receive only packets addressed to this local IPv4 address. */
  bindAddress?: string;
  /** Open the socket in this network namespace (a name under /var/run/netns or a path). */
  netns?: string;
  /** Kernel receive buffer (SO_RCVBUFFORCE, else SO_RCVBUF capped at net.core.rmem_max); default GRE_DEFAULT_RECV_BUFFER_BYTES. */
  recvBufferBytes?: number;
}

/**
 * Parses GRE/ERSPAN packets into IngestFrames. No I/O: `GreListener` feeds it from the
 * raw socket, tests feed it directly. Does not allocate per packet once sources exist.
 */
export class GreDecoder {
  private readonly opts: Pick<GreListenerOptions, 'sources' | 'stage' | 'onFrame'>;
  private readonly frame: IngestFrame;
  /** The last exception counted as `decoder_bug`, for the summary. */
  lastBug: unknown;

  constructor(opts: Pick<GreListenerOptions, 'sources' | 'stage' | 'onFrame'>) {
    this.opts = opts;
    this.frame = new IngestFrame();
    this.lastBug = undefined;
  }

  /** Handles every packet of a raw-socket batch (rows `[offset, len, srcAddr, tsSec, tsNsec]`). */
  handleBatch(batch: RawIpBatch): void {
    const { data, meta, count } = batch;
    for (let i = 0; i < count; i++) {
      const r = i * 5;
      this.handleSafe(data, meta[r]!, meta[r + 1]!, meta[r + 2]!, meta[r + 3]!, meta[r + 4]!);
    }
  }

  /** handlePacket, with an exception counted as `decoder_bug` (once per packet) and survived. */
  handleSafe(buf: Buffer, off: number, len: number, srcAddr: number, tsSec: number, tsNsec: number): void {
    const stage = this.opts.stage;
    try {
      this.handlePacket(buf, off, len, srcAddr, tsSec, tsNsec);
    } catch (e) {
      this.lastBug = e;
      if (!stage.balanced()) stage.drop('decoder_bug');
    }
  }

  /**
   * One IPv4 packet (header included) at buf[off, off + len) from `srcAddr` (host-order
   * uint32), received at (tsSec, tsNsec). Lengths are checked before every read.
   */
  handlePacket(buf: Buffer, off: number, len: number, srcAddr: number, tsSec: number, tsNsec: number): void {
    const { stage } = this.opts;
    stage.received++;
    if (len < IPV4_MIN_HEADER_LEN || off + len > buf.length) {
      stage.drop('bad_ip_header');
      return;
    }
    const vihl = buf.readUInt8(off + IPV4_OFF.VER_IHL);
    const ihl = (vihl & 0x0f) * 4;
    const totalLen = buf.readUInt16BE(off + IPV4_OFF.TOTAL_LEN);
    // Total length 0 is legal under TSO on the sending host only; a received packet has it set.
    if (vihl >>> 4 !== 4 || ihl < IPV4_MIN_HEADER_LEN || ihl > len || totalLen < ihl || totalLen > len) {
      stage.drop('bad_ip_header');
      return;
    }
    const end = off + totalLen;
    const g = off + ihl;
    if (end - g < GRE_BASE_HEADER_LEN) {
      stage.drop('short');
      return;
    }
    const flags = buf.readUInt16BE(g + GRE_OFF.FLAGS_VER);
    if ((flags & GRE_FLAG.VERSION_MASK) !== 0 || (flags & GRE_FLAG.ROUTING) !== 0) {
      stage.drop('unsupported_header');
      return;
    }
    const greLen = greFixedHeaderLen(flags);
    if (end - g < greLen) {
      stage.drop('short');
      return;
    }
    // C bit, RFC 2784 §2.5: the checksum covers the GRE header and payload.
    if ((flags & GRE_FLAG.CHECKSUM) !== 0 && internetChecksum(buf, g, end - g) !== 0) {
      stage.drop('bad_checksum');
      return;
    }
    const protocol = buf.readUInt16BE(g + GRE_OFF.PROTOCOL);
    let p = g + greLen;
    let kind: (typeof SOURCE_KIND)[keyof typeof SOURCE_KIND];
    let id = 0;
    let hasId = false;
    let version = 0;
    const f = this.frame;
    f.erspanTimestamp = -1;
    f.erspanGra = -1;
    if (protocol === ETHERTYPE.TEB) {
      kind = SOURCE_KIND.GRE;
      if ((flags & GRE_FLAG.KEY) !== 0) {
        // Key follows the checksum word when C is set (RFC 2890 §2).
        id = buf.readUInt32BE(g + GRE_OFF.OPTIONAL + ((flags & GRE_FLAG.CHECKSUM) !== 0 ? 4 : 0));
        hasId = true;
      }
    } else if (protocol === ETHERTYPE.ERSPAN_II) {
      kind = SOURCE_KIND.ERSPAN;
      if ((flags & GRE_FLAG.SEQ) === 0) {
        // Type I: no sequence number, no ERSPAN header (draft-foschiano-erspan-03 §4.1).
        version = 1;
      } else {
        if (end - p < ERSPAN_II_HEADER_LEN) {
          stage.drop('short');
          return;
        }
        if (buf.readUInt8(p + ERSPAN_OFF.VER_VLAN) >>> 4 !== ERSPAN_VERSION.II) {
          stage.drop('bad_erspan_version');
          return;
        }
        version = 2;
        id = buf.readUInt16BE(p + ERSPAN_OFF.COS_SESSION) & ERSPAN_SESSION_MASK;
        hasId = true;
        p += ERSPAN_II_HEADER_LEN;
      }
    } else if (protocol === ETHERTYPE.ERSPAN_III) {
      kind = SOURCE_KIND.ERSPAN;
      if (end - p < ERSPAN_III_HEADER_LEN) {
        stage.drop('short');
        return;
      }
      if (buf.readUInt8(p + ERSPAN_OFF.VER_VLAN) >>> 4 !== ERSPAN_VERSION.III) {
        stage.drop('bad_erspan_version');
        return;
      }
      const ff = buf.readUInt16BE(p + ERSPAN_OFF.III_FLAGS);
      const hlen = ERSPAN_III_HEADER_LEN + ((ff & ERSPAN_III_FLAG_O) !== 0 ? ERSPAN_III_PLATFORM_LEN : 0);
      if (end - p < hlen) {
        stage.drop('short');
        return;
      }
      if (((ff >>> 10) & 0x1f) !== ERSPAN_FT.ETHERNET) {
        stage.drop('not_ethernet');
        return;
      }
      version = 3;
      id = buf.readUInt16BE(p + ERSPAN_OFF.COS_SESSION) & ERSPAN_SESSION_MASK;
      hasId = true;
      f.erspanTimestamp = buf.readUInt32BE(p + ERSPAN_OFF.III_TIMESTAMP);
      f.erspanGra = (ff >>> 1) & 3;
      p += hlen;
    } else {
      stage.drop('unsupported_protocol');
      return;
    }
    if (end - p < ETHERNET_HEADER_LEN) {
      stage.drop('short_frame');
      return;
    }
    const typeLen = buf.readUInt16BE(p + ETHERNET_OFF.ETHER_TYPE);
    if (typeLen > IEEE8023_MAX_LENGTH && typeLen < ETHERTYPE_MIN) {
      stage.drop('not_ethernet');
      return;
    }
    const source = this.opts.sources.greSource(srcAddr >>> 0, kind, id, hasId, version);
    if (source === undefined) {
      stage.drop('too_many_sources');
      return;
    }
    f.data = buf.subarray(p, end);
    f.tsSec = tsSec;
    f.tsNsec = tsNsec;
    f.source = source;
    source.frames++;
    stage.delivered++;
    stage.deliveredBytes += end - p;
    this.opts.onFrame(f as IngestFrame & { source: typeof source });
  }
}

/** The raw socket and its decoder. The native addon is loaded on open(), never before. */
export class GreListener {
  readonly decoder: GreDecoder;
  private readonly socket: RawIpSocket;
  private readonly kernelDrops: KernelDropPoller;
  private closed: boolean;

  private constructor(socket: RawIpSocket, decoder: GreDecoder, stage: Stage<GreDropReason>) {
    this.socket = socket;
    this.decoder = decoder;
    this.kernelDrops = new KernelDropPoller(() => socket.drops, stage).start();
    this.closed = false;
  }

  /**
   * Opens the raw socket (needs CAP_NET_RAW) and starts receiving. Throws the native
   * CaptureError (RAW_SOCKET, NETNS, NATIVE_LOAD) when it cannot.
   */
  static async open(opts: GreListenerOptions): Promise<GreListener> {
    const native = await import('../../native/index.js');
    const sockOpts: RawIpSocketOptions = {};
    if (opts.bindAddress !== undefined) sockOpts.bindAddress = opts.bindAddress;
    if (opts.netns !== undefined) sockOpts.netns = opts.netns;
    sockOpts.recvBufferBytes = opts.recvBufferBytes ?? GRE_DEFAULT_RECV_BUFFER_BYTES;
    const socket = native.RawIpSocket.open(native.IP_PROTO.GRE, sockOpts);
    const decoder = new GreDecoder(opts);
    const l = new GreListener(socket, decoder, opts.stage);
    socket.onMessages((batch) => decoder.handleBatch(batch));
    return l;
  }

  /** Reads the kernel's drop counter now (the timer does it every second). */
  pollKernelDrops(): void {
    this.kernelDrops.poll();
  }

  /** Stops receiving and closes the socket; no frame is delivered afterwards. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.kernelDrops.stop();
    this.socket.close();
  }
}
