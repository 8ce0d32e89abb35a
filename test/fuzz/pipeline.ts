import { CapfileReader } from '../../packet/capfile/reader.js';
import { Parser } from '../../packet/decode/parser.js';
import { PodspanError } from '../../packet/errors.js';

export interface PipelineResult {
  records: number;
  /** The PodspanError the reader ended with, if any. */
  code: string | undefined;
  /** Anything else thrown: a bug. */
  bug: unknown;
  /** next() calls that returned a record beyond what the input can hold: a hang in the making. */
  runaway: boolean;
  maxBuffered: number;
}

/**
 * What `podspan read` does, in process: the input pushed in chunks of the given sizes, every
 * record decoded. Every offset the parser reports is checked to lie within the frame.
 */
export function runPipeline(input: Buffer, chunk: (i: number) => number): PipelineResult {
  const reader = new CapfileReader();
  const parser = new Parser();
  const res: PipelineResult = { records: 0, code: undefined, bug: undefined, runaway: false, maxBuffered: 0 };
  // Every record takes at least 16 bytes of input (pcap record header; pcapng blocks are larger).
  const maxRecords = Math.floor(input.length / 16) + 1;
  try {
    let pos = 0;
    let k = 0;
    const drain = (): void => {
      for (let rec = reader.next(); rec !== null; rec = reader.next()) {
        res.records++;
        if (res.records > maxRecords) {
          res.runaway = true;
          return;
        }
        parser.decode(rec.data, rec.iface.linkType, rec.wireLen);
        const len = parser.data.length;
        const bad = [parser.ipOffset, parser.ipSrcOffset, parser.ipDstOffset, parser.l4Offset, parser.payloadOffset].some((o) => o < 0 || o > len);
        if (bad || parser.layerCount > parser.layers.length || parser.payloadLen < 0 || parser.ipPayloadLen < 0) {
          throw new Error(`parser offsets out of bounds (status ${parser.status}, len ${len})`);
        }
      }
    };
    while (pos < input.length && !res.runaway) {
      const n = Math.max(1, chunk(k++));
      reader.push(input.subarray(pos, pos + n));
      pos += n;
      res.maxBuffered = Math.max(res.maxBuffered, reader.bufferedBytes);
      drain();
    }
    if (!res.runaway) {
      reader.end();
      drain();
    }
  } catch (e) {
    if (e instanceof PodspanError) res.code = e.code;
    else res.bug = e;
  }
  return res;
}
