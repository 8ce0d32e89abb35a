/**
 * What every ingest hands to the sinks: one inner Ethernet frame with its receive time and
 * its source. Each ingest owns ONE reused IngestFrame; it and `data` are valid only during
 * the `deliver` call (the data is a view of a datagram or of a raw-socket batch). A sink
 * copies what it keeps.
 */
import type { Source } from './source.js';

/** ERSPAN type III timestamp granularity (Gra, draft-foschiano-erspan-03 §4.3). */
export const ERSPAN_GRA = {
  /** Units of 100 µs (Linux's erspan driver, most Cisco platforms). */
  US_100: 0,
  /** Units of 100 ns (IEEE 1588 fraction). */
  NS_100: 1,
  /** IEEE 1588: the 32 bits hold nanoseconds; seconds are in the platform subheader. */
  IEEE_1588: 2,
  /** Platform-defined. */
  CUSTOM: 3,
} as const;

export class IngestFrame {
  /** The inner Ethernet frame (a view; valid during `deliver` only). */
  data: Buffer;
  /**
   * The frame's length on the wire, when the sender says it was cut (an agent's snap length):
   * at least data.length. -1 when it is data.length (every tunnel without a length field).
   */
  wireLen: number;
  /** Collector receive time: seconds since the epoch and nanoseconds within the second. */
  tsSec: number;
  tsNsec: number;
  source: Source | undefined;
  /**
   * ERSPAN type III header timestamp (32 bits, in units given by `erspanGra`), or -1.
   * It is the mirroring switch's clock, not ours: kept as metadata, never used as the
   * frame time (its epoch and wrap are platform-defined).
   */
  erspanTimestamp: number;
  /** ERSPAN_GRA value for erspanTimestamp, or -1. */
  erspanGra: number;

  constructor() {
    this.data = Buffer.alloc(0);
    this.wireLen = -1;
    this.tsSec = 0;
    this.tsNsec = 0;
    this.source = undefined;
    this.erspanTimestamp = -1;
    this.erspanGra = -1;
  }

  /** The frame's length on the wire, for the capture record: the sender's when it cut the frame, else the data's. */
  get originalLen(): number {
    return this.wireLen > this.data.length ? this.wireLen : this.data.length;
  }
}

/** Receives the frames of an ingest (the collector fans them out to the sinks). */
export type FrameHandler = (frame: IngestFrame & { source: Source }) => void;
