import { Parser } from '../packet/decode/parser.js';
import { forEachRecord, STOP_READING } from './input.js';
import { formatText, writeJson } from './format.js';
import { ByteOutput } from './byte-output.js';

export interface ReadOptions {
  json: boolean;
  /** Print at most this many packets (tcpdump -c). */
  count?: number;
  /** Where the lines go; default standard output. */
  out?: NodeJS.WritableStream;
}

/**
 * `podspan read FILE [--json]`: one line per packet. On a cut-off or invalid file, every
 * complete record has been printed when the reader's error propagates (exit 1).
 */
export async function runRead(file: string, opts: ReadOptions): Promise<number> {
  const parser = new Parser();
  const limit = opts.count ?? Infinity;
  const out = new ByteOutput(opts.out);
  let printed = 0;
  try {
    await forEachRecord(file, (rec) => {
      // The reader of our output went away (| head): stop reading at once.
      if (out.isClosed) return STOP_READING;
      parser.decode(rec.data, rec.iface.linkType, rec.wireLen);
      printed++;
      let p: Promise<void> | undefined;
      if (opts.json) {
        p = out.reserve();
        writeJson(out, rec, parser);
      } else {
        p = out.line(formatText(rec, parser));
      }
      // tcpdump -c N: done after the Nth packet, without waiting for (or checking) the rest
      // of the input; the final flush writes it.
      if (printed < limit) return p;
      // Not awaited here: a write error it meets is kept by `out` and thrown by the final flush.
      p?.catch(() => undefined);
      return STOP_READING;
    });
  } finally {
    await out.flush();
  }
  return 0;
}
