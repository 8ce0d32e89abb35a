/**
 * Worker thread of StreamFiles (cli/streams-files.ts): runs the open(2), writev(2) and
 * close(2) calls of `podspan streams`, so the kernel's share of writing the files runs
 * beside the reassembly.
 *
 * The bytes are never copied between threads: they stay in SharedArrayBuffer chunks that
 * both threads see (the input file's read buffers, and side buffers for data the
 * reassembler held out of order). A `slots` message registers chunks by slot number; a
 * batch is a flat Int32Array of OP_WORDS-word records [fileId, flags, slot, offset, len]
 * plus the paths of its OP_OPEN records, in order. A file's data records are gathered and
 * written with one writev per file per batch (in the order queued; files are independent),
 * before the file is closed and at the end of the batch. Each batch is answered with its
 * sequence number and the first error, after which later operations are skipped (the run
 * fails with PODSPAN_ERR_IO).
 *
 * Out of file descriptors (EMFILE under a low `ulimit -n`, or ENFILE), the worker closes the
 * file it opened longest ago, after writing what it had gathered for it, and opens it again
 * for appending when it is next written to; each reply says how many times it did so.
 */
import { closeSync, openSync, writeSync, writevSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';

export const OP_OPEN = 1;
export const OP_APPEND = 2;
export const OP_DATA = 4;
export const OP_CLOSE = 8;
export const OP_WORDS = 5;

/** Views per writev(2) call; Linux's IOV_MAX is 1024. */
const IOV_MAX = 1024;

export interface IoSlots {
  type: 'slots';
  /** Chunks for slots first, first + 1, … */
  first: number;
  chunks: SharedArrayBuffer[];
}

export interface IoBatch {
  type: 'batch';
  seq: number;
  ops: Int32Array;
  paths: string[];
}

export interface IoReply {
  seq: number;
  /** The first failure: what was done, to which path, and errno's code. */
  error: { what: string; path: string; code: string } | null;
  /** Times in this batch a file was closed early because descriptors ran out (reopened when written to). */
  shed: number;
}

interface OpenFile {
  fd: number;
  path: string;
  /** Views gathered in this batch, not yet written. */
  views: Uint8Array[];
}

/** Writes every view, in order, resuming after a short write. */
function writeAll(fd: number, views: Uint8Array[]): void {
  for (let i = 0; i < views.length; i += IOV_MAX) {
    const part = views.length <= IOV_MAX ? views : views.slice(i, i + IOV_MAX);
    let want = 0;
    for (const v of part) want += v.length;
    const n = writevSync(fd, part);
    if (n === want) continue;
    // A short write (a full disk reports itself on the retry): write the rest view by view.
    let skip = n;
    for (const v of part) {
      if (skip >= v.length) {
        skip -= v.length;
        continue;
      }
      for (let done = skip; done < v.length; ) done += writeSync(fd, v, done, v.length - done);
      skip = 0;
    }
  }
}

if (parentPort !== null) {
  const port = parentPort;
  const chunks: SharedArrayBuffer[] = [];
  /** Open files, the longest open first (Map keeps insertion order). */
  const files = new Map<number, OpenFile>();
  /** Paths of files closed early for want of descriptors, by file id. */
  const parked = new Map<number, string>();
  let shed = 0;
  /** Files with views gathered in the current batch. */
  const dirty: OpenFile[] = [];
  let error: IoReply['error'] = null;
  let what = '';
  let at = '';

  const flush = (f: OpenFile): void => {
    if (f.views.length === 0) return;
    what = 'write';
    at = f.path;
    writeAll(f.fd, f.views);
    f.views = [];
  };

  /** Flushes and closes the longest-open file but `keep`; false when there is none. */
  const shedOne = (keep: number): boolean => {
    for (const [id, f] of files) {
      if (id === keep) continue;
      flush(f);
      files.delete(id);
      what = 'close';
      at = f.path;
      closeSync(f.fd);
      parked.set(id, f.path);
      shed++;
      return true;
    }
    return false;
  };

  const open = (id: number, path: string, append: boolean): OpenFile => {
    what = 'create';
    at = path;
    for (;;) {
      try {
        const f: OpenFile = { fd: openSync(path, append ? 'a' : 'w'), path, views: [] };
        files.set(id, f);
        return f;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if ((code !== 'EMFILE' && code !== 'ENFILE') || !shedOne(id)) throw e;
        what = 'create';
        at = path;
      }
    }
  };

  const run = (m: IoBatch): void => {
    const { ops, paths } = m;
    let pi = 0;
    try {
      for (let i = 0; i + OP_WORDS <= ops.length; i += OP_WORDS) {
        const id = ops[i]!;
        const flags = ops[i + 1]!;
        let f = files.get(id);
        if ((flags & OP_OPEN) !== 0) {
          parked.delete(id);
          f = open(id, paths[pi++]!, (flags & OP_APPEND) !== 0);
        }
        if ((flags & OP_DATA) !== 0) {
          if (f === undefined) {
            const path = parked.get(id);
            if (path === undefined) continue;
            parked.delete(id);
            f = open(id, path, true);
          }
          const len = ops[i + 4]!;
          if (f.views.length === 0) dirty.push(f);
          f.views.push(new Uint8Array(chunks[ops[i + 2]!]!, ops[i + 3]!, len));
        }
        if ((flags & OP_CLOSE) !== 0) parked.delete(id);
        if (f === undefined) continue;
        if ((flags & OP_CLOSE) !== 0) {
          flush(f);
          files.delete(id);
          what = 'close';
          at = f.path;
          closeSync(f.fd);
        }
      }
      for (const f of dirty) flush(f);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      error = { what, path: at, code: err.code ?? err.message };
    }
    dirty.length = 0;
  };

  port.on('message', (m: IoSlots | IoBatch) => {
    if (m.type === 'slots') {
      for (let k = 0; k < m.chunks.length; k++) chunks[m.first + k] = m.chunks[k]!;
      return;
    }
    if (error === null) run(m);
    const reply: IoReply = { seq: m.seq, error, shed };
    shed = 0;
    port.postMessage(reply);
  });
}
