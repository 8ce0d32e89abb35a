/**
 * Where the pcapng bytes go: a file (`-w FILE`) or standard output (`-w -`). One write at a
 * time; `write()` resolves when the kernel has every byte, so the caller can reuse the
 * Buffer. A slow reader therefore holds the writer, which holds the capture batch, which
 * leaves frames in the kernel ring: the kernel drops and counts the excess (pcap_stats
 * ps_drop), and podspan's memory does not grow.
 */
import { close as fsClose, fstatSync, ftruncateSync, openSync, writev as fsWritev } from 'node:fs';
import { Socket } from 'node:net';
import { isatty } from 'node:tty';

import { AGENT_ERR, AgentError } from '../errors.js';

export interface FrameSink {
  /** What the bytes go to, for messages ("capture.pcapng", "standard output"). */
  readonly name: string;
  /**
   * Writes all of `bufs`, in order; resolves when the kernel has every byte (then the
   * Buffers may be reused). Rejects with the write error (code EPIPE when the reader went
   * away).
   */
  write(bufs: readonly Buffer[]): Promise<void>;
  /** Flushes and closes; idempotent; never rejects. */
  close(): Promise<void>;
}

/** A write that found a non-blocking fd full waits this long before retrying. */
const EAGAIN_RETRY_MS = 2;
/** close() waits at most this long for a pipe reader to take the last bytes. */
const CLOSE_TIMEOUT_MS = 5_000;

function writevSome(fd: number, bufs: Buffer[]): Promise<number> {
  return new Promise((resolve, reject) => {
    fsWritev(fd, bufs, null, (err, n) => (err === null ? resolve(n) : reject(err)));
  });
}

/** Drops the first `n` bytes of `bufs` (views, no copies). */
function advance(bufs: Buffer[], n: number): Buffer[] {
  let i = 0;
  let left = n;
  while (i < bufs.length && left >= bufs[i]!.length) left -= bufs[i++]!.length;
  const rest = bufs.slice(i);
  if (left > 0 && rest.length > 0) rest[0] = rest[0]!.subarray(left);
  return rest;
}

/** Writes through the libuv thread pool with fs.write: regular files, /dev/null. */
export class FdSink implements FrameSink {
  readonly name: string;
  private fd: number;
  private readonly ownsFd: boolean;
  private closed: boolean;
  /** Bytes written through this sink (the file's length, for a file it created). */
  private offset = 0;

  constructor(fd: number, name: string, ownsFd: boolean) {
    this.fd = fd;
    this.name = name;
    this.ownsFd = ownsFd;
    this.closed = false;
  }

  /**
   * Writes every buffer, or throws. A file this sink created is then cut back to where the
   * call began: the caller counts the whole batch as not written (write_error), and the file
   * ends at a block boundary instead of holding part of it.
   */
  async write(bufs: readonly Buffer[]): Promise<void> {
    let rest = bufs.filter((b) => b.length > 0);
    let left = rest.reduce((a, b) => a + b.length, 0);
    const start = this.offset;
    while (left > 0) {
      if (this.closed) throw Object.assign(new Error(`${this.name} is closed`), { code: 'EBADF' });
      let n: number;
      try {
        n = await writevSome(this.fd, rest); // libuv splits at IOV_MAX and retries short writes
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') {
          if (this.ownsFd && this.offset > start) {
            try {
              ftruncateSync(this.fd, start);
              this.offset = start;
            } catch {
              // left as it is: a reader stops at the cut block
            }
          }
          throw e;
        }
        await new Promise((r) => setTimeout(r, EAGAIN_RETRY_MS)); // non-blocking fd inherited from a parent
        continue;
      }
      left -= n;
      this.offset += n;
      if (left > 0) rest = advance(rest, n);
    }
  }

  close(): Promise<void> {
    if (this.closed || !this.ownsFd) {
      this.closed = true;
      return Promise.resolve();
    }
    this.closed = true;
    return new Promise((resolve) => fsClose(this.fd, () => resolve()));
  }
}

/** Writes to a pipe or socket on standard output through libuv's stream (non-blocking). */
export class PipeSink implements FrameSink {
  readonly name: string;
  private readonly socket: Socket;
  private error: NodeJS.ErrnoException | undefined;
  private closing: Promise<void> | undefined;

  constructor(fd: number, name: string) {
    this.name = name;
    this.socket = new Socket({ fd, readable: false, writable: true });
    this.error = undefined;
    this.closing = undefined;
    this.socket.on('error', (e: NodeJS.ErrnoException) => {
      this.error = e;
    });
  }

  write(bufs: readonly Buffer[]): Promise<void> {
    if (this.error !== undefined) return Promise.reject(this.error);
    if (bufs.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (err: Error | null | undefined): void => {
        if (err === null || err === undefined) resolve();
        else reject(err);
      };
      // Corked: one writev for the whole list; the last callback fires once all of it is out.
      this.socket.cork();
      for (let i = 0; i < bufs.length - 1; i++) this.socket.write(bufs[i]!);
      this.socket.write(bufs[bufs.length - 1]!, done);
      this.socket.uncork();
    });
  }

  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.closing = new Promise((resolve) => {
      if (this.error !== undefined || this.socket.destroyed) {
        this.socket.destroy();
        resolve();
        return;
      }
      const timer = setTimeout(() => {
        this.socket.destroy();
        resolve();
      }, CLOSE_TIMEOUT_MS);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.socket.end();
    });
    return this.closing;
  }
}

/**
 * Opens (creates or truncates) `path` for writing. Throws AgentError WRITE with the
 * system's reason when it cannot be opened.
 */
export function openFileSink(path: string): FdSink {
  let fd: number;
  try {
    fd = openSync(path, 'w', 0o644);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new AgentError(AGENT_ERR.WRITE, `cannot write ${path}: ${err.message}`, { errno: err.code ?? '' });
  }
  return new FdSink(fd, path, true);
}

/**
 * Standard output: a pipe or socket gets a PipeSink, a file or device an FdSink. Refuses a
 * terminal (pcapng is binary): AgentError WRITE.
 */
export function openStdoutSink(fd = 1): FrameSink {
  if (isatty(fd)) {
    throw new AgentError(AGENT_ERR.WRITE, 'standard output is a terminal: pipe pcapng into a reader (-w - | tshark -r -) or redirect it to a file');
  }
  let st;
  try {
    st = fstatSync(fd);
  } catch (e) {
    throw new AgentError(AGENT_ERR.WRITE, `standard output is not open: ${(e as Error).message}`);
  }
  if (st.isFIFO() || st.isSocket()) return new PipeSink(fd, 'standard output');
  return new FdSink(fd, 'standard output', false);
}
