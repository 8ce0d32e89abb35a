/**
 * The output files of `podspan streams`. Appended bytes are gathered per file in
 * BUFFER_BYTES buffers on the main thread; full buffers, and a file's last buffer when it is
 * retired, are handed (transferred, not copied) in batches to one worker thread
 * (cli/streams-io.ts) that opens, writes and closes the files in the order queued. The
 * kernel's share of the work (file creation, copying into the page cache) thus runs beside
 * the reassembly, and a small direction costs one open, one write and one close, with no
 * per-file round trip through the event loop.
 *
 * Bounded: a file holds a buffer while it is active (at most `maxActive` files; the least
 * recently used is retired first: its buffer written and its descriptor closed; appended to
 * again, it is reopened for append); at most `maxQueuedBuffers` buffers are with the worker,
 * beyond that `busy()` tells the producer to wait (`idle()`). Buffers come back from the
 * worker and are reused, so steady state allocates nothing.
 *
 * Errors (ENOSPC, EACCES, …) are reported by the worker with the file's path; the first is
 * thrown as PODSPAN_ERR_IO by `idle()` and `flush()`.
 */
import { Worker } from 'node:worker_threads';
import { ERR, PodspanError } from '../packet/errors.js';
import { OP_APPEND, OP_CLOSE, OP_DATA, OP_OPEN, OP_WORDS, type IoBatch, type IoReply } from './streams-io.js';

/** Size of the gather buffers: a direction's bytes are written in pieces of this size. */
export const BUFFER_BYTES = 64 * 1024;
/** A batch is sent when it holds this many buffers or operations, or when the worker is idle. */
const BATCH_BUFFERS = 16;
const BATCH_OPS = 512;

export interface StreamFilesOptions {
  /** Files holding a buffer (and a descriptor) at once; default 256. */
  maxActive?: number;
  /** Buffers with the worker above which busy() says wait; default 128 (8 MiB). */
  maxQueuedBuffers?: number;
}

/** One output file. Created by StreamFiles.file(). */
export class OutFile {
  readonly path: string;
  /** Bytes appended so far (the file exists at the end iff > 0, unless a write failed). */
  bytes = 0;
  /** @internal */
  readonly id: number;
  /** @internal gathered bytes not yet submitted */
  buf: Buffer | null = null;
  len = 0;
  /** @internal in the queued operations, the file is open (its next data needs no OP_OPEN) */
  open = false;
  /** @internal some data was queued (later opens append) */
  submitted = false;
  /** @internal LRU of active files */
  active = false;
  prev: OutFile | null = null;
  next: OutFile | null = null;

  constructor(path: string, id: number) {
    this.path = path;
    this.id = id;
  }
}

export class StreamFiles {
  private readonly maxActive: number;
  private readonly maxQueued: number;
  /** Started at the first batch (a run that writes nothing costs no thread). */
  private worker: Worker | null = null;
  /** LRU of active files: head least recently used. */
  private head: OutFile | null = null;
  private tail: OutFile | null = null;
  private activeCount = 0;
  private nextId = 1;
  private readonly spare: Buffer[] = [];
  /** The batch being built. */
  private ops: number[] = [];
  private paths: string[] = [];
  private bufs: ArrayBuffer[] = [];
  /** Batches and buffers with the worker. */
  private inFlight = 0;
  private queuedBuffers = 0;
  private error: PodspanError | null = null;
  private wake: (() => void) | null = null;
  private wakePromise: Promise<void> | null = null;

  constructor(opts: StreamFilesOptions = {}) {
    this.maxActive = opts.maxActive ?? 256;
    this.maxQueued = opts.maxQueuedBuffers ?? 128;
  }

  private startWorker(): Worker {
    const w = new Worker(new URL('./streams-io.js', import.meta.url));
    w.on('message', (r: IoReply) => this.onReply(r));
    w.on('error', (e) => {
      this.error ??= new PodspanError(ERR.IO, `stream file writer failed: ${e.message}`);
      this.inFlight = 0;
      this.queuedBuffers = 0;
      this.changed();
    });
    this.worker = w;
    return w;
  }

  file(path: string): OutFile {
    return new OutFile(path, this.nextId++);
  }

  /** Appends a copy of `data` (valid during the call only) to `f`. */
  append(f: OutFile, data: Buffer): void {
    const n = data.length;
    if (n === 0) return;
    f.bytes += n;
    this.touch(f);
    let done = 0;
    while (done < n) {
      let b = f.buf;
      if (b === null) b = f.buf = this.spare.pop() ?? Buffer.from(new ArrayBuffer(BUFFER_BYTES));
      const room = BUFFER_BYTES - f.len;
      const k = n - done < room ? n - done : room;
      // TypedArray#set: no Buffer#copy argument checks.
      b.set(k === n ? data : data.subarray(done, done + k), f.len);
      f.len += k;
      done += k;
      if (f.len === BUFFER_BYTES) this.queue(f, false);
    }
  }

  /** No more bytes for now: write what `f` holds and close it (it may be appended to again). */
  retire(f: OutFile): void {
    if (f.active) this.unlink(f);
    if (f.len > 0 || f.open) this.queue(f, true);
    if (f.buf !== null) {
      this.spare.push(f.buf);
      f.buf = null;
    }
  }

  /** True when the producer should wait for idle() before appending more. */
  busy(): boolean {
    if (this.ops.length > 0 && this.inFlight === 0) this.send();
    return this.queuedBuffers > this.maxQueued || this.error !== null;
  }

  /** Resolves when busy() turns false. Throws the first write error. */
  async idle(): Promise<void> {
    this.check();
    while (this.busy()) {
      await this.waitChange();
      this.check();
    }
  }

  /** Retires every file and resolves once everything is written and closed; throws the first error. Files may be appended to again. */
  async flush(): Promise<void> {
    while (this.head !== null) this.retire(this.head);
    if (this.ops.length > 0) this.send();
    while (this.inFlight > 0) await this.waitChange();
    this.check();
  }

  /** Flushes, then stops the worker. */
  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      await this.worker?.terminate();
    }
  }

  /** Throws the first write error, if any. */
  check(): void {
    if (this.error !== null) throw this.error;
  }

  // ---- internals ----------------------------------------------------------------------

  private queue(f: OutFile, close: boolean): void {
    let flags = 0;
    const b = f.buf;
    if (f.len > 0 && b !== null) {
      flags |= OP_DATA;
      if (!f.open) {
        flags |= OP_OPEN | (f.submitted ? OP_APPEND : 0);
        this.paths.push(f.path);
        f.open = true;
      }
      this.bufs.push(b.buffer as ArrayBuffer);
      this.queuedBuffers++;
      f.submitted = true;
      f.buf = null;
    }
    if (close && f.open) {
      flags |= OP_CLOSE;
      f.open = false;
    }
    if (flags !== 0) this.ops.push(f.id, flags, f.len);
    f.len = 0;
    if (this.bufs.length >= BATCH_BUFFERS || this.ops.length >= OP_WORDS * BATCH_OPS || this.inFlight === 0) this.send();
  }

  private send(): void {
    const batch: IoBatch = { ops: Int32Array.from(this.ops), paths: this.paths, bufs: this.bufs };
    this.ops = [];
    this.paths = [];
    this.bufs = [];
    this.inFlight++;
    (this.worker ?? this.startWorker()).postMessage(batch, [batch.ops.buffer as ArrayBuffer, ...batch.bufs]);
  }

  private onReply(r: IoReply): void {
    this.inFlight--;
    this.queuedBuffers -= r.bufs.length;
    for (const ab of r.bufs) if (this.spare.length < this.maxActive + this.maxQueued) this.spare.push(Buffer.from(ab));
    if (r.error !== null) this.error ??= new PodspanError(ERR.IO, `cannot ${r.error.what} ${r.error.path}: ${r.error.code} (check the output directory: space, permissions)`);
    if (this.ops.length > 0 && this.inFlight === 0) this.send();
    this.changed();
  }

  private waitChange(): Promise<void> {
    if (this.wakePromise === null) {
      this.wakePromise = new Promise((resolve) => {
        this.wake = resolve;
      });
    }
    return this.wakePromise;
  }

  private changed(): void {
    const w = this.wake;
    if (w !== null) {
      this.wake = null;
      this.wakePromise = null;
      w();
    }
  }

  private touch(f: OutFile): void {
    if (f.active) {
      if (this.tail === f) return;
      this.unlink(f);
    } else if (this.activeCount >= this.maxActive && this.head !== null) {
      this.retire(this.head);
    }
    f.active = true;
    f.prev = this.tail;
    f.next = null;
    if (this.tail !== null) this.tail.next = f;
    else this.head = f;
    this.tail = f;
    this.activeCount++;
  }

  private unlink(f: OutFile): void {
    if (f.prev !== null) f.prev.next = f.next;
    else this.head = f.next;
    if (f.next !== null) f.next.prev = f.prev;
    else this.tail = f.prev;
    f.prev = null;
    f.next = null;
    f.active = false;
    this.activeCount--;
  }
}
