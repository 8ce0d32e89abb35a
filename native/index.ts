/**
 * The native addon (native/src, built by `npm ci` through binding.gyp): batch libpcap
 * capture with nanosecond timestamps and kernel drop counters, raw IPv4 sockets for
 * GRE/ERSPAN, and batch frame injection onto an interface (PacketInjector). This is the
 * only file that loads the `.node`; it loads it lazily, on first use, so importing this
 * module never fails on a machine without libpcap.
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

type NativeCallback = (kind: number, slot: number, count: number, err: Error | undefined, bytes?: number, truncated?: number) => boolean | undefined;

interface NativeLiveCapture {
  start(dataA: Buffer, metaA: Float64Array, dataB: Buffer, metaB: Float64Array, cb: NativeCallback, epbInterfaceId?: number): void;
  release(slot: number): void;
  stats(): NativeStats;
  close(): Promise<void>;
  setRef(ref: boolean): void;
  readonly linkType: number;
  readonly linkTypeName: string;
  readonly nanoTimestamps: boolean;
  readonly snapLen: number;
  readonly warning: string;
  readonly layout: string;
}

interface NativeRawIpSocket {
  send(buffers: Buffer[], dst: string | number, lastOffset?: number, lastLength?: number): boolean;
  startReceive(data: Buffer, meta: Float64Array, cb: (count: number) => void): void;
  stopReceive(): void;
  close(): void;
  readonly protocol: number;
  readonly fd: number;
  readonly drops: number;
}

interface NativeInjectResult {
  sent: number;
  bytes: number;
  tooBig: number;
  gaveUp: number;
  retriesNoBufs: number;
  retriesAgain: number;
  syscalls: number;
  next: number;
  errno: number;
  error: string;
  cancelled: boolean;
  baseNs: bigint;
}

interface NativePacketInjector {
  send(data: Buffer, meta: Float64Array, first: number, count: number, baseNs: bigint, paced: boolean, maxRetryMs: number): Promise<NativeInjectResult>;
  cancel(): void;
  close(): void;
  readonly mtu: number;
  readonly ifIndex: number;
  readonly hwType: number;
}

interface NativeUdpSendResult {
  sent: number;
  bytes: number;
  truncated: number;
  tooBig: number;
  refused: number;
  waits: number;
  syscalls: number;
  next: number;
  busy: boolean;
  errno: number;
  error: string;
}

interface NativeUdpBatchSocket {
  sendBatch(header: Buffer, data: Buffer, meta: Float64Array, first: number, count: number, cols: number, offCol: number, lenCol: number, maxLen: number, maxWaitMs: number): NativeUdpSendResult;
  start(dataA: Buffer, metaA: Float64Array, addrA: Buffer, dataB: Buffer, metaB: Float64Array, addrB: Buffer, cb: NativeCallback): void;
  release(slot: number): void;
  stats(): UdpBatchStats;
  close(): Promise<void>;
  setRef(ref: boolean): void;
  readonly localAddress: string;
  readonly localPort: number;
  readonly family: number;
  readonly rcvBufBytes: number;
  readonly sndBufBytes: number;
}

interface NativeBinding {
  LiveCapture: new (opts: Record<string, unknown>) => NativeLiveCapture;
  RawIpSocket: new (protocol: number, opts: Record<string, unknown>) => NativeRawIpSocket;
  PacketInjector: new (opts: Record<string, unknown>) => NativePacketInjector;
  UdpBatchSocket: new (opts: Record<string, unknown>) => NativeUdpBatchSocket;
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

/**
 * How frames are laid out in a batch's data:
 * - `plain`: back to back.
 * - `epb`: each frame inside a complete pcapng Enhanced Packet Block (draft-ietf-opsawg-pcapng
 *   §4.3; little-endian; timestamp in 1 ns units, so the interface must be declared with
 *   if_tsresol = 9; interface id from `epbInterfaceId`; zero padding to 4 bytes). The first
 *   `batch.bytes` bytes of `batch.data` are then pcapng blocks ready to append to a file.
 * Meta rows point at the frame bytes either way.
 */
export type CaptureLayout = 'plain' | 'epb';

/** Most bytes an EPB adds around a frame in layout `epb`: 28-byte header, up to 3 bytes of padding, 4-byte trailer. */
export const CAPTURE_EPB_MAX_OVERHEAD = 35;

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
  /** Default 'plain'. */
  layout?: CaptureLayout;
  /**
   * Hand a batch over no earlier than this many ms after its first frame reached the slot
   * (unless the slot is full): fewer, larger batches, so the per-batch costs (thread
   * wakeups, the JS call, a write) are paid less often, for that much more latency.
   * Default 0: as soon as the kernel ring is drained.
   */
  coalesceMs?: number;
  /** pcapng interface id written into each block in layout `epb`; default 0; can be changed with setEpbInterfaceId() until start(). */
  epbInterfaceId?: number;
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
  /**
   * Bytes of `data` the batch uses, from offset 0: in layout `epb`, `count` pcapng EPBs back
   * to back (the first n end at `epbPrefixBytes(batch, n)`).
   */
  readonly bytes: number;
  /** Frames of the batch cut by the snap length (capLen < wireLen), counted by the capture thread. */
  readonly truncated: number;
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
  bytes: number;
  truncated: number;
  data: Buffer;
  meta: Float64Array;
  slot: number;
}

const KIND_BATCH = 1;
const KIND_ERROR = 2;

function checkEpbInterfaceId(id: number): number {
  if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) {
    throw new CaptureError(NATIVE_ERR.NATIVE_ARG, `epbInterfaceId must be an integer in 0..2^32-1, got ${String(id)}`);
  }
  return id;
}

function positiveInt(name: string, v: number | undefined, def: number): number {
  if (v === undefined) return def;
  if (!Number.isInteger(v) || v <= 0) {
    throw new CaptureError(NATIVE_ERR.NATIVE_ARG, `${name} must be a positive integer, got ${String(v)}`);
  }
  return v;
}

/**
 * Layout `epb`: bytes of the first `n` blocks of `batch` (they start at offset 0 and are
 * contiguous), read from row n-1: its frame offset + capLen + padding + trailer. Does not
 * allocate.
 */
export function epbPrefixBytes(batch: CaptureBatch, n: number): number {
  if (n <= 0) return 0;
  if (n >= batch.count) return batch.bytes;
  const r = (n - 1) * CAPTURE_META_COLS;
  const capLen = batch.meta[r + CAPTURE_META.CAP_LEN]!;
  return batch.meta[r + CAPTURE_META.OFFSET]! + capLen + ((4 - (capLen & 3)) & 3) + 4;
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
  /** How frames are laid out in the batch data. */
  readonly layout: CaptureLayout;

  private readonly native: NativeLiveCapture;
  private epbInterfaceId: number;
  private readonly batches: [MutableBatch, MutableBatch];
  private batchHandler: BatchHandler | undefined;
  private errorHandler: CaptureErrorHandler | undefined;
  private started: boolean;
  private closing: Promise<void> | undefined;

  private constructor(native: NativeLiveCapture, iface: string, batchBytes: number, batchRows: number, epbInterfaceId: number) {
    this.native = native;
    this.iface = iface;
    this.linkType = native.linkType;
    this.linkTypeName = native.linkTypeName;
    this.nanoTimestamps = native.nanoTimestamps;
    this.snapLen = native.snapLen;
    this.warning = native.warning === '' ? undefined : native.warning;
    this.layout = native.layout === 'epb' ? 'epb' : 'plain';
    this.epbInterfaceId = epbInterfaceId;
    const minBytes = native.snapLen + (this.layout === 'epb' ? CAPTURE_EPB_MAX_OVERHEAD : 0);
    const slot = (i: number): MutableBatch => ({
      count: 0,
      bytes: 0,
      truncated: 0,
      data: Buffer.allocUnsafeSlow(Math.max(batchBytes, minBytes)),
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
    const coalesceMs = opts.coalesceMs ?? 0;
    if (!Number.isInteger(coalesceMs) || coalesceMs < 0) {
      throw new CaptureError(NATIVE_ERR.NATIVE_ARG, `coalesceMs must be a non-negative integer, got ${String(coalesceMs)}`);
    }
    const layout = opts.layout ?? 'plain';
    if (layout !== 'plain' && layout !== 'epb') {
      throw new CaptureError(NATIVE_ERR.NATIVE_ARG, `layout must be plain or epb, got ${String(layout)}`);
    }
    const epbInterfaceId = checkEpbInterfaceId(opts.epbInterfaceId ?? 0);
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
      layout,
      coalesceMs: opts.coalesceMs ?? 0,
    };
    if (opts.netns !== undefined) nativeOpts['netns'] = opts.netns;
    let handle: NativeLiveCapture;
    try {
      handle = new native.LiveCapture(nativeOpts);
    } catch (e) {
      throw fromNative(e);
    }
    return new LiveCapture(handle, opts.iface, batchBytes, batchRows, epbInterfaceId);
  }

  /**
   * Layout `epb`: the pcapng interface id written into the blocks (the writer knows it once
   * it has written the IDB). Only before start(): NATIVE_STATE after; NATIVE_ARG unless an
   * integer in 0..2^32-1.
   */
  setEpbInterfaceId(id: number): this {
    if (this.started || this.closing !== undefined) {
      throw new CaptureError(NATIVE_ERR.NATIVE_STATE, 'LiveCapture.setEpbInterfaceId(): only before start()');
    }
    this.epbInterfaceId = checkEpbInterfaceId(id);
    return this;
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
      this.native.start(a.data, a.meta, b.data, b.meta, (kind, slot, count, err, bytes, truncated) => this.dispatch(kind, slot, count, err, bytes ?? 0, truncated ?? 0), this.epbInterfaceId);
    } catch (e) {
      throw fromNative(e);
    }
  }

  private dispatch(kind: number, slot: number, count: number, err: Error | undefined, bytes: number, truncated: number): boolean {
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
    batch.bytes = bytes;
    batch.truncated = truncated;
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
  /**
   * A socket that only sends (an exporter): a filter that accepts nothing keeps the copies
   * of every GRE packet the host receives out of its queue.
   */
  sendOnly?: boolean;
  /** Kernel receive buffer (SO_RCVBUFFORCE, else SO_RCVBUF); default: the kernel's. */
  recvBufferBytes?: number;
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
    if (opts.sendOnly === true) nativeOpts['sendOnly'] = true;
    if (opts.recvBufferBytes !== undefined) nativeOpts['recvBufferBytes'] = positiveInt('recvBufferBytes', opts.recvBufferBytes, 0);
    try {
      return new RawIpSocket(new native.RawIpSocket(protocol, nativeOpts), protocol, Math.max(recvBytes, 65535), recvRows);
    } catch (e) {
      throw fromNative(e);
    }
  }

  /**
   * Sends one IPv4 packet whose payload is the buffers gathered in order (sendmsg with an
   * iovec; nothing is concatenated). `dst` is dotted-quad or a host-order uint32. With
   * `lastOffset` and `lastLength`, only that range of the last buffer is sent (a frame
   * inside a capture batch, without a subarray per packet).
   * Returns false when the socket's send buffer is full (EAGAIN/ENOBUFS): count it as a
   * drop. Other failures throw CaptureError RAW_SOCKET with errno in details.
   */
  send(buffers: Buffer[], dst: string | number, lastOffset?: number, lastLength?: number): boolean {
    try {
      return lastOffset === undefined || lastLength === undefined ? this.native.send(buffers, dst) : this.native.send(buffers, dst, lastOffset, lastLength);
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

  /**
   * Packets the kernel dropped for this socket since it opened (receive buffer full): its
   * sk_drops, via SO_MEMINFO. -1 once closed or where the kernel does not say.
   */
  get drops(): number {
    return this.closed ? -1 : this.native.drops;
  }

  /** The socket's descriptor, -1 once closed (e.g. to find its inode under /proc/self/fd). */
  get fd(): number {
    return this.closed ? -1 : this.native.fd;
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

// ---------------------------------------------------------------------------------------
// Frame injection

/** Columns of one row of the `meta` array given to PacketInjector.send. */
export const INJECT_META = {
  /** Byte offset of the frame in `data`. */
  OFFSET: 0,
  /** Frame length in bytes (Ethernet header included, no FCS). */
  LEN: 1,
  /** Paced sends only: nanoseconds after `baseNs` at which the frame is due (a whole number). */
  DUE_NS: 2,
} as const;

/** Float64 values per row of the injection `meta` array. */
export const INJECT_META_COLS = 3;

/** ARPHRD_* of the interfaces injection accepts (linux/if_arp.h). */
export const ARPHRD = { ETHER: 1, LOOPBACK: 772 } as const;

/** Ethernet header bytes the kernel allows on top of the MTU for a frame sent whole. */
export const ETHERNET_LINK_HEADER_LEN = 14;

export interface InjectorOptions {
  /** Interface name: an Ethernet, veth, tap or loopback device. */
  iface: string;
  /** Open the interface in this network namespace (a name under /var/run/netns or a path). */
  netns?: string;
  /**
   * PACKET_QDISC_BYPASS: frames skip the device's queueing discipline, and with it the
   * taps on the sending side (tcpdump on `iface` then sees nothing; the peer still does).
   * Default false.
   */
  qdiscBypass?: boolean;
  /** Socket send buffer (SO_SNDBUFFORCE); default: the kernel's (wmem_default). */
  sndBufBytes?: number;
}

export interface InjectSendOptions {
  /** First row of `meta` to send; default 0. */
  first?: number;
  /** Rows to send. */
  count: number;
  /**
   * Paced send: row i goes no earlier than `baseNs + meta[i*3+2]` on the monotonic clock of
   * `monotonicNs()`; 'now' = when the send starts on its worker thread (the base used comes
   * back in InjectResult.baseNs, for the next batch of the same schedule). Absent: as fast
   * as the interface takes them.
   */
  baseNs?: bigint | 'now';
  /**
   * How long one frame may keep failing with ENOBUFS (device queue full) or EAGAIN (socket
   * buffer full) before it is given up and counted in `gaveUp`; default no limit (wait, as
   * tcpreplay does). Retries are counted either way.
   */
  maxRetryMs?: number;
}

/** What one PacketInjector.send did. */
export interface InjectResult {
  /** Frames the kernel took. */
  sent: number;
  /** Their bytes. */
  bytes: number;
  /** Frames refused as longer than the interface MTU + link header (EMSGSIZE), skipped. */
  tooBig: number;
  /** Frames given up after maxRetryMs of ENOBUFS/EAGAIN. */
  gaveUp: number;
  /** Retries after ENOBUFS (the device queue was full). */
  retriesNoBufs: number;
  /** Retries after EAGAIN (the socket send buffer was full). */
  retriesAgain: number;
  /** sendmmsg calls made. */
  syscalls: number;
  /** Index of the first row not handled: first + count unless stopped or cancelled. */
  next: number;
  /** The error that stopped the batch (INJECT_SEND, errno in details), if any. */
  error: CaptureError | undefined;
  cancelled: boolean;
  /** Paced sends: the schedule's base (monotonicNs()); 0n otherwise. */
  baseNs: bigint;
}

/** CLOCK_MONOTONIC in nanoseconds: the clock paced sends are scheduled on. */
export function monotonicNs(): bigint {
  // libuv's hrtime is clock_gettime(CLOCK_MONOTONIC) on Linux, the clock the addon sleeps on.
  return process.hrtime.bigint();
}

/**
 * Sends whole Ethernet frames out of one interface (AF_PACKET, sendmmsg, one syscall per
 * run of up to 64 frames). Needs CAP_NET_RAW.
 *
 *   const inj = PacketInjector.open({ iface: 'veth0' });
 *   const r = await inj.send(data, meta, { count: n });   // rows [offset, len, dueNs]
 *   await inj.close();
 *
 * One send at a time, on a libuv worker thread: the promise resolves with counters when
 * every row is handled (sent, skipped as too big, or given up) or a hard error stopped it.
 * `data` and `meta` must not be modified until it settles. Frames go out in row order.
 */
export class PacketInjector {
  readonly iface: string;
  /** The interface MTU when opened. */
  readonly mtu: number;
  /** Largest frame the kernel takes (MTU + 14; 4 more for a VLAN-tagged frame). */
  readonly maxFrameLen: number;
  readonly ifIndex: number;
  /** ARPHRD type (ARPHRD.ETHER or ARPHRD.LOOPBACK). */
  readonly hwType: number;
  private readonly native: NativePacketInjector;
  private inFlight: Promise<InjectResult> | undefined;
  private closing: Promise<void> | undefined;

  private constructor(native: NativePacketInjector, iface: string) {
    this.native = native;
    this.iface = iface;
    this.mtu = native.mtu;
    this.maxFrameLen = native.mtu + ETHERNET_LINK_HEADER_LEN;
    this.ifIndex = native.ifIndex;
    this.hwType = native.hwType;
    this.inFlight = undefined;
    this.closing = undefined;
  }

  /**
   * Opens the socket and binds it to the interface. Throws CaptureError INJECT_NO_SUCH_DEVICE,
   * INJECT_IFACE_DOWN, INJECT_PERM, INJECT_OPEN (not Ethernet), NETNS or NATIVE_LOAD.
   */
  static open(opts: InjectorOptions): PacketInjector {
    const native = load();
    const nativeOpts: Record<string, unknown> = { iface: opts.iface, qdiscBypass: opts.qdiscBypass ?? false };
    if (opts.netns !== undefined) nativeOpts['netns'] = opts.netns;
    if (opts.sndBufBytes !== undefined) nativeOpts['sndBufBytes'] = positiveInt('sndBufBytes', opts.sndBufBytes, 0);
    try {
      return new PacketInjector(new native.PacketInjector(nativeOpts), opts.iface);
    } catch (e) {
      throw fromNative(e);
    }
  }

  /** True while a send runs. */
  get busy(): boolean {
    return this.inFlight !== undefined;
  }

  /**
   * Sends rows [first, first + count) of `meta` (INJECT_META_COLS values each) from `data`.
   * Rows pointing outside `data` throw NATIVE_ARG before anything is sent. Throws
   * NATIVE_STATE when a send is already running or after close().
   */
  async send(data: Buffer, meta: Float64Array, opts: InjectSendOptions): Promise<InjectResult> {
    if (this.closing !== undefined) throw new CaptureError(NATIVE_ERR.NATIVE_STATE, 'PacketInjector.send(): closed');
    if (this.inFlight !== undefined) throw new CaptureError(NATIVE_ERR.NATIVE_STATE, 'PacketInjector.send(): one send at a time');
    const first = opts.first ?? 0;
    const count = opts.count;
    if (!Number.isInteger(first) || !Number.isInteger(count) || first < 0 || count < 0 || (first + count) * INJECT_META_COLS > meta.length) {
      throw new CaptureError(NATIVE_ERR.NATIVE_ARG, `PacketInjector.send(): rows ${first}..${first + count} outside meta (${Math.floor(meta.length / INJECT_META_COLS)} rows)`);
    }
    const paced = opts.baseNs !== undefined;
    const base = opts.baseNs === undefined || opts.baseNs === 'now' ? 0n : opts.baseNs;
    if (paced && base <= 0n && opts.baseNs !== 'now') throw new CaptureError(NATIVE_ERR.NATIVE_ARG, 'PacketInjector.send(): baseNs must be positive (a monotonicNs() value) or "now"');
    let sending: Promise<NativeInjectResult>;
    try {
      // The addon checks every row against `data` before sending anything (NATIVE_ARG).
      sending = this.native.send(data, meta, first, count, base, paced, opts.maxRetryMs ?? -1);
    } catch (e) {
      throw fromNative(e);
    }
    const p = sending
      .then((r): InjectResult => ({
        sent: r.sent,
        bytes: r.bytes,
        tooBig: r.tooBig,
        gaveUp: r.gaveUp,
        retriesNoBufs: r.retriesNoBufs,
        retriesAgain: r.retriesAgain,
        syscalls: r.syscalls,
        next: r.next,
        error: r.errno === 0 ? undefined : new CaptureError(NATIVE_ERR.INJECT_SEND, `${this.iface}: sending failed: ${r.error}`, { errno: r.errno }),
        cancelled: r.cancelled,
        baseNs: r.baseNs,
      }));
    this.inFlight = p;
    try {
      return await p;
    } finally {
      this.inFlight = undefined;
    }
  }

  /** Makes a running send stop before its next frame (it resolves with cancelled = true). */
  cancel(): void {
    this.native.cancel();
  }

  /** Cancels a running send, waits for it, closes the socket. Idempotent. */
  close(): Promise<void> {
    if (this.closing === undefined) {
      this.closing = (async () => {
        const p = this.inFlight;
        if (p !== undefined) {
          this.native.cancel();
          await p.catch(() => undefined);
        }
        this.native.close();
      })();
    }
    return this.closing;
  }
}

// ---------------------------------------------------------------------------------------
// UDP batch sockets

/** Columns of one row of `UdpRecvBatch.meta`. */
export const UDP_RECV_META = {
  /** Byte offset of the datagram in `data`. */
  OFFSET: 0,
  /** Datagram length in bytes (cut to maxDatagram, counted in stats().truncated). */
  LEN: 1,
  /** 4 or 6 (a dual-stack socket reports IPv4 senders as 6, v4-mapped, as node:dgram does). */
  FAMILY: 2,
  /** IPv4 source as an unsigned 32-bit number (host order: 10.0.0.1 = 0x0a000001); 0 for IPv6. */
  SRC_ADDR: 3,
  SRC_PORT: 4,
  /** Kernel receive time (SO_TIMESTAMPNS): seconds since the epoch. */
  TS_SEC: 5,
  /** Nanoseconds within the second. */
  TS_NSEC: 6,
} as const;

/** Float64 values per row of `UdpRecvBatch.meta`. */
export const UDP_RECV_META_COLS = 7;
/** Bytes per row of `UdpRecvBatch.addr` (the IPv6 source address of family-6 rows). */
export const UDP_ADDR_BYTES = 16;
/** Data bytes per receive slot; two slots per socket. */
export const DEFAULT_UDP_BATCH_BYTES = 8 * 1024 * 1024;
/** Rows per receive slot; two slots per socket. */
export const DEFAULT_UDP_BATCH_ROWS = 16384;
/** Largest datagram read whole; longer ones are cut and counted. */
export const DEFAULT_UDP_MAX_DATAGRAM = 65535;
/** How long one sendBatch may wait, in total, for a full send buffer or device queue. */
export const DEFAULT_UDP_SEND_MAX_WAIT_MS = 5;

export interface UdpBatchSocketOptions {
  /** Local address to bind (IPv4 or IPv6; '::' is dual-stack); default '0.0.0.0', or '::' when remoteAddress is IPv6. */
  bindAddress?: string;
  /** Local port; default 0 (any free port, see `localPort`). */
  bindPort?: number;
  /** Destination of sendBatch (the socket is connected to it); required for sending. */
  remoteAddress?: string;
  remotePort?: number;
  /** SO_RCVBUF asked for (SO_RCVBUFFORCE when privileged); default: the kernel's. */
  rcvBufBytes?: number;
  /** SO_SNDBUF asked for (SO_SNDBUFFORCE when privileged); default: the kernel's. */
  sndBufBytes?: number;
  /** Longest datagram received whole, 1..65535; default 65535. */
  maxDatagram?: number;
  /** Open the socket in this network namespace (a name under /var/run/netns or a path). */
  netns?: string;
  /** Data bytes per receive slot (two slots); at least maxDatagram; default 8 MiB. */
  batchBytes?: number;
  /** Rows per receive slot (two slots); default 16384. */
  batchRows?: number;
}

/**
 * One batch of received datagrams. `meta` holds `count` rows of UDP_RECV_META_COLS values
 * (see UDP_RECV_META); datagram i is `data.subarray(meta[i*7], meta[i*7] + meta[i*7+1])`;
 * an IPv6 sender's address is `addr.subarray(i*16, i*16 + 16)`.
 *
 * Owned by the socket: the same two batch objects are reused; valid until the onBatch
 * handler returns or, if it returns a promise, until that promise settles.
 */
export interface UdpRecvBatch {
  readonly count: number;
  readonly data: Buffer;
  readonly meta: Float64Array;
  readonly addr: Buffer;
  /** Which of the two slots this is (0 or 1). */
  readonly slot: number;
}

export interface UdpSendOptions {
  /** First row of `meta` to send; default 0. */
  first?: number;
  /** Rows to send. */
  count: number;
  /** Values per row of `meta`; default CAPTURE_META_COLS (a capture batch). */
  cols?: number;
  /** Column of the frame's offset in `data`; default CAPTURE_META.OFFSET. */
  offCol?: number;
  /** Column of the frame's length; default CAPTURE_META.CAP_LEN. */
  lenCol?: number;
  /** Frames longer than this are cut to it (counted in `truncated`); default: never cut. */
  maxLen?: number;
  /** Total wait for a full send buffer / device queue before giving up; default 5 ms; 0: never wait. */
  maxWaitMs?: number;
}

/** What one sendBatch did. */
export interface UdpSendResult {
  /** Datagrams the kernel took. */
  sent: number;
  /** Frame bytes in them (headers not included). */
  bytes: number;
  /** Of `sent`, frames cut to maxLen. */
  truncated: number;
  /** Datagrams refused as too long (EMSGSIZE), skipped. */
  tooBig: number;
  /** ECONNREFUSED reports (an ICMP port unreachable from the destination; the send was retried). */
  refused: number;
  /** Waits for a full send buffer (EAGAIN) or device queue (ENOBUFS). */
  waits: number;
  /** sendmmsg calls made. */
  syscalls: number;
  /** The first row not handled: first + count unless busy or stopped by an error. */
  next: number;
  /** True when the wait budget ran out: rows [next, first + count) were not sent. */
  busy: boolean;
  /** The error that stopped the batch (UDP_SEND, errno in details), if any; undefined when busy. */
  error: CaptureError | undefined;
}

export interface UdpBatchStats {
  /** Datagrams read from the socket. */
  received: number;
  /** Datagrams handed to onBatch. */
  delivered: number;
  batches: number;
  /** Datagrams longer than maxDatagram, cut. */
  truncated: number;
  /** Datagrams the kernel dropped on this socket (receive buffer full; SO_MEMINFO / SO_RXQ_OVFL). */
  kernelDrops: number;
  /** Datagrams sent by sendBatch over the socket's life. */
  sent: number;
  /** Datagrams sendBatch gave up on (wait budget spent). */
  sendBusy: number;
}

export type UdpBatchHandler = (batch: UdpRecvBatch) => void | Promise<unknown>;

interface MutableUdpBatch {
  count: number;
  data: Buffer;
  meta: Float64Array;
  addr: Buffer;
  slot: number;
}

/**
 * A UDP socket that sends and receives in batches: sendmmsg with a shared header and frame
 * slices gathered per datagram (one native call per batch, synchronous, no copy in JS), and
 * a receive thread with recvmmsg, kernel receive timestamps and the kernel's drop count,
 * one JS callback per batch (the double-slot protocol of LiveCapture).
 *
 *   const s = UdpBatchSocket.open({ remoteAddress: '10.0.0.5', remotePort: 4789 });
 *   s.sendBatch(vxlanHeader, capture.data, capture.meta, { count: capture.count });
 *
 *   const r = UdpBatchSocket.open({ bindAddress: '0.0.0.0', bindPort: 4789, rcvBufBytes: 8 << 20 });
 *   r.onBatch((b) => { ... }).start();
 *   await r.close();   // no callback runs after close() is called
 */
export class UdpBatchSocket {
  readonly localAddress: string;
  readonly localPort: number;
  /** 4 or 6. */
  readonly family: number;
  /** The receive buffer the kernel granted (getsockopt SO_RCVBUF: twice what was asked, capped). */
  readonly rcvBufBytes: number;
  readonly sndBufBytes: number;
  private readonly native: NativeUdpBatchSocket;
  private readonly batchBytes: number;
  private readonly batchRows: number;
  private batches: [MutableUdpBatch, MutableUdpBatch] | undefined;
  private batchHandler: UdpBatchHandler | undefined;
  private errorHandler: CaptureErrorHandler | undefined;
  private started: boolean;
  private closing: Promise<void> | undefined;

  private constructor(native: NativeUdpBatchSocket, batchBytes: number, batchRows: number) {
    this.native = native;
    this.localAddress = native.localAddress;
    this.localPort = native.localPort;
    this.family = native.family;
    this.rcvBufBytes = native.rcvBufBytes;
    this.sndBufBytes = native.sndBufBytes;
    this.batchBytes = batchBytes;
    this.batchRows = batchRows;
    this.batches = undefined;
    this.batchHandler = undefined;
    this.errorHandler = undefined;
    this.started = false;
    this.closing = undefined;
  }

  /**
   * Creates, binds (and connects, with remoteAddress) the socket. Throws CaptureError
   * UDP_BIND (errno in details: EADDRINUSE, EADDRNOTAVAIL, EACCES), UDP_SOCKET, NETNS,
   * NATIVE_ARG or NATIVE_LOAD.
   */
  static open(opts: UdpBatchSocketOptions = {}): UdpBatchSocket {
    const native = load();
    const maxDatagram = positiveInt('maxDatagram', opts.maxDatagram, DEFAULT_UDP_MAX_DATAGRAM);
    const batchBytes = Math.max(positiveInt('batchBytes', opts.batchBytes, DEFAULT_UDP_BATCH_BYTES), maxDatagram);
    const batchRows = positiveInt('batchRows', opts.batchRows, DEFAULT_UDP_BATCH_ROWS);
    const remoteIs6 = opts.remoteAddress !== undefined && opts.remoteAddress.includes(':');
    const nativeOpts: Record<string, unknown> = {
      bindAddress: opts.bindAddress ?? (remoteIs6 ? '::' : '0.0.0.0'),
      bindPort: opts.bindPort ?? 0,
      maxDatagram,
    };
    if (opts.remoteAddress !== undefined) {
      nativeOpts['remoteAddress'] = opts.remoteAddress;
      nativeOpts['remotePort'] = opts.remotePort ?? 0;
    }
    if (opts.rcvBufBytes !== undefined) nativeOpts['rcvBufBytes'] = positiveInt('rcvBufBytes', opts.rcvBufBytes, 0);
    if (opts.sndBufBytes !== undefined) nativeOpts['sndBufBytes'] = positiveInt('sndBufBytes', opts.sndBufBytes, 0);
    if (opts.netns !== undefined) nativeOpts['netns'] = opts.netns;
    try {
      return new UdpBatchSocket(new native.UdpBatchSocket(nativeOpts), batchBytes, batchRows);
    } catch (e) {
      throw fromNative(e);
    }
  }

  /**
   * Sends rows [first, first + count) of `meta` as datagrams `[header, frame]` to the
   * connected destination, in row order, in as few sendmmsg calls as the kernel allows
   * (1024 datagrams each). Synchronous: `header`, `data` and `meta` may be reused on return.
   * Waits at most maxWaitMs in total when the kernel's buffers are full, then returns with
   * `busy`. Rows outside `data` throw NATIVE_ARG before anything is sent; NATIVE_STATE
   * after close() or without remoteAddress. Does not allocate per datagram.
   */
  sendBatch(header: Buffer, data: Buffer, meta: Float64Array, opts: UdpSendOptions): UdpSendResult {
    let r: NativeUdpSendResult;
    try {
      r = this.native.sendBatch(
        header,
        data,
        meta,
        opts.first ?? 0,
        opts.count,
        opts.cols ?? CAPTURE_META_COLS,
        opts.offCol ?? CAPTURE_META.OFFSET,
        opts.lenCol ?? CAPTURE_META.CAP_LEN,
        opts.maxLen ?? -1,
        opts.maxWaitMs ?? DEFAULT_UDP_SEND_MAX_WAIT_MS,
      );
    } catch (e) {
      throw fromNative(e);
    }
    return {
      sent: r.sent,
      bytes: r.bytes,
      truncated: r.truncated,
      tooBig: r.tooBig,
      refused: r.refused,
      waits: r.waits,
      syscalls: r.syscalls,
      next: r.next,
      busy: r.busy,
      error: r.errno !== 0 && !r.busy ? new CaptureError(NATIVE_ERR.UDP_SEND, `sending UDP datagrams failed: ${r.error}`, { errno: r.errno }) : undefined,
    };
  }

  /** Sets the receive batch handler (one at a time); same contract as LiveCapture.onBatch. */
  onBatch(handler: UdpBatchHandler): this {
    this.batchHandler = handler;
    return this;
  }

  /** Receive errors (UDP_RECV): the receive thread has stopped; without a handler, thrown as uncaught. */
  onError(handler: CaptureErrorHandler): this {
    this.errorHandler = handler;
    return this;
  }

  /** Starts the receive thread. Throws NATIVE_STATE when started twice or after close. */
  start(): this {
    if (this.batchHandler === undefined) throw new CaptureError(NATIVE_ERR.NATIVE_STATE, 'UdpBatchSocket.start(): call onBatch() first');
    if (this.started || this.closing !== undefined) throw new CaptureError(NATIVE_ERR.NATIVE_STATE, 'UdpBatchSocket.start(): already started or closed');
    const slot = (i: number): MutableUdpBatch => ({
      count: 0,
      data: Buffer.allocUnsafeSlow(this.batchBytes),
      meta: new Float64Array(this.batchRows * UDP_RECV_META_COLS),
      addr: Buffer.allocUnsafeSlow(this.batchRows * UDP_ADDR_BYTES),
      slot: i,
    });
    const batches: [MutableUdpBatch, MutableUdpBatch] = [slot(0), slot(1)];
    const [a, b] = batches;
    try {
      this.native.start(a.data, a.meta, a.addr, b.data, b.meta, b.addr, (kind, s, count, err) => this.dispatch(kind, s, count, err));
    } catch (e) {
      throw fromNative(e);
    }
    this.batches = batches;
    this.started = true;
    return this;
  }

  private dispatch(kind: number, slot: number, count: number, err: Error | undefined): boolean {
    if (kind === KIND_ERROR) {
      const e = fromNative(err);
      const ce = e instanceof CaptureError ? e : new CaptureError(NATIVE_ERR.UDP_RECV, String(e));
      if (this.errorHandler === undefined) throw ce;
      this.errorHandler(ce);
      return false;
    }
    const batches = this.batches;
    if (kind !== KIND_BATCH || batches === undefined) return true;
    const batch = slot === 0 ? batches[0] : batches[1];
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
    if (!isPromiseLike(result)) return true;
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

  /** Receive and send counters; after close(), the values at close. */
  stats(): UdpBatchStats {
    return this.native.stats();
  }

  /** Lets the process exit while the receive thread runs (like socket.unref()). */
  unref(): this {
    this.native.setRef(false);
    return this;
  }

  ref(): this {
    this.native.setRef(true);
    return this;
  }

  /** Stops the receive thread and closes the socket; no callback runs once called. Idempotent. */
  close(): Promise<void> {
    if (this.closing === undefined) this.closing = this.native.close();
    return this.closing;
  }
}
