import { Parser } from '../packet/decode/parser.js';
import { forEachRecord } from './input.js';
import { formatJson, formatText } from './format.js';
import { LineOutput } from './output.js';

export interface ReadOptions {
  json: boolean;
  /** Print at most this many packets (tcpdump -c). */
  count?: number;
}

/**
 * `podspan read FILE [--json]`: one line per packet. On a cut-off or invalid file, every
 * complete record has been printed when the reader's error propagates (exit 1).
 */
export async function runRead(file: string, opts: ReadOptions): Promise<number> {
  const out = new LineOutput();
  const parser = new Parser();
  const fmt = opts.json ? formatJson : formatText;
  const limit = opts.count ?? Infinity;
  let printed = 0;
  try {
    await forEachRecord(file, (rec) => {
      if (printed >= limit || out.isClosed) return undefined;
      parser.decode(rec.data, rec.iface.linkType, rec.wireLen);
      printed++;
      return out.line(fmt(rec, parser));
    });
  } finally {
    await out.flush();
  }
  return 0;
}
