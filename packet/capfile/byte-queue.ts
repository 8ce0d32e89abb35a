import { Buffer } from 'node:buffer';

/** Initial size of the gather buffer; it doubles up to the largest record asked for. */
const SCRATCH_INITIAL_LEN = 64 * 1024;
/** Drop consumed chunk references from the front of the list once this many pile up. */
const COMPACT_AFTER_CHUNKS = 1024;

/**
 * The unread input of a streaming reader: a list of pushed chunks and a read position.
 *
 * `peek(n)` gives the next `n` bytes as ONE contiguous Buffer: a `subarray` of the current
 * chunk when they lie in it (no copy), else a copy into an internal growable buffer (the
 * only copy the readers make, for records that straddle chunks). The returned view is
 * valid until the next `peek()`; the chunks themselves are referenced, not copied, so a
 * caller must not modify a chunk after `push()`.
 *
 * Memory: the queue holds what was pushed and not yet consumed (`available`); the gather
 * buffer grows to the largest `n` peeked, so callers check `n` against their cap first.
 */
export class ByteQueue {
  private chunks: Buffer[] = [];
  /** Index of the current chunk in `chunks`. */
  private head = 0;
  /** Read position in the current chunk. */
  private headPos = 0;
  private scratch: Buffer = Buffer.alloc(0);
  /** Bytes pushed and not yet consumed. */
  available = 0;
  /** Bytes consumed since the start: the file offset of the read position. */
  offset = 0;

  /** Appends a chunk (kept by reference). Empty chunks are ignored. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.available += chunk.length;
  }

  /** After `ensure()` returns true: the Buffer holding the next bytes, at `pos`. */
  buf: Buffer = Buffer.alloc(0);
  pos = 0;

  /**
   * Makes the next `n` bytes readable in one Buffer, `buf` at `pos`, without creating a
   * view: the current chunk when they lie in it, else the gather buffer (a copy). Returns
   * false when fewer are buffered. Does not consume.
   */
  ensure(n: number): boolean {
    if (n > this.available) return false;
    const chunk = this.chunks[this.head];
    if (chunk === undefined || chunk.length - this.headPos >= n) {
      this.buf = chunk ?? this.scratch;
      this.pos = chunk === undefined ? 0 : this.headPos;
      return true;
    }
    this.gather(n);
    this.buf = this.scratch;
    this.pos = 0;
    return true;
  }

  /**
   * The next `n` bytes as one contiguous view, or null when fewer are buffered. Does not
   * consume. Copies only when the bytes span chunks.
   */
  peek(n: number): Buffer | null {
    if (!this.ensure(n)) return null;
    return this.buf.subarray(this.pos, this.pos + n);
  }

  private gather(n: number): void {
    if (this.scratch.length < n) {
      let len = Math.max(this.scratch.length, SCRATCH_INITIAL_LEN);
      while (len < n) len *= 2;
      this.scratch = Buffer.allocUnsafe(len);
    }
    let copied = 0;
    let i = this.head;
    let pos = this.headPos;
    while (copied < n) {
      const c = this.chunks[i]!;
      const take = Math.min(c.length - pos, n - copied);
      c.copy(this.scratch, copied, pos, pos + take);
      copied += take;
      i++;
      pos = 0;
    }
  }

  /** Consumes `n` bytes (n <= available). Views returned by `peek()` stay readable. */
  skip(n: number): void {
    if (n > this.available) throw new RangeError(`ByteQueue.skip(${n}) beyond ${this.available} buffered bytes`);
    this.available -= n;
    this.offset += n;
    let left = n;
    while (left > 0) {
      const c = this.chunks[this.head]!;
      const rest = c.length - this.headPos;
      if (left < rest) {
        this.headPos += left;
        left = 0;
      } else {
        left -= rest;
        this.head++;
        this.headPos = 0;
      }
    }
    if (this.head === this.chunks.length) {
      this.chunks.length = 0;
      this.head = 0;
    } else if (this.head >= COMPACT_AFTER_CHUNKS) {
      this.chunks.splice(0, this.head);
      this.head = 0;
    }
  }
}
