import { open } from 'node:fs/promises';
import { checkCaptureFile } from '../collector/capture-file.js';
import { CapfileReader } from '../packet/capfile/reader.js';
import type { PacketRecord } from '../packet/capfile/types.js';

const CHUNK = 1 << 20;

/**
 * Where a file is read into: `chunk()` gives a buffer (of at least 64 KiB) to read into,
 * `release()` takes back one that the consumer no longer refers to. The default keeps
 * CHUNK-byte buffers for reuse.
 */
export interface ChunkSource {
  chunk(): Buffer | Promise<Buffer>;
  release(buf: Buffer): void;
}

function reusedChunks(): ChunkSource {
  const spare: Buffer[] = [];
  return {
    chunk: () => spare.pop() ?? Buffer.allocUnsafeSlow(CHUNK),
    release: (buf) => {
      spare.push(buf);
    },
  };
}

/**
 * Opens FILE, or standard input for '-', as a stream of chunks. For a file, the caller may
 * answer `next(true)` to say that the chunks before the one just received are no longer
 * referenced, so they go back to `source`; any other answer keeps them.
 */
export async function* inputChunks(path: string, source: ChunkSource = reusedChunks()): AsyncGenerator<Buffer, void, boolean | undefined> {
  if (path === '-') {
    for await (const c of process.stdin) yield c as Buffer;
    return;
  }
  await checkCaptureFile(path);
  // Read buffers reused: the consumer (forEachRecord) hands one back only once the reader no
  // longer needs it, so reading a large file makes no garbage for the GC to chase. The next
  // chunk is read while the consumer works on this one (three buffers in the steady state:
  // one still referenced, one being decoded, one being read).
  const fh = await open(path, 'r');
  let pending: Promise<{ bytesRead: number }> | undefined;
  try {
    // Chunks before the current one, still referenced by the consumer (a record longer than a chunk).
    const older: Buffer[] = [];
    let buf: Buffer = await source.chunk();
    pending = fh.read(buf, 0, buf.length, null);
    for (;;) {
      const { bytesRead } = await pending;
      pending = undefined;
      if (bytesRead === 0) {
        source.release(buf);
        return;
      }
      const cur = buf;
      buf = await source.chunk();
      pending = fh.read(buf, 0, buf.length, null);
      // The answer is about the chunks before this one.
      const recycle = yield cur.subarray(0, bytesRead);
      if (recycle === true) for (let b = older.pop(); b !== undefined; b = older.pop()) source.release(b);
      older.push(cur);
    }
  } finally {
    // Stopped early (the consumer threw): let the read in flight finish before closing.
    if (pending !== undefined) await pending.catch(() => undefined);
    await fh.close();
  }
}

export interface ForEachRecordOptions {
  /** Buffers to read into (default: reused private ones). */
  source?: ChunkSource;
  /** Called after the records of each chunk read. */
  onChunkDone?: () => void;
}

/** Returned by a forEachRecord callback: read no further (tcpdump -c, a closed pipe). */
export const STOP_READING = Symbol('stop reading');

/**
 * Reads every record of a capture file, calling `onRecord` for each. The record is the
 * reader's reused object: valid only during the call. `onRecord` may return a promise
 * (output back-pressure), which is awaited, or STOP_READING: then the input is closed at
 * once (a live pipe is not read to its end) and nothing after that record is looked at.
 * Throws the reader's PodspanError after the last complete record of a cut-off or invalid
 * file.
 */
export async function forEachRecord(
  path: string,
  onRecord: (rec: PacketRecord, reader: CapfileReader) => Promise<void> | undefined | void | typeof STOP_READING,
  reader: CapfileReader = new CapfileReader(),
  opts: ForEachRecordOptions = {},
): Promise<CapfileReader> {
  const chunks = inputChunks(path, opts.source);
  let recycle = false;
  try {
    for (let it = await chunks.next(); !it.done; it = await chunks.next(recycle)) {
      const chunk = it.value;
      reader.push(chunk);
      for (let rec = reader.next(); rec !== null; rec = reader.next()) {
        const p = onRecord(rec, reader);
        if (p === STOP_READING) return reader;
        if (p) await p;
      }
      // Everything the reader still needs lies in the chunk just pushed: the ones before it are
      // free (a record longer than a chunk keeps them referenced until a later chunk).
      recycle = reader.bufferedBytes <= chunk.length;
      opts.onChunkDone?.();
    }
  } finally {
    // Stopped by an error (the reader's or the consumer's): the read in flight finishes and
    // the file is closed.
    await chunks.return(undefined);
  }
  reader.end();
  for (let rec = reader.next(); rec !== null; rec = reader.next()) {
    const p = onRecord(rec, reader);
    if (p === STOP_READING) break;
    if (p) await p;
  }
  return reader;
}
