import { ERR, PodspanError } from '../packet/errors.js';

/**
 * Resolves when `stream` drains or closes; rejects on an error other than EPIPE, resolves
 * `true` on EPIPE (the reader went away). Removes its listeners either way.
 */
export function waitDrain(stream: NodeJS.WritableStream): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      stream.removeListener('drain', onDrain);
      stream.removeListener('close', onDrain);
      stream.removeListener('error', onError);
    };
    const onDrain = (): void => {
      done();
      resolve(false);
    };
    const onError = (e: NodeJS.ErrnoException): void => {
      done();
      if (e.code === 'EPIPE') resolve(true);
      else reject(e);
    };
    stream.on('drain', onDrain);
    stream.on('close', onDrain);
    stream.on('error', onError);
  });
}

const CHUNK = 1 << 20;
/** Longest line a single packet can produce, with room to spare (tunnel lists are capped by the parser's layer cap). */
const MAX_LINE = 4096;

/**
 * Line output for people and pipes, byte-level for the per-packet path of `podspan read`: text is written as ASCII
 * straight into a 1 MiB Buffer (digits and dotted quads from numbers, constant pieces from
 * pre-encoded Buffers), so no per-packet string is built or encoded. Full chunks are handed to
 * the stream (ownership passes; a new chunk is allocated), waiting for 'drain' under
 * back-pressure. A closed pipe (`| head`) ends output quietly.
 */
export class ByteOutput {
  buf: Buffer = Buffer.allocUnsafe(CHUNK);
  pos = 0;
  private closed = false;
  /** A write error other than EPIPE (ENOSPC on a redirect, EIO…): thrown by flush(). */
  private failure: PodspanError | undefined = undefined;
  private readonly stream: NodeJS.WritableStream;
  /** Set while the stream is full: callers producing output outside flush() await it. */
  pending: Promise<void> | undefined = undefined;

  constructor(stream: NodeJS.WritableStream = process.stdout) {
    this.stream = stream;
    stream.on('error', (e: NodeJS.ErrnoException) => this.fail(e));
  }

  /** The stream failed: EPIPE ends output quietly (| head), anything else is an error for flush() to throw. */
  private fail(e: NodeJS.ErrnoException): void {
    this.closed = true;
    if (e.code !== 'EPIPE') this.failure ??= new PodspanError(ERR.IO, `cannot write standard output: ${e.message}`);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Call before writing a line: flushes when the chunk might not hold it. */
  reserve(): Promise<void> | undefined {
    return this.pos + MAX_LINE > this.buf.length ? this.flush() : undefined;
  }

  /** Copies a short constant piece (TypedArray#set: no Buffer#copy argument checks). */
  /**
   * One line of text (UTF-8: it may hold a user's path) and its newline. Returns a promise
   * only when a flush must be awaited (back-pressure).
   */
  line(s: string): Promise<void> | undefined {
    if (s.length * 3 >= MAX_LINE) {
      // Maybe longer than a reserved slot: hand it to the stream after what is buffered.
      const p = this.flush();
      if (!this.closed) this.stream.write(s + '\n');
      return p;
    }
    const p = this.reserve();
    this.pos += this.buf.write(s, this.pos, 'utf8');
    this.byte(10);
    return p;
  }

  bytes(b: Uint8Array): void {
    const dst = this.buf;
    let p = this.pos;
    for (let i = 0; i < b.length; i++) dst[p++] = b[i]!;
    this.pos = p;
  }

  /** ASCII text (callers pass only ASCII: names, hex, formatted IPv6). */
  ascii(s: string): void {
    this.pos += this.buf.write(s, this.pos, 'latin1');
  }

  byte(c: number): void {
    this.buf[this.pos++] = c;
  }

  /** A non-negative integer below 2^53, in decimal. */
  uint(n: number): void {
    const dst = this.buf;
    if (n < 10) {
      dst[this.pos++] = 48 + n;
      return;
    }
    let digits: number;
    if (n < 100) digits = 2;
    else if (n < 1000) digits = 3;
    else if (n < 10000) digits = 4;
    else if (n < 100000) digits = 5;
    else if (n < 1000000) digits = 6;
    else if (n < 10000000) digits = 7;
    else if (n < 100000000) digits = 8;
    else if (n < 1000000000) digits = 9;
    else if (n < 10000000000) digits = 10;
    else digits = String(n).length;
    let p = this.pos + digits;
    this.pos = p;
    let x = n;
    // Above 2^31 the 32-bit shortcut does not hold: divide in doubles first.
    while (x > 0x7fffffff) {
      const q = Math.floor(x / 10);
      dst[--p] = 48 + (x - q * 10);
      x = q;
    }
    while (x >= 10) {
      const q = (x / 10) | 0;
      dst[--p] = 48 + (x - q * 10);
      x = q;
    }
    dst[--p] = 48 + x;
  }

  /** An integer 0..999_999_999 as exactly nine digits. */
  nine(n: number): void {
    let p = this.pos + 9;
    this.pos = p;
    let x = n;
    for (let i = 0; i < 9; i++) {
      const q = (x / 10) | 0;
      this.buf[--p] = 48 + (x - q * 10);
      x = q;
    }
  }

  /** Dotted quad of the 4 bytes at `off` of `src`. */
  ipv4(src: Buffer, off: number): void {
    this.uint(src.readUInt8(off));
    this.buf[this.pos++] = 46;
    this.uint(src.readUInt8(off + 1));
    this.buf[this.pos++] = 46;
    this.uint(src.readUInt8(off + 2));
    this.buf[this.pos++] = 46;
    this.uint(src.readUInt8(off + 3));
  }

  /** Writes what is buffered; throws PODSPAN_ERR_IO once the stream failed (not for EPIPE). */
  async flush(): Promise<void> {
    if (this.pos === 0 || this.closed) {
      this.pos = 0;
      if (this.failure !== undefined) throw this.failure;
      return;
    }
    const chunk = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(CHUNK);
    this.pos = 0;
    if (!this.stream.write(chunk) && this.pending === undefined) {
      this.pending = waitDrain(this.stream).then(
        (epipe) => {
          if (epipe) this.closed = true;
          this.pending = undefined;
        },
        (e: NodeJS.ErrnoException) => {
          this.fail(e);
          this.pending = undefined;
        },
      );
    }
    if (this.pending !== undefined) await this.pending;
    if (this.failure !== undefined) throw this.failure;
  }
}
