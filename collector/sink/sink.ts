/**
 * A sink stores or forwards frames. `write` is called synchronously per frame; the frame
 * is valid only during the call (see IngestFrame), so a sink that queues copies it, under a
 * bound. Every frame offered is counted by the sink's stage as delivered or dropped.
 */
import type { IngestFrame } from '../ingest/frame.js';
import type { Source } from '../ingest/source.js';
import type { Stage } from '../metrics.js';

export interface FrameSink {
  readonly stage: Stage;
  write(frame: IngestFrame & { source: Source }): void;
  /** Flushes and closes; idempotent. Frames written afterwards are dropped as `closed`. */
  close(): Promise<void>;
  /** Set by sinks that can end on their own (stdout whose reader went away). */
  onEnded?: (() => void) | undefined;
}
