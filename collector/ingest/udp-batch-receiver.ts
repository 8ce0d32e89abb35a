/**
 * A UDP listener for the ingests that delivers datagrams in batches: with the native addon,
 * a receive thread reading with recvmmsg (native UdpBatchSocket: one JS call per batch,
 * the kernel's receive timestamp per datagram, the kernel's drop count for the socket);
 * without it, node:dgram, one 1-row batch per 'message' event, timestamped with the
 * collector's ReceiveClock. Either way the consumer sees the same rows:
 *
 *   meta row i (UDP_RECV_META): [offset, len, family, srcAddr, srcPort, tsSec, tsNsec]
 *   datagram i = batch.data.subarray(offset, offset + len)
 *   sender text = receiver.senderAddress(batch, i)   (cached; no string per datagram)
 *
 * Kernel drops (datagrams that found the socket's receive buffer full) are read with
 * kernelDrops(): SO_MEMINFO on the native socket, /proc/net/udp{,6} for node:dgram
 * (kernel-drops.ts); poll it with a KernelDropPoller.
 *
 * The batch and its data are valid during the onBatch call only (the native slots are
 * reused; a sink copies what it keeps).
 *
 * The native addon is imported lazily, on open(), and only used when it loads
 * (nativeAvailable()): a collector on a machine without libpcap still starts, on node:dgram.
 * Bind failures reject as node:dgram's do (an Error with `syscall: 'bind'` and `code`
 * EADDRINUSE / EADDRNOTAVAIL / EACCES), whichever path is used.
 */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { constants as osConstants } from 'node:os';

import type { UdpBatchSocket, UdpBatchSocketOptions } from '../../native/index.js';
import type { ReceiveClock } from '../clock.js';
import { UdpSocketDrops } from './kernel-drops.js';

/** Columns of a batch row; the same values as native UDP_RECV_META (kept here so the
 * node:dgram path does not load the native module). */
export const DATAGRAM_META = {
  OFFSET: 0,
  LEN: 1,
  /** 4 or 6 (IPv4 senders to a dual-stack '::' socket are 6, v4-mapped, as node:dgram reports them). */
  FAMILY: 2,
  /** IPv4 sender as a host-order uint32; 0 for IPv6. */
  SRC_ADDR: 3,
  SRC_PORT: 4,
  TS_SEC: 5,
  TS_NSEC: 6,
} as const;
export const DATAGRAM_META_COLS = 7;

/** One batch of datagrams (valid during the onBatch call only). */
export interface DatagramBatch {
  readonly count: number;
  readonly data: Buffer;
  /** `count` rows of DATAGRAM_META_COLS values. */
  readonly meta: Float64Array;
  /** IPv6 senders: 16 bytes per row (row i at i * 16); unused for IPv4 rows. */
  readonly addr: Buffer;
}

/** Called once per batch, with the receiver (for senderAddress). */
export type DatagramBatchHandler = (batch: DatagramBatch, receiver: UdpBatchReceiver) => void;

/** Default SO_RCVBUF asked for: the native path uses SO_RCVBUFFORCE as root, so it gets it. */
export const UDP_RECEIVER_DEFAULT_RECV_BUFFER_BYTES = 8 * 1024 * 1024;
/** IPv4 sender strings kept (hostile senders may spray addresses; past this, made per call). */
const MAX_CACHED_SENDERS = 4096;

export interface UdpBatchReceiverOptions {
  /** Address to bind: IPv4 or IPv6 ('0.0.0.0', '::', '127.0.0.1'). */
  host: string;
  /** UDP port; 0 picks a free one (see `port` after open). */
  port: number;
  onBatch: DatagramBatchHandler;
  /** Timestamps for the node:dgram path (the native path uses the kernel's). */
  clock: ReceiveClock;
  /** SO_RCVBUF asked for; default UDP_RECEIVER_DEFAULT_RECV_BUFFER_BYTES. */
  recvBufferBytes?: number;
  /** false: always node:dgram; true: the native socket or a rejection; default: native when it loads. */
  native?: boolean;
  /** Native only: bytes and rows per receive slot (two slots). */
  batchBytes?: number;
  batchRows?: number;
  /** Native only: open the socket in this network namespace. */
  netns?: string;
}

export interface UdpBatchReceiverStats {
  /** Datagrams handed to onBatch. */
  delivered: number;
  batches: number;
  /** Datagrams the kernel dropped on the socket (receive buffer full); undefined when it cannot be read. */
  kernelDrops: number | undefined;
  /** Datagrams longer than the native maxDatagram, cut (never with the default). */
  truncated: number;
}

const ERRNO_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(osConstants.errno).map(([k, v]) => [v, k]));

/** node:dgram's shape for a bind failure, so callers handle both paths alike. */
function bindError(errno: number, host: string, port: number, message: string): NodeJS.ErrnoException {
  const code = ERRNO_NAMES.get(errno) ?? 'EINVAL';
  const e: NodeJS.ErrnoException = new Error(`bind ${code} ${host}:${port} (${message})`);
  e.code = code;
  e.errno = -errno;
  e.syscall = 'bind';
  return e;
}

function hex16(n: number): string {
  return n.toString(16);
}

/** An IPv6 address as text, the way node:dgram (libuv's inet_ntop) writes it. */
export function ipv6Text(b: Buffer, off: number): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push(b.readUInt16BE(off + i * 2));
  // The longest run of two or more zero words (the first of equals) becomes "::" (RFC 5952 §4.2).
  let bestBase = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestBase = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestBase = -1;
  // Embedded IPv4: v4-mapped (::ffff:a.b.c.d) and the old v4-compatible form (::a.b.c.d).
  if (bestBase === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff))) {
    const v4 = `${b.readUInt8(off + 12)}.${b.readUInt8(off + 13)}.${b.readUInt8(off + 14)}.${b.readUInt8(off + 15)}`;
    return bestLen === 5 ? `::ffff:${v4}` : `::${v4}`;
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestBase) {
      out += '::';
      i += bestLen - 1;
      continue;
    }
    if (out !== '' && !out.endsWith(':')) out += ':';
    out += hex16(w[i]!);
  }
  return out;
}

export class UdpBatchReceiver {
  readonly host: string;
  /** The bound port. */
  port: number;
  /** 'native' (recvmmsg thread, kernel timestamps and drop count) or 'dgram' (node:dgram). */
  readonly mode: 'native' | 'dgram';
  /** The receive buffer the kernel granted (SO_RCVBUF as read back), when known. */
  recvBufferBytes: number;
  /** The last socket or receive error after bind, or undefined. */
  lastError: Error | undefined;
  private readonly onBatch: DatagramBatchHandler;
  private native: UdpBatchSocket | undefined;
  private socket: dgram.Socket | undefined;
  private procDrops: UdpSocketDrops | undefined;
  private readonly v4Names: Map<number, string>;
  private lastV6: Buffer;
  private lastV6Text: string;
  private dgramAddress: string;
  private delivered: number;
  private batches: number;
  private closed: boolean;

  private constructor(opts: UdpBatchReceiverOptions, mode: 'native' | 'dgram') {
    this.host = opts.host;
    this.port = opts.port;
    this.mode = mode;
    this.recvBufferBytes = 0;
    this.lastError = undefined;
    this.onBatch = opts.onBatch;
    this.native = undefined;
    this.socket = undefined;
    this.procDrops = undefined;
    this.v4Names = new Map();
    this.lastV6 = Buffer.alloc(16);
    this.lastV6Text = '::';
    this.dgramAddress = '';
    this.delivered = 0;
    this.batches = 0;
    this.closed = false;
  }

  /** Binds and starts receiving. Rejects with a bind error shaped like node:dgram's. */
  static async open(opts: UdpBatchReceiverOptions): Promise<UdpBatchReceiver> {
    let useNative = opts.native === true;
    let nativeMod: typeof import('../../native/index.js') | undefined;
    if (opts.native !== false) {
      nativeMod = await import('../../native/index.js');
      if (!nativeMod.nativeAvailable()) {
        if (opts.native === true) nativeMod.libpcapVersion(); // throws the NATIVE_LOAD error
        nativeMod = undefined;
      }
      useNative = nativeMod !== undefined;
    }
    if (useNative && nativeMod !== undefined) return UdpBatchReceiver.openNative(opts, nativeMod);
    return UdpBatchReceiver.openDgram(opts);
  }

  private static openNative(opts: UdpBatchReceiverOptions, mod: typeof import('../../native/index.js')): UdpBatchReceiver {
    const r = new UdpBatchReceiver(opts, 'native');
    const sockOpts: UdpBatchSocketOptions = {
      bindAddress: opts.host,
      bindPort: opts.port,
      rcvBufBytes: opts.recvBufferBytes ?? UDP_RECEIVER_DEFAULT_RECV_BUFFER_BYTES,
    };
    if (opts.batchBytes !== undefined) sockOpts.batchBytes = opts.batchBytes;
    if (opts.batchRows !== undefined) sockOpts.batchRows = opts.batchRows;
    if (opts.netns !== undefined) sockOpts.netns = opts.netns;
    let sock: UdpBatchSocket;
    try {
      sock = mod.UdpBatchSocket.open(sockOpts);
    } catch (e) {
      if (mod.isCaptureError(e) && e.code === mod.NATIVE_ERR.UDP_BIND) {
        throw bindError(Number(e.details['errno'] ?? 0), opts.host, opts.port, e.message);
      }
      throw e;
    }
    r.native = sock;
    r.port = sock.localPort;
    r.recvBufferBytes = sock.rcvBufBytes;
    sock.onError((e) => {
      r.lastError = e;
    });
    sock.onBatch((b) => {
      r.delivered += b.count;
      r.batches++;
      r.onBatch(b, r);
    });
    sock.start();
    return r;
  }

  private static openDgram(opts: UdpBatchReceiverOptions): Promise<UdpBatchReceiver> {
    const r = new UdpBatchReceiver(opts, 'dgram');
    const socket = dgram.createSocket({ type: isIPv6(opts.host) ? 'udp6' : 'udp4', reuseAddr: false });
    r.socket = socket;
    const meta = new Float64Array(DATAGRAM_META_COLS);
    const batch = { count: 1, data: Buffer.alloc(0), meta, addr: Buffer.alloc(16) };
    const ts = { tsSec: 0, tsNsec: 0 };
    const clock = opts.clock;
    return new Promise((resolve, reject) => {
      const onBindError = (e: Error): void => {
        socket.close();
        reject(e);
      };
      socket.once('error', onBindError);
      socket.bind({ address: opts.host, port: opts.port, exclusive: true }, () => {
        socket.off('error', onBindError);
        socket.on('error', (e) => {
          r.lastError = e;
        });
        try {
          socket.setRecvBufferSize(opts.recvBufferBytes ?? UDP_RECEIVER_DEFAULT_RECV_BUFFER_BYTES);
        } catch {
          // Capped or refused: the kernel default still works, bursts may drop in the kernel.
        }
        try {
          r.recvBufferBytes = socket.getRecvBufferSize();
        } catch {
          r.recvBufferBytes = 0;
        }
        const bound = socket.address();
        r.port = bound.port;
        r.procDrops = new UdpSocketDrops(bound.address, bound.port);
        socket.on('message', (msg, rinfo) => {
          clock.now(ts);
          batch.data = msg;
          meta[DATAGRAM_META.OFFSET] = 0;
          meta[DATAGRAM_META.LEN] = msg.length;
          meta[DATAGRAM_META.FAMILY] = rinfo.family === 'IPv6' ? 6 : 4;
          meta[DATAGRAM_META.SRC_ADDR] = 0;
          meta[DATAGRAM_META.SRC_PORT] = rinfo.port;
          meta[DATAGRAM_META.TS_SEC] = ts.tsSec;
          meta[DATAGRAM_META.TS_NSEC] = ts.tsNsec;
          r.dgramAddress = rinfo.address;
          r.delivered++;
          r.batches++;
          r.onBatch(batch, r);
        });
        resolve(r);
      });
    });
  }

  /**
   * The sender of row `i` of `batch` as text ("10.0.0.5", "::ffff:10.0.0.5", "fd00::1"), as
   * node:dgram would give it. The same sender gives the same string object: no allocation
   * once it has been seen (up to 4096 IPv4 senders; IPv6: the last one).
   */
  senderAddress(batch: DatagramBatch, i: number): string {
    if (this.mode === 'dgram') return this.dgramAddress;
    const r = i * DATAGRAM_META_COLS;
    if (batch.meta[r + DATAGRAM_META.FAMILY] === 4) {
      const a = batch.meta[r + DATAGRAM_META.SRC_ADDR]!;
      let s = this.v4Names.get(a);
      if (s === undefined) {
        s = `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
        if (this.v4Names.size < MAX_CACHED_SENDERS) this.v4Names.set(a, s);
      }
      return s;
    }
    const off = i * 16;
    if (batch.addr.compare(this.lastV6, 0, 16, off, off + 16) !== 0) {
      batch.addr.copy(this.lastV6, 0, off, off + 16);
      this.lastV6Text = ipv6Text(this.lastV6, 0);
    }
    return this.lastV6Text;
  }

  /**
   * The kernel's drop count for this socket since it was opened, or -1 when it cannot be
   * read (node:dgram: no /proc/net/udp row). A syscall (native) or a /proc read (node:dgram):
   * poll it, not per datagram. After close(), the native value at close.
   */
  kernelDrops(): number {
    if (this.native !== undefined) return this.native.stats().kernelDrops;
    return this.procDrops?.read() ?? -1;
  }

  stats(): UdpBatchReceiverStats {
    const n = this.native?.stats();
    const drops = n !== undefined ? n.kernelDrops : this.kernelDrops();
    return {
      delivered: this.delivered,
      batches: this.batches,
      kernelDrops: drops >= 0 ? drops : undefined,
      truncated: n !== undefined ? n.truncated : 0,
    };
  }

  /** Stops receiving; no batch is delivered once this is called. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.native !== undefined) {
      await this.native.close();
      return;
    }
    const s = this.socket;
    if (s === undefined) return;
    s.removeAllListeners('message');
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
