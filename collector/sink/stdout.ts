/**
 * The stdout sink (`--stdout`): a classic pcap stream, nanosecond magic (a1b23c4d),
 * link type Ethernet, snaplen 262144, for live readers:
 *
 *   podspan collector --vxlan 0.0.0.0:4789 --stdout | tshark -r -
 *   podspan collector --vxlan 0.0.0.0:4789 --stdout | wireshark -k -i -
 *
 * Classic pcap rather than pcapng: one link type and no per-source interfaces is all a
 * stream needs, and every live reader takes it.
 *
 * Back-pressure: records are encoded into a reused chunk, handed to the stream once per
 * event-loop turn (or when the chunk fills), and the bytes the stream has not yet written
 * (`writableLength`) plus the chunk are kept under `maxQueueBytes`. A frame that does not
 * fit is dropped and counted `stdout_queue_full`: a slow reader never grows memory and
 * never stalls the other sinks. "Delivered" means handed to the stream.
 *
 * When the reader goes away (EPIPE, or any write error) the sink ends quietly: no message,
 * later frames count as `stdout_closed`, and `onEnded` tells the collector.
 */
import type { Writable } from 'node:stream';

import { PCAP_RECORD_HEADER_LEN } from '../../packet/capfile/pcap.js';
import { PcapWriter, type PcapRecordInput } from '../../packet/capfile/pcap-writer.js';
import { LINKTYPE } from '../../packet/wire/link-type.js';
import type { IngestFrame } from '../ingest/frame.js';
import type { Source } from '../ingest/source.js';
import type { Stage } from '../metrics.js';
import type { FrameSink } from './sink.js';

export const STDOUT_DROP_REASONS = [
  /** The reader is slower than the mirror traffic: the bounded queue is full. */
  'stdout_queue_full',
  /** The reader went away (EPIPE). */
  'stdout_closed',
  /** Offered after close(). */
  'closed',
] as const;
export type StdoutDropReason = (typeof STDOUT_DROP_REASONS)[number];

export const STDOUT_SNAP_LEN = 262144;
export const STDOUT_DEFAULT_MAX_QUEUE_BYTES = 8 * 1024 * 1024;
export const STDOUT_DEFAULT_CHUNK_BYTES = 256 * 1024;

export interface StdoutSinkOptions {
  stage: Stage<StdoutDropReason>;
  /** Default process.stdout. */
  stream?: Writable;
  maxQueueBytes?: number;
  chunkBytes?: number;
}

export class StdoutSink implements FrameSink {
  readonly stage: Stage<StdoutDropReason>;
  onEnded: (() => void) | undefined;
  /** The error that ended the stream (EPIPE…), if any. */
  endError: Error | undefined;
  /** Bytes the reader had not taken when close() stopped waiting for it (a stalled reader); 0 otherwise. */
  abandonedBytes = 0;
  private readonly stream: Writable;
  private readonly writer: PcapWriter;
  private readonly maxQueueBytes: number;
  private readonly chunk: Buffer;
  private chunkLen: number;
  private chunkFrames: number;
  private chunkBytes: number;
  private flushScheduled: boolean;
  private ended: boolean;
  private closed: boolean;
  private readonly rec: PcapRecordInput;

  constructor(opts: StdoutSinkOptions) {
    this.stage = opts.stage;
    this.onEnded = undefined;
    this.endError = undefined;
    this.stream = opts.stream ?? process.stdout;
    this.writer = new PcapWriter({ linkType: LINKTYPE.ETHERNET, snapLen: STDOUT_SNAP_LEN, nanosecond: true });
    this.maxQueueBytes = opts.maxQueueBytes ?? STDOUT_DEFAULT_MAX_QUEUE_BYTES;
    this.chunk = Buffer.allocUnsafe(Math.max(opts.chunkBytes ?? STDOUT_DEFAULT_CHUNK_BYTES, PCAP_RECORD_HEADER_LEN + STDOUT_SNAP_LEN));
    this.chunkLen = 0;
    this.chunkFrames = 0;
    this.chunkBytes = 0;
    this.flushScheduled = false;
    this.ended = false;
    this.closed = false;
    this.rec = { tsSec: 0, tsNsec: 0, capLen: 0, wireLen: 0, data: this.chunk };
    this.stream.on('error', (e: Error) => this.end(e));
    this.chunkLen = this.writer.encodeHeader(this.chunk, 0);
    this.scheduleFlush();
  }

  write(frame: IngestFrame & { source: Source }): void {
    const stage = this.stage;
    stage.received++;
    if (this.ended) {
      stage.drop('stdout_closed');
      return;
    }
    if (this.closed) {
      stage.drop('closed');
      return;
    }
    const data = frame.data;
    const capLen = data.length < STDOUT_SNAP_LEN ? data.length : STDOUT_SNAP_LEN;
    const size = PCAP_RECORD_HEADER_LEN + capLen;
    if (this.stream.writableLength + this.chunkLen + size > this.maxQueueBytes) {
      stage.drop('stdout_queue_full');
      return;
    }
    if (this.chunkLen + size > this.chunk.length) this.flush();
    const rec = this.rec;
    rec.tsSec = frame.tsSec;
    rec.tsNsec = frame.tsNsec;
    rec.capLen = capLen;
    rec.wireLen = frame.originalLen;
    rec.data = data;
    this.writer.encodeRecordHeader(rec, this.chunk, this.chunkLen);
    data.copy(this.chunk, this.chunkLen + PCAP_RECORD_HEADER_LEN, 0, capLen);
    this.chunkLen += size;
    this.chunkFrames++;
    this.chunkBytes += capLen;
    this.scheduleFlush();
  }

  /** Writes what is buffered and ends the stream's use (process.stdout itself stays open). */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.flush();
    this.closed = true;
    if (this.ended || this.stream.writableLength === 0) return Promise.resolve();
    // Wait (bounded) for the reader to take what is queued.
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.stream.off('drain', done);
        this.stream.off('error', done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.abandonedBytes = this.stream.writableLength;
        done();
      }, 2000);
      this.stream.on('drain', done);
      this.stream.on('error', done);
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** Hands the chunk's bytes to the stream (copied: the chunk is reused). */
  private flush(): void {
    if (this.chunkLen === 0 || this.ended) return;
    const out = Buffer.allocUnsafe(this.chunkLen);
    this.chunk.copy(out, 0, 0, this.chunkLen);
    this.stage.delivered += this.chunkFrames;
    this.stage.deliveredBytes += this.chunkBytes;
    this.chunkLen = 0;
    this.chunkFrames = 0;
    this.chunkBytes = 0;
    try {
      this.stream.write(out);
    } catch (e) {
      this.end(e as Error);
    }
  }

  private end(e: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.endError = e;
    // Frames still in the chunk never reach the reader.
    this.stage.dropped.stdout_closed += this.chunkFrames;
    this.chunkLen = 0;
    this.chunkFrames = 0;
    this.chunkBytes = 0;
    this.onEnded?.();
  }
}
