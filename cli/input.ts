import { open, stat } from 'node:fs/promises';
import { ERR, PodspanError } from '../packet/errors.js';
import { CapfileReader } from '../packet/capfile/reader.js';
import type { PacketRecord } from '../packet/capfile/types.js';

const CHUNK = 1 << 20;

/**
 * Opens FILE, or standard input for '-', as a stream of chunks. For a file, the caller may
 * answer `next(true)` to say that the chunk before the one just received is no longer
 * referenced, so its memory is read into again; any other answer leaves it alone.
 */
export async function* inputChunks(path: string): AsyncGenerator<Buffer, void, boolean | undefined> {
  if (path === '-') {
    for await (const c of process.stdin) yield c as Buffer;
    return;
  }
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw new PodspanError(ERR.IO, `${path} is a directory, not a capture file`);
  } catch (e) {
    if (e instanceof PodspanError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new PodspanError(ERR.IO, `${path}: no such file`);
    if (err.code === 'EACCES') throw new PodspanError(ERR.IO, `${path}: permission denied`);
    throw e;
  }
  // Read buffers reused: the consumer (forEachRecord) hands one back only once the reader no
  // longer needs it, so reading a large file makes no garbage for the GC to chase. The next
  // chunk is read while the consumer works on this one (three buffers in the steady state:
  // one still referenced, one being decoded, one being read).
  const fh = await open(path, 'r');
  let pending: Promise<{ bytesRead: number }> | undefined;
  try {
    const spare: Buffer[] = [];
    let older: Buffer | undefined;
    let buf: Buffer = Buffer.allocUnsafeSlow(CHUNK);
    pending = fh.read(buf, 0, CHUNK, null);
    for (;;) {
      const { bytesRead } = await pending;
      pending = undefined;
      if (bytesRead === 0) return;
      const cur = buf;
      buf = spare.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
      pending = fh.read(buf, 0, CHUNK, null);
      // The answer is about the chunk before this one.
      const recycle = yield cur.subarray(0, bytesRead);
      if (recycle === true && older !== undefined) spare.push(older);
      older = cur;
    }
  } finally {
    // Stopped early (the consumer threw): let the read in flight finish before closing.
    if (pending !== undefined) await pending.catch(() => undefined);
    await fh.close();
  }
}

/**
 * Reads every record of a capture file, calling `onRecord` for each. The record is the
 * reader's reused object: valid only during the call. `onRecord` may return a promise
 * (output back-pressure), which is awaited. Throws the reader's PodspanError after the
 * last complete record of a cut-off or invalid file.
 */
export async function forEachRecord(
  path: string,
  onRecord: (rec: PacketRecord, reader: CapfileReader) => Promise<void> | undefined | void,
  reader: CapfileReader = new CapfileReader(),
): Promise<CapfileReader> {
  const chunks = inputChunks(path);
  let prev: Buffer | undefined;
  let recycle = false;
  for (let it = await chunks.next(); !it.done; it = await chunks.next(recycle)) {
    const chunk = it.value;
    reader.push(chunk);
    for (let rec = reader.next(); rec !== null; rec = reader.next()) {
      const p = onRecord(rec, reader);
      if (p) await p;
    }
    // Everything the reader still needs lies in the chunk just pushed: the one before it is
    // free (a record longer than a chunk keeps both referenced, and then nothing is reused).
    recycle = prev !== undefined && reader.bufferedBytes <= chunk.length;
    prev = chunk;
  }
  reader.end();
  for (let rec = reader.next(); rec !== null; rec = reader.next()) {
    const p = onRecord(rec, reader);
    if (p) await p;
  }
  return reader;
}
