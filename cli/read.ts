import { Parser } from '../packet/decode/parser.js';
import { forEachRecord } from './input.js';
import { formatText, writeJson } from './format.js';
import { ByteOutput } from './byte-output.js';
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
  const parser = new Parser();
  const limit = opts.count ?? Infinity;
  let printed = 0;
  if (opts.json) {
    const bytes = new ByteOutput();
    try {
      await forEachRecord(file, (rec) => {
        if (printed >= limit || bytes.isClosed) return undefined;
        parser.decode(rec.data, rec.iface.linkType, rec.wireLen);
        printed++;
        const p = bytes.reserve();
        writeJson(bytes, rec, parser);
        return p;
      });
    } finally {
      await bytes.flush();
    }
    return 0;
  }
  const out = new LineOutput();
  const fmt = formatText;
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
