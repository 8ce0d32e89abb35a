/**
 * The output files of `podspan streams`, written by one worker thread (cli/streams-io.ts)
 * without copying the bytes on the main thread.
 *
 * The capture is read into shared chunks (SharedArrayBuffer, CHUNK_BYTES each, from
 * `chunk()`): a segment delivered in order is a view of one of them, so `append()` only
 * queues [file, chunk, offset, length]. Data that is not in a shared chunk (held out of
 * order by the reassembler, a record that straddled two reads, standard input) is copied
 * into a shared side chunk first. Queued operations go to the worker in batches
 * (`submit()`, once per input chunk); the worker gathers each file's pieces of a batch into
 * one writev(2). A chunk is reused once the reader has released it and every batch that
 * points into it has been written.
 *
 * Bounded: at most `maxChunks` chunks exist (the reader waits in `chunk()` for one to come
 * back, and `busy()` tells the producer to wait while side chunks are over their share);
 * at most `maxActive` files are open at once in the worker (the least recently used is
 * closed first; appended to again, it is reopened for append).
 *
 * Errors (ENOSPC, EACCES, …) are reported by the worker with the file's path; the first is
 * thrown as PODSPAN_ERR_IO by `chunk()`, `idle()` and `flush()`.
 */
import { Worker } from 'node:worker_threads';
import { ERR, PodspanError } from '../packet/errors.js';
import { OP_APPEND, OP_CLOSE, OP_DATA, OP_OPEN, OP_WORDS, type IoBatch, type IoReply, type IoSlots } from './streams-io.js';

/** Size of a shared chunk: a read of the capture, or a side buffer. */
export const CHUNK_BYTES = 2 << 20;
/** Operations queued above which a batch is sent without waiting for submit(). */
const BATCH_OPS = 8192;

export interface StreamFilesOptions {
  /** Files open at once in the worker; default 256. */
  maxActive?: number;
  /** Shared chunks at most (reads in flight, read chunks being written, side chunks); default 16 (32 MiB). */
  maxChunks?: number;
  /** The writer thread's module (default ./streams-io.js); tests give one that fails. */
  workerUrl?: URL;
}

/** One output file. Created by StreamFiles.file(). */
export class OutFile {
  readonly path: string;
  /** Bytes appended so far (the file exists at the end iff > 0, unless a write failed). */
  bytes = 0;
  /** @internal */
  readonly id: number;
  /** @internal open in the queued operations (its next data needs no OP_OPEN) */
  open = false;
  /** @internal some data was queued (later opens append) */
  submitted = false;
  /** @internal LRU of open files */
  active = false;
  prev: OutFile | null = null;
  next: OutFile | null = null;

  constructor(path: string, id: number) {
    this.path = path;
    this.id = id;
  }
}

/** A SharedArrayBuffer chunk and who holds it: the reader, the side writer, each batch in flight that points into it. */
class SharedChunk {
  readonly buf: Buffer;
  refs = 0;
  /** A side chunk (copied data) until it is free again. */
  side = false;
  /** Sequence number of the last batch that took a reference. */
  batch = -1;
  constructor(
    readonly slot: number,
    bytes: number,
  ) {
    this.buf = Buffer.from(new SharedArrayBuffer(bytes));
  }
}

export class StreamFiles {
  private readonly maxActive: number;
  private readonly maxChunks: number;
  private readonly workerUrl: URL;
  /** Started at the first batch: a run that writes nothing (a capture of SYNs only) costs no thread, nor its isolate's memory. */
  private worker: Worker | null = null;
  /** LRU of open files: head least recently used. */
  private head: OutFile | null = null;
  private tail: OutFile | null = null;
  private activeCount = 0;
  private nextId = 1;
  private readonly chunks: SharedChunk[] = [];
  private readonly byBuffer = new Map<ArrayBufferLike, SharedChunk>();
  private readonly free: SharedChunk[] = [];
  /** Slots the worker has been told of. */
  private registered = 0;
  private side: SharedChunk | null = null;
  private sideLen = 0;
  private sideChunks = 0;
  /** The batch being built: its operations, paths and the chunks it points into. */
  private ops = new Int32Array(OP_WORDS * 1024);
  private opsLen = 0;
  private paths: string[] = [];
  private held: SharedChunk[] = [];
  private seq = 0;
  /** Chunks referenced by each batch in flight, by sequence number. */
  private readonly inFlight = new Map<number, SharedChunk[]>();
  private error: PodspanError | null = null;
  /** Times the writer closed a file early because file descriptors ran out (it reopens it to append). */
  shedCount = 0;
  private wake: (() => void) | null = null;
  private wakePromise: Promise<void> | null = null;

  constructor(opts: StreamFilesOptions = {}) {
    this.maxActive = opts.maxActive ?? 256;
    this.maxChunks = Math.max(4, opts.maxChunks ?? 16);
    this.workerUrl = opts.workerUrl ?? new URL('./streams-io.js', import.meta.url);
  }

  file(path: string): OutFile {
    return new OutFile(path, this.nextId++);
  }

  /**
   * A shared chunk of CHUNK_BYTES for the reader to read into, held until `release()`;
   * waits while every chunk is taken. Data appended from it is not copied.
   */
  async chunk(): Promise<Buffer> {
    for (;;) {
      this.check();
      const c = this.take();
      if (c !== null) return c.buf;
      // The reader holds every chunk (one record longer than all of them): a private
      // buffer, whose data is copied like any other.
      if (this.inFlight.size === 0 && this.opsLen === 0) return Buffer.allocUnsafeSlow(CHUNK_BYTES);
      // Everything is with the worker or the reader: what is queued must go out to come back.
      this.submit();
      await this.waitChange();
    }
  }

  /** The reader no longer refers to `buf` (a chunk from `chunk()`). */
  release(buf: Buffer): void {
    const c = this.byBuffer.get(buf.buffer);
    if (c !== undefined) this.unref(c);
  }

  /** Appends `data` to `f`: queued as a view when it lies in a shared chunk, else copied into a side chunk first. */
  append(f: OutFile, data: Buffer): void {
    const n = data.length;
    if (n === 0) return;
    f.bytes += n;
    this.touch(f);
    const c = this.byBuffer.get(data.buffer);
    if (c !== undefined) {
      this.op(f, OP_DATA, c, data.byteOffset, n);
      return;
    }
    for (let done = 0; done < n; ) {
      let s = this.side;
      if (s === null || this.sideLen === CHUNK_BYTES) s = this.newSide();
      const k = Math.min(n - done, CHUNK_BYTES - this.sideLen);
      s.buf.set(k === n ? data : data.subarray(done, done + k), this.sideLen);
      this.op(f, OP_DATA, s, this.sideLen, k);
      this.sideLen += k;
      done += k;
    }
  }

  /** No more bytes for now: close `f` (it may be appended to again). */
  retire(f: OutFile): void {
    if (f.active) this.unlink(f);
    if (f.open) {
      this.op(f, OP_CLOSE, null, 0, 0);
      f.open = false;
    }
  }

  /** Sends what is queued to the worker. */
  submit(): void {
    if (this.opsLen === 0) return;
    const held = this.held;
    const batch: IoBatch = { type: 'batch', seq: this.seq++, ops: this.ops.slice(0, this.opsLen), paths: this.paths };
    this.opsLen = 0;
    this.paths = [];
    this.held = [];
    if (this.error !== null) {
      // The run has failed (the worker reported an error or died): nothing more is written.
      for (const c of held) this.unref(c);
      return;
    }
    try {
      const w = this.worker ?? this.startWorker();
      if (this.registered < this.chunks.length) {
        const msg: IoSlots = { type: 'slots', first: this.registered, chunks: this.chunks.slice(this.registered).map((c) => c.buf.buffer as SharedArrayBuffer) };
        this.registered = this.chunks.length;
        w.postMessage(msg);
      }
      w.postMessage(batch);
      this.inFlight.set(batch.seq, held);
    } catch (e) {
      // No thread could be started (a pids limit), or it is gone.
      for (const c of held) this.unref(c);
      this.fail(`stream file writer failed: ${(e as Error).message}`);
    }
  }

  /** True when the producer should wait for idle() before appending more. */
  busy(): boolean {
    return this.sideChunks > this.maxChunks / 2 || this.error !== null;
  }

  /** Resolves when busy() turns false. Throws the first write error. */
  async idle(): Promise<void> {
    this.check();
    while (this.busy()) {
      this.submit();
      await this.waitChange();
      this.check();
    }
  }

  /** Closes every file and resolves once everything is written; throws the first error. Files may be appended to again. */
  async flush(): Promise<void> {
    while (this.head !== null) this.retire(this.head);
    this.submit();
    while (this.inFlight.size > 0 && this.error === null) await this.waitChange();
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

  private startWorker(): Worker {
    const w = new Worker(this.workerUrl);
    w.on('message', (r: IoReply) => this.onReply(r));
    w.on('error', (e) => this.fail(`stream file writer failed: ${e.message}`));
    // terminate() by close() comes after every batch was answered; an exit before that is a death.
    w.on('exit', (code) => {
      if (this.inFlight.size > 0 || this.opsLen > 0) this.fail(`stream file writer exited (code ${code}) with writes pending`);
    });
    this.worker = w;
    return w;
  }

  /** The run fails: the first error is kept, batches in flight will not be answered, waiters wake. */
  private fail(message: string): void {
    this.error ??= new PodspanError(ERR.IO, message);
    for (const held of this.inFlight.values()) for (const c of held) this.unref(c);
    this.inFlight.clear();
    this.changed();
  }

  /** A free chunk with one reference, or null when maxChunks are taken. */
  private take(): SharedChunk | null {
    const c = this.free.pop() ?? (this.chunks.length < this.maxChunks ? this.make() : null);
    if (c !== null) c.refs = 1;
    return c;
  }

  /** A new chunk in the next slot (told to the worker with the next batch). */
  private make(): SharedChunk {
    const c = new SharedChunk(this.chunks.length, CHUNK_BYTES);
    this.chunks.push(c);
    this.byBuffer.set(c.buf.buffer, c);
    return c;
  }

  /**
   * A side chunk to copy into. Past maxChunks one is made anyway (busy() then holds the
   * producer back; what one record delivers at once is bounded by the reassembler's caps)
   * and kept for reuse.
   */
  private newSide(): SharedChunk {
    const old = this.side;
    if (old !== null) {
      this.side = null;
      this.unref(old);
    }
    let c = this.take();
    if (c === null) {
      c = this.make();
      c.refs = 1;
    }
    c.side = true;
    this.side = c;
    this.sideLen = 0;
    this.sideChunks++;
    return c;
  }

  private unref(c: SharedChunk): void {
    if (--c.refs > 0) return;
    if (c.side) {
      c.side = false;
      this.sideChunks--;
    }
    this.free.push(c);
  }

  private op(f: OutFile, flags: number, c: SharedChunk | null, off: number, len: number): void {
    if ((flags & OP_DATA) !== 0 && !f.open) {
      flags |= OP_OPEN | (f.submitted ? OP_APPEND : 0);
      this.paths.push(f.path);
      f.open = true;
      f.submitted = true;
    }
    if (c !== null && c.batch !== this.seq) {
      c.batch = this.seq;
      c.refs++;
      this.held.push(c);
    }
    let o = this.ops;
    const at = this.opsLen;
    if (at + OP_WORDS > o.length) {
      o = new Int32Array(o.length * 2);
      o.set(this.ops);
      this.ops = o;
    }
    o[at] = f.id;
    o[at + 1] = flags;
    o[at + 2] = c === null ? -1 : c.slot;
    o[at + 3] = off;
    o[at + 4] = len;
    this.opsLen = at + OP_WORDS;
    if (this.opsLen >= OP_WORDS * BATCH_OPS) this.submit();
  }

  private onReply(r: IoReply): void {
    const held = this.inFlight.get(r.seq);
    this.inFlight.delete(r.seq);
    if (held !== undefined) for (const c of held) this.unref(c);
    this.shedCount += r.shed;
    if (r.error !== null) {
      const code = r.error.code;
      const hint = code === 'EMFILE' || code === 'ENFILE' ? 'out of file descriptors: raise ulimit -n' : 'check the output directory: space, permissions';
      this.error ??= new PodspanError(ERR.IO, `cannot ${r.error.what} ${r.error.path}: ${code} (${hint})`);
    }
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
