import { Buffer } from 'node:buffer';
import { ERR, PodspanError } from '../errors.js';
import { ByteQueue } from './byte-queue.js';
import { PCAP_FILE_HEADER_LEN, PCAP_MAGIC_MODIFIED, PcapDecoder, isPcapMagic, swap32 } from './pcap.js';
import { PCAPNG_BLOCK, PCAPNG_DEFAULT_MAX_BLOCK_LEN, PcapngDecoder } from './pcapng.js';
import type { CapfileFormat, CaptureInterface, InterfaceStats, PacketRecord, SectionInfo } from './types.js';

/** Placeholder in the reused record until the first packet sets the real interface. */
const NO_INTERFACE: CaptureInterface = Object.freeze({
  id: -1,
  section: -1,
  linkType: 0,
  snapLen: 0,
  tsResolPower: 9,
  tsResolBinary: false,
  tsOffsetSec: 0,
  name: undefined,
  description: undefined,
  pcapVersionMajor: 0,
  pcapVersionMinor: 0,
  bigEndian: false,
  pcapThisZone: undefined,
  pcapSigFigs: undefined,
  pcapLinkTypeField: undefined,
  fcsLen: undefined,
});

/** Bytes needed to tell the formats apart. */
const MAGIC_LEN = 4;
/** Smallest valid pcapng file: one SHB with no options. */
const PCAPNG_MIN_FILE_LEN = 28;

export interface CapfileReaderOptions {
  /**
   * Largest pcapng block, and largest pcap record, the reader buffers (bytes). Larger
   * ones fail with CAPFILE_TOO_LARGE instead of being allocated. Default 16 MiB (libpcap's
   * pcapng limit). pcap records are further limited to libpcap's maximum snaplen for the
   * link type (262144 for most).
   */
  maxBlockLen?: number;
  /** Largest number of interfaces (IDBs, all sections) kept. Default 65536. */
  maxInterfaces?: number;
  /**
   * Keep every ISB in `stats` (default true). A reader of a never-ending stream should
   * set false and use `onStats`, so memory does not grow with the stream.
   */
  keepStats?: boolean;
}

/**
 * Push-style streaming reader of pcap and pcapng files; the format is detected from the
 * magic. Feed it chunks of any size with `push()`, pull packets with `next()`, and call
 * `end()` at end of input.
 *
 * Ownership and lifetime: `next()` returns ONE reused record object whose `data` is a view
 * (`subarray`) of either a pushed chunk or an internal buffer; both are valid only until
 * the next `next()` or `push()`. Pushed chunks are kept by reference until consumed: do
 * not modify a chunk after pushing it.
 *
 * Allocation: on the fast path (a record inside one chunk) the only per-packet object is
 * the `data` view (plus one view of the block for pcapng); no bytes are copied. A record or
 * block that straddles chunks is copied once into an internal buffer that grows to the
 * largest such record, never beyond `maxBlockLen`. Interface, section and statistics
 * blocks, and EPB comments, allocate the objects describing them.
 *
 * Errors: every problem with the input is a PodspanError with a CAPFILE_* code, thrown by
 * `next()` after the last good record; the reader then stays failed and rethrows it.
 */
export class CapfileReader {
  /** 'pcap' or 'pcapng' once the magic has been read. */
  format: CapfileFormat | undefined = undefined;
  /** Every interface seen so far: the pcap header, or every IDB of every section. */
  readonly interfaces: CaptureInterface[] = [];
  /** Every interface statistics block seen so far (unless `keepStats` is false). */
  readonly stats: InterfaceStats[] = [];
  private returned = 0;
  /** Called for each interface as it is defined (the pcap header, each IDB). */
  onInterface: ((iface: CaptureInterface) => void) | undefined = undefined;
  /** Called for each interface statistics block. */
  onStats: ((stats: InterfaceStats) => void) | undefined = undefined;
  /** Called for each pcapng section header block. */
  onSection: ((info: SectionInfo) => void) | undefined = undefined;

  private readonly queue = new ByteQueue();
  private decoder: PcapDecoder | PcapngDecoder | undefined = undefined;
  private ended = false;
  private failure: PodspanError | undefined = undefined;
  private readonly maxBlockLen: number;
  private readonly maxInterfaces: number;
  private readonly keepStats: boolean;
  private readonly rec: PacketRecord;

  constructor(opts: CapfileReaderOptions = {}) {
    this.maxBlockLen = opts.maxBlockLen ?? PCAPNG_DEFAULT_MAX_BLOCK_LEN;
    this.maxInterfaces = opts.maxInterfaces ?? 65536;
    this.keepStats = opts.keepStats ?? true;
    this.rec = {
      n: 0,
      iface: NO_INTERFACE,
      tsSec: 0,
      tsNsec: 0,
      tsInvalid: false,
      capLen: 0,
      wireLen: 0,
      data: Buffer.alloc(0),
      comments: [],
      flags: undefined,
    };
  }

  /** Packet records returned so far. */
  get records(): number {
    return this.returned;
  }

  /**
   * Bytes of input consumed: the file offset just past the last header, record or block
   * read (after a record is returned, the offset of its end).
   */
  get offset(): number {
    return this.queue.offset;
  }

  /** Bytes pushed and not yet consumed (for back-pressure). */
  get bufferedBytes(): number {
    return this.queue.available;
  }

  /** Appends input. The chunk is kept by reference until its bytes are consumed. */
  push(chunk: Buffer): void {
    if (this.ended) throw new Error('CapfileReader.push() after end()');
    this.queue.push(chunk);
  }

  /** Marks the end of input: `next()` then returns the remaining records and reports a cut-off. */
  end(): void {
    this.ended = true;
  }

  /**
   * The next packet record, or null when more input is needed (or, after `end()`, when the
   * file ended cleanly). The record and its data are valid until the next `next()`/`push()`.
   * Throws PodspanError (CAPFILE_*) on invalid input, and CAPFILE_TRUNCATED after `end()`
   * when the input stops inside a header, record or block.
   */
  next(): PacketRecord | null {
    if (this.failure !== undefined) throw this.failure;
    try {
      const d = this.decoder ?? this.detect();
      if (d === undefined) return null;
      if (d.next(this.queue, this.rec)) {
        this.returned++;
        this.rec.n = this.returned;
        return this.rec;
      }
      if (this.ended) this.checkEnd(d);
      return null;
    } catch (e) {
      if (e instanceof PodspanError) this.failure = e;
      throw e;
    }
  }

  private detect(): PcapDecoder | PcapngDecoder | undefined {
    const q = this.queue;
    const m = q.peek(MAGIC_LEN);
    if (m === null) {
      if (this.ended) this.checkEnd(undefined);
      return undefined;
    }
    const magic = m.readUInt32BE(0);
    if (magic === PCAPNG_BLOCK.SHB) {
      this.format = 'pcapng';
      this.decoder = new PcapngDecoder(
        { maxBlockLen: this.maxBlockLen, maxInterfaces: this.maxInterfaces },
        {
          section: (info) => this.onSection?.(info),
          interface: (iface) => {
            this.interfaces.push(iface);
            this.onInterface?.(iface);
          },
          stats: (s) => {
            if (this.keepStats) this.stats.push(s);
            this.onStats?.(s);
          },
        },
      );
    } else if (isPcapMagic(magic)) {
      this.format = 'pcap';
      this.decoder = new PcapDecoder(this.maxBlockLen, (iface) => {
        this.interfaces.push(iface);
        this.onInterface?.(iface);
      });
    } else {
      throw new PodspanError(ERR.CAPFILE_BAD_MAGIC, `not a pcap or pcapng file: ${describeMagic(magic)}`, { magic });
    }
    return this.decoder;
  }

  /** Called after `end()` when the decoder wants more input: a clean end, or a cut-off. */
  private checkEnd(d: PcapDecoder | PcapngDecoder | undefined): void {
    const q = this.queue;
    if (d === undefined || !d.headerDone) {
      const got = q.offset + q.available;
      if (got === 0) {
        throw new PodspanError(ERR.CAPFILE_EMPTY, 'capture file is empty (0 bytes): nothing was captured, or the file was not written', {
          records: 0,
        });
      }
      const need = d instanceof PcapngDecoder ? PCAPNG_MIN_FILE_LEN : d instanceof PcapDecoder ? PCAP_FILE_HEADER_LEN : MAGIC_LEN;
      throw new PodspanError(
        ERR.CAPFILE_TRUNCATED,
        `capture file is only ${got} bytes, shorter than a ${this.format ?? 'pcap or pcapng'} file header (${need} bytes): the file is cut off`,
        { records: 0, offset: got },
      );
    }
    if (q.available === 0) return;
    throw new PodspanError(
      ERR.CAPFILE_TRUNCATED,
      `capture file cut off after ${this.records} complete records (partial ${d.unit} at byte offset ${q.offset}, ` +
        `${q.available} of its bytes present)`,
      { records: this.records, offset: q.offset },
    );
  }
}

function describeMagic(magic: number): string {
  if (magic === PCAP_MAGIC_MODIFIED || swap32(magic) === PCAP_MAGIC_MODIFIED) {
    return 'it is a "modified" (Kuznetzov) pcap, which podspan does not read: convert it with editcap -F pcap';
  }
  if (magic >>> 16 === 0x1f8b) return 'it is gzip-compressed: decompress it first';
  return `magic 0x${magic.toString(16).padStart(8, '0')} is neither pcap (a1b2c3d4, a1b23c4d) nor pcapng (0a0d0d0a)`;
}
