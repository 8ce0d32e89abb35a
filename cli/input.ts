import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { ERR, PodspanError } from '../packet/errors.js';
import { CapfileReader } from '../packet/capfile/reader.js';
import type { PacketRecord } from '../packet/capfile/types.js';

const CHUNK = 1 << 20;

/** Opens FILE, or standard input for '-', as a stream of chunks. */
export async function* inputChunks(path: string): AsyncGenerator<Buffer> {
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
  for await (const c of createReadStream(path, { highWaterMark: CHUNK })) yield c as Buffer;
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
  for await (const chunk of inputChunks(path)) {
    reader.push(chunk);
    for (let rec = reader.next(); rec !== null; rec = reader.next()) {
      const p = onRecord(rec, reader);
      if (p) await p;
    }
  }
  reader.end();
  for (let rec = reader.next(); rec !== null; rec = reader.next()) {
    const p = onRecord(rec, reader);
    if (p) await p;
  }
  return reader;
}
