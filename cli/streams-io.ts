/**
 * Worker thread of StreamFiles (cli/streams-files.ts): runs the open(2), write(2) and
 * close(2) calls of `podspan streams`, in the order the main thread queued them, so the
 * kernel's share of writing the files runs beside the reassembly. Batches arrive as
 * { ops, paths, bufs }: `ops` is a flat Int32Array of OP_WORDS-word records
 * [fileId, flags, len]; a record with OP_OPEN takes the next path, one with OP_DATA the
 * next buffer (its first `len` bytes). Every buffer is transferred back with the reply,
 * with the first error. After an error, later operations are skipped (the run fails with
 * PODSPAN_ERR_IO).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';

export const OP_OPEN = 1;
export const OP_APPEND = 2;
export const OP_DATA = 4;
export const OP_CLOSE = 8;
export const OP_WORDS = 3;

export interface IoBatch {
  ops: Int32Array;
  paths: string[];
  bufs: ArrayBuffer[];
}

export interface IoReply {
  bufs: ArrayBuffer[];
  /** The first failure: what was done, to which path, and errno's code. */
  error: { what: string; path: string; code: string } | null;
}

if (parentPort !== null) {
  const port = parentPort;
  const fds = new Map<number, { fd: number; path: string }>();
  let error: IoReply['error'] = null;
  port.on('message', (m: IoBatch) => {
    const { ops, paths, bufs } = m;
    let pi = 0;
    let bi = 0;
    for (let i = 0; i + OP_WORDS <= ops.length; i += OP_WORDS) {
      const id = ops[i]!;
      const flags = ops[i + 1]!;
      const len = ops[i + 2]!;
      const path = (flags & OP_OPEN) !== 0 ? paths[pi++]! : undefined;
      const buf = (flags & OP_DATA) !== 0 ? bufs[bi++]! : undefined;
      if (error !== null) continue;
      let what = 'create';
      let at = path ?? fds.get(id)?.path ?? '';
      try {
        if (path !== undefined) fds.set(id, { fd: openSync(path, (flags & OP_APPEND) !== 0 ? 'a' : 'w'), path });
        const f = fds.get(id);
        if (f === undefined) continue;
        at = f.path;
        if (buf !== undefined) {
          what = 'write';
          const view = new Uint8Array(buf, 0, len);
          for (let done = 0; done < len; ) done += writeSync(f.fd, view, done, len - done);
        }
        if ((flags & OP_CLOSE) !== 0) {
          what = 'close';
          fds.delete(id);
          closeSync(f.fd);
        }
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        error = { what, path: at, code: err.code ?? err.message };
      }
    }
    const reply: IoReply = { bufs, error };
    port.postMessage(reply, bufs);
  });
}
