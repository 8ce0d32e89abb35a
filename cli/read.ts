import { Parser } from '../packet/decode/parser.js';
import { forEachRecord } from './input.js';
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
      if (printed >= limit || out.isClosed) return undefined;
      parser.decode(rec.data, rec.iface.linkType, rec.wireLen);
      printed++;
      if (!opts.json) return out.line(formatText(rec, parser));
      const p = out.reserve();
      writeJson(out, rec, parser);
      return p;
    });
  } finally {
    await out.flush();
  }
  return 0;
}
