/**
 * The native addon (native/src, built by `npm ci` through binding.gyp): batch libpcap
 * capture with nanosecond timestamps and kernel drop counters, and raw IPv4 sockets for
 * GRE/ERSPAN. This is the only file that loads the `.node`; it loads it lazily, on first
 * use, so importing this module never fails on a machine without libpcap.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { CaptureError, NATIVE_ERR, fromNative } from './errors.js';

export { CaptureError, NATIVE_ERR, isCaptureError } from './errors.js';
export type { NativeErrorCode } from './errors.js';

// ---------------------------------------------------------------------------------------
// Loading

interface NativeStats {
  received: number;
  dropped: number;
  ifDropped: number;
  ringFull: number;
  delivered: number;
  batches: number;
}

type NativeCallback = (kind: number, slot: number, count: number, err?: Error) => boolean | undefined;

interface NativeLiveCapture {
  start(dataA: Buffer, metaA: Float64Array, dataB: Buffer, metaB: Float64Array, cb: NativeCallback): void;
  release(slot: number): void;
  stats(): NativeStats;
  close(): Promise<void>;
  setRef(ref: boolean): void;
  readonly linkType: number;
  readonly linkTypeName: string;
  readonly nanoTimestamps: boolean;
  readonly snapLen: number;
  readonly warning: string;
}

interface NativeRawIpSocket {
  send(buffers: Buffer[], dst: string | number): boolean;
  startReceive(data: Buffer, meta: Float64Array, cb: (count: number) => void): void;
  stopReceive(): void;
  close(): void;
  readonly protocol: number;
}

interface NativeBinding {
  LiveCapture: new (opts: Record<string, unknown>) => NativeLiveCapture;
  RawIpSocket: new (protocol: number, opts: Record<string, unknown>) => NativeRawIpSocket;
  listDevices(opts: Record<string, unknown>): DeviceInfo[];
  libVersion(): string;
}

const ADDON_PATH = join('build', 'Release', 'podspan_native.node');

let binding: NativeBinding | undefined;
let loadError: CaptureError | undefined;

/** The repository root: the nearest directory above this file holding package.json. */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 32; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new CaptureError(NATIVE_ERR.NATIVE_LOAD, `cannot find the podspan root (package.json) above ${fileURLToPath(import.meta.url)}`);
}

function load(): NativeBinding {
  if (binding !== undefined) return binding;
  if (loadError !== undefined) throw loadError;
  let path = ADDON_PATH;
  try {
    path = join(findRoot(), ADDON_PATH);
    const require = createRequire(import.meta.url);
    binding = require(path) as NativeBinding;
    return binding;
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    loadError = new CaptureError(
      NATIVE_ERR.NATIVE_LOAD,
      `cannot load the native capture addon ${path}: ${why}. ` +
        'Run `npm ci` in the podspan directory (it builds the addon with node-gyp); ' +
        'the build needs libpcap-dev, g++ and make (`bash scripts/install-system-deps.sh` installs libpcap-dev).',
    );
    throw loadError;
  }
}

/** True when the addon loads; never throws. */
export function nativeAvailable(): boolean {
  try {
    load();
    return true;
  } catch {
    return false;
  }
}

/** libpcap's version string, e.g. "libpcap version 1.10.3 (with TPACKET_V3)". */
export function libpcapVersion(): string {
  return load().libVersion();
}

// ---------------------------------------------------------------------------------------
// Devices

export interface DeviceAddress {
  address: string;
  netmask: string;
}

export interface DeviceInfo {
  name: string;
  description: string;
  loopback: boolean;
  up: boolean;
  running: boolean;
  addresses: DeviceAddress[];
}

export interface ListDevicesOptions {
  /** Network namespace: a name under /var/run/netns or a path such as /proc/PID/ns/net. */
  netns?: string;
}

/** Interfaces libpcap can capture on (pcap_findalldevs), in the given namespace. */
export function listDevices(opts: ListDevicesOptions = {}): DeviceInfo[] {
  const native = load();
  try {
    return native.listDevices(opts.netns !== undefined ? { netns: opts.netns } : {});
  } catch (e) {
    throw fromNative(e);
  }
}

// ---------------------------------------------------------------------------------------
// Live capture

/** Columns of one row of `CaptureBatch.meta`. */
export const CAPTURE_META = {
  /** Byte offset of the frame in `data`. */
  OFFSET: 0,
  /** Bytes present in `data` (at most the snap length). */
  CAP_LEN: 1,
  /** Bytes the frame had on the wire. */
  WIRE_LEN: 2,
  /** Capture time, whole seconds since the epoch. */
  TS_SEC: 3,
  /** Capture time, nanoseconds within the second (0..999999999). */
  TS_NSEC: 4,
} as const;

/** Float64 values per row of `CaptureBatch.meta`. */
export const CAPTURE_META_COLS = 5;

export const DEFAULT_SNAP_LEN = 262144;
export const DEFAULT_KERNEL_BUFFER_BYTES = 8 * 1024 * 1024;
export const DEFAULT_TIMEOUT_MS = 100;
/** Data bytes per batch slot; two slots per capture. */
export const DEFAULT_BATCH_BYTES = 8 * 1024 * 1024;
/** Rows per batch slot; two slots per capture. */
export const DEFAULT_BATCH_ROWS = 32768;

export type CaptureDirection = 'inout' | 'in' | 'out';

export interface CaptureOptions {
  /** Interface name (`any` works too; its link type is LINUX_SLL2 or LINUX_SLL). */
  iface: string;
  /** Bytes kept per frame; default 262144. */
  snapLen?: number;
  /** Kernel ring size in bytes (pcap_set_buffer_size); default 8 MiB. */
  bufferSize?: number;
  /** BPF expression, compiled by pcap_compile; never passed to a shell. */
  filter?: string;
  /** Default false. */
  promisc?: boolean;
  /** Default 'inout'. */
  direction?: CaptureDirection;
  /** TPACKET_V3 block timeout: the longest a frame waits in a partly filled block; default 100. */
  timeoutMs?: number;
  /** Deliver frames as they arrive (libpcap then uses TPACKET_V2); default false. */
  immediate?: boolean;
  /** Open the interface in this network namespace (a name under /var/run/netns or a path). */
  netns?: string;
  /** Data bytes per batch slot (two slots); must be at least the snap length; default 8 MiB. */
  batchBytes?: number;
  /** Rows per batch slot (two slots); default 32768. */
  batchRows?: number;
}

/**
 * One batch of frames. `meta` holds `count` rows of CAPTURE_META_COLS float64 values:
 * `[offset, capLen, wireLen, tsSec, tsNsec]` (see CAPTURE_META); frame i is
 * `data.subarray(meta[i*5], meta[i*5] + meta[i*5+1])`. Rows past `count` are stale.
 *
 * Owned by the capture: the same two batch objects (one per slot) are reused, and data and
 * rows are valid until the onBatch callback returns, or, if it returns a promise, until that
 * promise settles. Copy what must outlive that.
 */
export interface CaptureBatch {
  readonly count: number;
  readonly data: Buffer;
  readonly meta: Float64Array;
  /** Which of the two slots this is (0 or 1). */
  readonly slot: number;
}

export interface CaptureStats {
  /** Frames the kernel passed to the socket (pcap_stats ps_recv, includes `dropped`; on
   * Linux counted before libpcap discards loopback's outgoing copies and frames of the
   * other direction). */
  received: number;
  /** Frames the kernel dropped because the ring was full (pcap_stats ps_drop). */
  dropped: number;
  /** Frames the interface dropped (pcap_stats ps_ifdrop; read from the host's sysfs, so
   * meaningless for an interface opened with `netns`). */
  ifDropped: number;
  /** Frames that found no room in the batch slot (should stay 0; never grows memory). */
  ringFull: number;
  /** Frames handed to onBatch. */
  delivered: number;
  /** Batches handed to onBatch. */
  batches: number;
}

export type BatchHandler = (batch: CaptureBatch) => void | Promise<unknown>;
export type CaptureErrorHandler = (err: CaptureError) => void;

interface MutableBatch {
  count: number;
  data: Buffer;
  meta: Float64Array;
  slot: number;
}

const KIND_BATCH = 1;
const KIND_ERROR = 2;

function positiveInt(name: string, v: number | undefined, def: number): number {
  if (v === undefined) return def;
  if (!Number.isInteger(v) || v <= 0) {
    throw new CaptureError(NATIVE_ERR.NATIVE_ARG, `${name} must be a positive integer, got ${String(v)}`);
  }
  return v;
}

function isPromiseLike(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * A live capture on one interface. Open, attach onBatch (and onError), start, close:
 *
 *   const cap = LiveCapture.open({ iface: 'veth1', filter: 'tcp port 80' });
 *   cap.onBatch((b) => { for (let i = 0; i < b.count; i++) { ... } });
 *   cap.start();
 *   ...
 *   await cap.close();   // no callback runs after this resolves
 *
 * One JS call per batch. A capture thread copies frames into two JS-owned slots; while JS
 * processes one, the thread fills the other; when that is full too, frames wait in the
 * kernel ring and the kernel drops and counts the excess (`stats().dropped`).
 */
export class LiveCapture {
  readonly iface: string;
  /** DLT_* link type (pcap_datalink), e.g. 1 for Ethernet. */
  readonly linkType: number;
  /** libpcap's name for it, e.g. "EN10MB". */
  readonly linkTypeName: string;
  /** False when the platform only gives microseconds (tsNsec is then a multiple of 1000). */
  readonly nanoTimestamps: boolean;
  /** Effective snap length (libpcap may lower what was asked). */
  readonly snapLen: number;
  /** pcap_activate's warning, if any (e.g. promiscuous mode not supported). */
  readonly warning: string | undefined;

  private readonly native: NativeLiveCapture;
  private readonly batches: [MutableBatch, MutableBatch];
  private batchHandler: BatchHandler | undefined;
  private errorHandler: CaptureErrorHandler | undefined;
  private started: boolean;
  private closing: Promise<void> | undefined;

  private constructor(native: NativeLiveCapture, iface: string, batchBytes: number, batchRows: number) {
    this.native = native;
    this.iface = iface;
    this.linkType = native.linkType;
    this.linkTypeName = native.linkTypeName;
    this.nanoTimestamps = native.nanoTimestamps;
    this.snapLen = native.snapLen;
    this.warning = native.warning === '' ? undefined : native.warning;
    const slot = (i: number): MutableBatch => ({
      count: 0,
      data: Buffer.allocUnsafeSlow(Math.max(batchBytes, native.snapLen)),
      meta: new Float64Array(batchRows * CAPTURE_META_COLS),
      slot: i,
    });
    this.batches = [slot(0), slot(1)];
    this.batchHandler = undefined;
    this.errorHandler = undefined;
    this.started = false;
    this.closing = undefined;
  }

  /**
   * Opens and activates the capture (not yet reading: call start()). Throws CaptureError
   * with CAPTURE_NO_SUCH_DEVICE, CAPTURE_PERM, CAPTURE_BAD_FILTER, CAPTURE_IFACE_DOWN,
   * CAPTURE_OPEN, NETNS or NATIVE_LOAD; the message carries libpcap's text.
   */
  static open(opts: CaptureOptions): LiveCapture {
    const native = load();
    const snapLen = positiveInt('snapLen', opts.snapLen, DEFAULT_SNAP_LEN);
    const batchBytes = positiveInt('batchBytes', opts.batchBytes, DEFAULT_BATCH_BYTES);
    const batchRows = positiveInt('batchRows', opts.batchRows, DEFAULT_BATCH_ROWS);
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 0) {
      throw new CaptureError(NATIVE_ERR.NATIVE_ARG, `timeoutMs must be a non-negative integer, got ${String(timeoutMs)}`);
    }
    const direction = opts.direction ?? 'inout';
    if (direction !== 'inout' && direction !== 'in' && direction !== 'out') {
      throw new CaptureError(NATIVE_ERR.NATIVE_ARG, `direction must be inout, in or out, got ${String(direction)}`);
    }
    const nativeOpts: Record<string, unknown> = {
      iface: opts.iface,
      snapLen,
      bufferSize: positiveInt('bufferSize', opts.bufferSize, DEFAULT_KERNEL_BUFFER_BYTES),
      filter: opts.filter ?? '',
      promisc: opts.promisc ?? false,
      direction,
      timeoutMs,
      immediate: opts.immediate ?? false,
    };
    if (opts.netns !== undefined) nativeOpts['netns'] = opts.netns;
    let handle: NativeLiveCapture;
    try {
      handle = new native.LiveCapture(nativeOpts);
    } catch (e) {
      throw fromNative(e);
    }
    return new LiveCapture(handle, opts.iface, batchBytes, batchRows);
  }

  /**
   * Sets the batch handler (one at a time). The batch is valid until the handler returns;
   * if it returns a promise, until the promise settles, and the capture keeps filling the
   * other slot meanwhile. A handler that throws releases the batch and the error surfaces
   * as an uncaught exception, as from an event listener.
   */
  onBatch(handler: BatchHandler): this {
    this.batchHandler = handler;
    return this;
  }

  /**
   * Run-time read errors (CAPTURE_READ: the interface went away). The capture has stopped
   * when this is called; close() still resolves. Without a handler the error is thrown as an
   * uncaught exception.
   */
  onError(handler: CaptureErrorHandler): this {
    this.errorHandler = handler;
    return this;
  }

  /** Starts the capture thread. Throws NATIVE_STATE when started twice or after close. */
  start(): void {
    if (this.batchHandler === undefined) {
      throw new CaptureError(NATIVE_ERR.NATIVE_STATE, 'LiveCapture.start(): call onBatch() first');
    }
    if (this.started || this.closing !== undefined) {
      throw new CaptureError(NATIVE_ERR.NATIVE_STATE, 'LiveCapture.start(): already started or closed');
    }
    this.started = true;
    const [a, b] = this.batches;
    try {
      this.native.start(a.data, a.meta, b.data, b.meta, (kind, slot, count, err) => this.dispatch(kind, slot, count, err));
    } catch (e) {
      throw fromNative(e);
    }
  }

  private dispatch(kind: number, slot: number, count: number, err: Error | undefined): boolean {
    if (kind === KIND_ERROR) {
      const e = fromNative(err);
      const ce = e instanceof CaptureError ? e : new CaptureError(NATIVE_ERR.CAPTURE_READ, String(e));
      if (this.errorHandler === undefined) throw ce; // reported as an uncaught exception
      this.errorHandler(ce);
      return false;
    }
    if (kind !== KIND_BATCH) return false;
    const batch = slot === 0 ? this.batches[0] : this.batches[1];
    batch.count = count;
    const handler = this.batchHandler;
    if (handler === undefined) return true;
    let result: void | Promise<unknown>;
    try {
      result = handler(batch);
    } catch (e) {
      this.native.release(slot);
      throw e;
    }
    if (!isPromiseLike(result)) return true; // the addon releases the slot
    const release = (): void => {
      if (this.closing === undefined) this.native.release(slot);
    };
    result.then(release, (e: unknown) => {
      release();
      queueMicrotask(() => {
        throw e;
      });
    });
    return false;
  }

  /** Kernel and batch counters; after close(), the values at close. */
  stats(): CaptureStats {
    try {
      return this.native.stats();
    } catch (e) {
      throw fromNative(e);
    }
  }

  /** Lets the process exit while the capture runs (like socket.unref()). */
  unref(): this {
    this.native.setRef(false);
    return this;
  }

  ref(): this {
    this.native.setRef(true);
    return this;
  }

  /**
   * Stops the capture thread, closes the pcap handle and resolves when no callback can run
   * any more. Idempotent. No batch callback runs once close() has been called.
   */
  close(): Promise<void> {
    if (this.closing === undefined) this.closing = this.native.close();
    return this.closing;
  }
}

// ---------------------------------------------------------------------------------------
// Raw IPv4 sockets

/** IP protocol numbers (IANA). */
export const IP_PROTO = {
  GRE: 47,
} as const;

/** Columns of one row of `RawIpBatch.meta`. */
export const RAW_IP_META = {
  OFFSET: 0,
  /** Length of the IPv4 packet, header included. */
  LEN: 1,
  /** Source IPv4 address as an unsigned 32-bit number (host order: 10.0.0.1 = 0x0a000001). */
  SRC_ADDR: 2,
  TS_SEC: 3,
  TS_NSEC: 4,
} as const;

export const RAW_IP_META_COLS = 5;
export const DEFAULT_RAW_RECV_BYTES = 4 * 1024 * 1024;
export const DEFAULT_RAW_RECV_ROWS = 4096;

/**
 * Received IPv4 packets (header included). Rows are `[offset, len, srcAddr, tsSec, tsNsec]`
 * (see RAW_IP_META). Valid until the onMessages callback returns.
 */
export interface RawIpBatch {
  readonly count: number;
  readonly data: Buffer;
  readonly meta: Float64Array;
}

export interface RawIpSocketOptions {
  /** Network namespace: a name under /var/run/netns or a path. */
  netns?: string;
  /** Receive only packets to this local IPv4 address. */
  bindAddress?: string;
  /** Receive buffer bytes; at least 65535; default 4 MiB. */
  recvBytes?: number;
  /** Receive rows per callback; default 4096. */
  recvRows?: number;
}

/**
 * A raw IPv4 socket for one protocol. The kernel writes the IPv4 header on send; received
 * packets include it. Needs CAP_NET_RAW.
 */
export class RawIpSocket {
  readonly protocol: number;
  private readonly native: NativeRawIpSocket;
  private readonly recvBytes: number;
  private readonly recvRows: number;
  private receiving: boolean;
  private closed: boolean;

  private constructor(native: NativeRawIpSocket, protocol: number, recvBytes: number, recvRows: number) {
    this.native = native;
    this.protocol = protocol;
    this.recvBytes = recvBytes;
    this.recvRows = recvRows;
    this.receiving = false;
    this.closed = false;
  }

  static open(protocol: number, opts: RawIpSocketOptions = {}): RawIpSocket {
    const native = load();
    const recvBytes = positiveInt('recvBytes', opts.recvBytes, DEFAULT_RAW_RECV_BYTES);
    const recvRows = positiveInt('recvRows', opts.recvRows, DEFAULT_RAW_RECV_ROWS);
    const nativeOpts: Record<string, unknown> = {};
    if (opts.netns !== undefined) nativeOpts['netns'] = opts.netns;
    if (opts.bindAddress !== undefined) nativeOpts['bindAddress'] = opts.bindAddress;
    try {
      return new RawIpSocket(new native.RawIpSocket(protocol, nativeOpts), protocol, Math.max(recvBytes, 65535), recvRows);
    } catch (e) {
      throw fromNative(e);
    }
  }

  /**
   * Sends one IPv4 packet whose payload is the buffers gathered in order (sendmsg with an
   * iovec; nothing is concatenated). `dst` is dotted-quad or a host-order uint32.
   * Returns false when the socket's send buffer is full (EAGAIN/ENOBUFS): count it as a
   * drop. Other failures throw CaptureError RAW_SOCKET with errno in details.
   */
  send(buffers: Buffer[], dst: string | number): boolean {
    try {
      return this.native.send(buffers, dst);
    } catch (e) {
      throw fromNative(e);
    }
  }

  /** Starts receiving: one call per readable event with every packet read in it. */
  onMessages(handler: (batch: RawIpBatch) => void): this {
    if (this.receiving) throw new CaptureError(NATIVE_ERR.NATIVE_STATE, 'RawIpSocket: already receiving');
    const batch = { count: 0, data: Buffer.allocUnsafeSlow(this.recvBytes), meta: new Float64Array(this.recvRows * RAW_IP_META_COLS) };
    try {
      this.native.startReceive(batch.data, batch.meta, (count) => {
        batch.count = count;
        handler(batch);
      });
    } catch (e) {
      throw fromNative(e);
    }
    this.receiving = true;
    return this;
  }

  /** Stops receiving and closes the socket. Idempotent; no callback runs afterwards. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.receiving = false;
    this.native.close();
  }
}

/** Same as RawIpSocket.open(protocol, opts). */
export function openRawIpSocket(protocol: number, opts: RawIpSocketOptions = {}): RawIpSocket {
  return RawIpSocket.open(protocol, opts);
}

/** Dotted-quad to host-order uint32 for RawIpSocket.send and RAW_IP_META.SRC_ADDR, or -1. */
export function ipv4ToUint32(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) return -1;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return -1;
    const v = Number(p);
    if (v > 255) return -1;
    n = n * 256 + v;
  }
  return n;
}
