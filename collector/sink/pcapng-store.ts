/**
 * The pcapng store (`--out DIR`): mirrored frames as pcapng files that tcpdump, tshark,
 * Wireshark, Suricata and Zeek open.
 *
 * Files:
 * - one link type per file (Ethernet) and one snaplen (262144), so libpcap readers accept
 *   them; one Interface Description Block per mirror source, added when its first frame
 *   goes to the file, with if_name "vxlan-vni42-10.0.0.5" and if_description
 *   "vxlan vni 42 from 10.0.0.5"; if_tsresol 9 (nanoseconds);
 * - named `podspan-YYYYMMDDTHHMMSSZ-NNNN[-KEY].pcapng` (UTC open time, a sequence number,
 *   and the split key): sorting the names sorts the files by time;
 * - written as `NAME.pcapng.part`; on rotation and at close: Interface Statistics Blocks,
 *   flush, fsync, atomic rename to `NAME.pcapng`, fsync of the directory. A reader never
 *   sees a half-written `.pcapng`;
 * - at start, a `.part` left by a killed collector is cut back to its last complete block
 *   (found with the CapfileReader; pcapng blocks are self-delimiting) and renamed; one with
 *   no complete packet is removed.
 *
 * Splitting (`--split-by`): `none` one file at a time; `pod` one per tunnel id (VNI, GRE
 * key, ERSPAN session: the mirrored pod's tunnel); `source` one per sender address.
 *
 * Rotation: by size (the file reaches `rotateBytes`) and by age (`rotateMs` since the file
 * was opened). Retention, over every finished `podspan-*.pcapng` in the directory (never
 * other files, never an open `.part`): oldest first until at most `keepFiles` remain and
 * finished plus open files hold at most `keepBytes`.
 *
 * ISBs carry, per interface: isb_ifrecv = frames the collector received from the source
 * since start, isb_usrdeliv = frames of it in this file, isb_osdrop = frames of it this store
 * dropped since start, isb_starttime/endtime, and opt_comments with every stage's counters
 * (received, delivered, dropped per reason).
 *
 * Commit journal (`journal: true`, used with the WebSocket ingest): `commit()` writes every
 * batch buffer, fsyncs the open files, and appends one JSON line to `DIR/.podspan-journal`
 * (then fsyncs it): the length of every open file, the newest file name, and an opaque
 * `state` from `journalState` (the ws ingest's per-agent sequence numbers, exact for the
 * frames written so far). Finishing a file (rotation, close) also commits. At start, before
 * the `.part` repair, the last complete journal line is applied: files it lists are cut back
 * to the committed length, files opened after it are removed, and its state is handed back
 * (`recoveredState`). So after a SIGKILL the store holds exactly the frames of the last
 * commit, and the state says which those are: the ws ingest acknowledges only committed
 * batches, and the agents resend everything after them (see collector/ingest/ws.ts).
 * Frames of other ingests (VXLAN, GRE) written after the last commit are cut too.
 * A write error while running does the same without a restart: the next commit rolls the
 * files back to the last commit and the ws ingest has its agents resend (see commit()), so
 * an acknowledged frame is always in a file.
 *
 * I/O: frames are encoded straight into a per-file batch buffer (no per-frame allocation
 * except an ERSPAN III comment) and written with writeSync when the buffer fills and every
 * `flushIntervalMs`: a killed collector loses at most that much. A frame counts as
 * delivered once its batch is written; a failed write drops the batch as `write_error`,
 * closes the file and retries a new one after a second.
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  renameSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeSync,
  writevSync,
} from 'node:fs';
import { arch, release, type } from 'node:os';
import { basename, join } from 'node:path';

import { ERR, PodspanError } from '../../packet/errors.js';
import { CapfileReader } from '../../packet/capfile/reader.js';
import { PCAPNG_BLOCK, PCAPNG_BLOCK_TRAILER_LEN, PCAPNG_EPB, PCAPNG_OPT, PCAPNG_OPTION_HEADER_LEN, pad4 } from '../../packet/capfile/pcapng.js';
import { PcapngWriter } from '../../packet/capfile/pcapng-writer.js';
import { TS_RESOLUTION_NANO, tsToTicks } from '../../packet/capfile/timestamp.js';
import { LINKTYPE } from '../../packet/wire/link-type.js';
import { ReceiveClock, type TimeTarget } from '../clock.js';
import { ERSPAN_GRA, type IngestFrame } from '../ingest/frame.js';
import type { Source } from '../ingest/source.js';
import type { CollectorMetrics, Stage } from '../metrics.js';
import type { FrameSink } from './sink.js';

export const STORE_DROP_REASONS = [
  /** The file could not be opened or written (disk full, permissions); counted per frame. */
  'write_error',
  /** Offered after close(). */
  'closed',
] as const;
export type StoreDropReason = (typeof STORE_DROP_REASONS)[number];

export const SPLIT_BY = ['pod', 'source', 'none'] as const;
export type SplitBy = (typeof SPLIT_BY)[number];

export const STORE_DEFAULT_ROTATE_BYTES = 100 * 1024 * 1024;
export const STORE_SNAP_LEN = 262144;
export const STORE_DEFAULT_BATCH_BYTES = 256 * 1024;
export const STORE_DEFAULT_FLUSH_INTERVAL_MS = 200;
export const STORE_DEFAULT_MAX_OPEN_FILES = 32;
const RETRY_AFTER_ERROR_MS = 1000;
const FILE_PREFIX = 'podspan-';
const FINISHED_RE = /^podspan-.*\.pcapng$/;
const PART_SUFFIX = '.part';
const REPAIR_CHUNK_BYTES = 1024 * 1024;
/** The commit journal, in the store directory (not matched by retention). */
export const STORE_JOURNAL_NAME = '.podspan-journal';
/** Rewrite the journal with only its last line when it grows past this. */
const JOURNAL_COMPACT_BYTES = 1024 * 1024;
const JOURNAL_VERSION = 1;

/** One journal line. */
interface JournalRecord {
  v: number;
  /** Committed length of each file open at the commit, by final name (no `.part`). */
  files: Record<string, number>;
  /** Newest file name opened before the commit; later names are uncommitted. */
  high: string;
  state: string;
}

/** What start-up did with the journal. */
export interface JournalRecovery {
  /** Files cut back to their committed length. */
  truncated: Array<{ file: string; cutBytes: number }>;
  /** Files opened after the last commit, removed. */
  removed: string[];
}
/** Smallest pcapng holding a packet: SHB (28) + IDB (20) + EPB (32). */
const MIN_USEFUL_PCAPNG = 80;

export interface PcapngStoreOptions {
  dir: string;
  stage: Stage<StoreDropReason>;
  /** Read for the ISB comments (counters of every stage). */
  metrics: CollectorMetrics;
  /** Rotate when a file reaches this many bytes; 0 = never. Default 100 MiB. */
  rotateBytes?: number;
  /** Rotate files this old (ms since opened); 0 or absent = never. */
  rotateMs?: number;
  /** Keep at most this many finished files (oldest deleted first). */
  keepFiles?: number;
  /** Keep at most this many bytes of finished and open files (oldest finished deleted first). */
  keepBytes?: number;
  splitBy?: SplitBy;
  /** Per-file write buffer; default 256 KiB. */
  batchBytes?: number;
  flushIntervalMs?: number;
  /** Most files open at once (split keys); the least recently written is finished first. Default 32. */
  maxOpenFiles?: number;
  /** Clock for ISB times; frames carry their own. */
  clock?: ReceiveClock;
  /** Keep the commit journal (see above); default false. */
  journal?: boolean;
}

/** What start-up did with one leftover `.part`. */
export interface RepairReport {
  part: string;
  /** The finished file it became, or undefined when removed (no complete packet). */
  file: string | undefined;
  records: number;
  keptBytes: number;
  cutBytes: number;
  /** The reader's error code that marked the cut (CAPFILE_TRUNCATED, CAPFILE_BAD_BLOCK…), if any. */
  cause: string | undefined;
}

interface IfaceInfo {
  source: Source;
  written: number;
  startSec: number;
  startNsec: number;
}

class StoreFile {
  readonly finalPath: string;
  readonly partPath: string;
  readonly fd: number;
  readonly writer: PcapngWriter;
  readonly openedMs: number;
  /** Bytes of the file including the unflushed batch. */
  bytes: number;
  /** Bytes known to be on disk (the good length after a failed write). */
  flushedBytes: number;
  /** Length at the last commit (journal), and the frames and frame bytes written after it. */
  committedBytes: number;
  framesSinceCommit: number;
  bytesSinceCommit: number;
  lastWriteMs: number;
  readonly buf: Buffer;
  bufLen: number;
  /** Frames (and their frame bytes) in `buf`, not yet counted as delivered. */
  pendingFrames: number;
  pendingBytes: number;
  /** pcapng interface id per source index (-1: none yet). */
  readonly ifaceBySource: Map<number, number>;
  readonly ifaces: IfaceInfo[];

  constructor(finalPath: string, fd: number, batchBytes: number, nowMs: number) {
    this.finalPath = finalPath;
    this.partPath = finalPath + PART_SUFFIX;
    this.fd = fd;
    this.writer = new PcapngWriter();
    this.openedMs = nowMs;
    this.bytes = 0;
    this.flushedBytes = 0;
    this.committedBytes = 0;
    this.framesSinceCommit = 0;
    this.bytesSinceCommit = 0;
    this.lastWriteMs = nowMs;
    this.buf = Buffer.allocUnsafe(batchBytes);
    this.bufLen = 0;
    this.pendingFrames = 0;
    this.pendingBytes = 0;
    this.ifaceBySource = new Map();
    this.ifaces = [];
  }
}

/** A file finished (renamed) after the last commit: what a rollback cuts off it. */
interface FinishedSinceCommit {
  path: string;
  committedBytes: number;
  frames: number;
  bytes: number;
}

/** One split key's current file. */
interface Slot {
  readonly key: string;
  file: StoreFile | undefined;
  /** After a write error: no new file before this time (ms). */
  retryAtMs: number;
}

const ERSPAN_GRA_TEXT: Record<number, string> = {
  [ERSPAN_GRA.US_100]: '100us units',
  [ERSPAN_GRA.NS_100]: '100ns units',
  [ERSPAN_GRA.IEEE_1588]: 'ieee1588 ns',
  [ERSPAN_GRA.CUSTOM]: 'platform units',
};

/** `20261125T120000Z` for a time in ms. */
export function fileTimeStamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** A split key as it may appear in a file name: [A-Za-z0-9._-] only. */
export function fileKey(key: string): string {
  return key.replace(/[^A-Za-z0-9._-]/g, '_');
}

export class PcapngStore implements FrameSink {
  readonly stage: Stage<StoreDropReason>;
  readonly dir: string;
  /** Leftover `.part` files handled at start. */
  readonly repaired: RepairReport[];
  /** Files finished (renamed) and deleted by retention, since start. */
  filesFinished: number;
  filesDeleted: number;
  /** The last write error, for the summary. */
  lastError: Error | undefined;
  /** I/O errors since start (writes, opens, fsyncs, renames, retention). */
  errors: number;
  /** Called at each I/O error (frames are counted as write_error; the caller may log it). */
  onError: ((e: Error) => void) | undefined;
  /** The state of the last commit found at start (journal), if any. */
  readonly recoveredState: string | undefined;
  readonly journalRecovery: JournalRecovery | undefined;
  /** Called at each commit for the state to record: must describe exactly the frames written so far. */
  journalState: (() => string) | undefined;
  /** Called after each successful commit (data and journal on disk). */
  onCommit: (() => void) | undefined;
  /**
   * Called after a rollback (see commit()): the files hold exactly the frames of the last
   * commit again, so whoever hands frames over must go back to that commit's state.
   */
  onRollback: (() => void) | undefined;
  /** Commits since start. */
  commits: number;
  /** Rollbacks to the last commit since start (write errors with the journal on). */
  rollbacks: number;

  private readonly opts: PcapngStoreOptions;
  private readonly splitBy: SplitBy;
  private readonly rotateBytes: number;
  private readonly rotateMs: number;
  private readonly batchBytes: number;
  private readonly maxOpenFiles: number;
  private readonly clock: ReceiveClock;
  private readonly slots = new Map<string, Slot>();
  /** Slot per source index (split key resolved once per source). */
  private readonly slotBySource: Array<Slot | undefined> = [];
  /** Frames of each source (by index) this store dropped. */
  private readonly dropsBySource: number[] = [];
  private openFiles = 0;
  private seq = 0;
  private closed = false;
  private readonly timer: NodeJS.Timeout;
  private readonly ticks = { high: 0, low: 0 };
  private readonly now: TimeTarget = { tsSec: 0, tsNsec: 0 };
  /** Newest file name opened (final name), for the journal. */
  private highName: string;
  private journalFd: number;
  private journalBytes: number;
  /** The state of the last commit (carried forward when no journalState is set). */
  private lastState: string;
  /** Write errors and frames dropped as write_error since the last commit: a commit then rolls back instead. */
  private failedSinceCommit = 0;
  private finishedSinceCommit: FinishedSinceCommit[] = [];

  private constructor(opts: PcapngStoreOptions, repaired: RepairReport[], recovered: { record: JournalRecord | undefined; recovery: JournalRecovery | undefined }) {
    this.opts = opts;
    this.stage = opts.stage;
    this.dir = opts.dir;
    this.repaired = repaired;
    this.filesFinished = 0;
    this.filesDeleted = 0;
    this.lastError = undefined;
    this.errors = 0;
    this.onError = undefined;
    this.recoveredState = recovered.record?.state;
    this.journalRecovery = recovered.recovery;
    this.journalState = undefined;
    this.onCommit = undefined;
    this.onRollback = undefined;
    this.commits = 0;
    this.rollbacks = 0;
    this.highName = recovered.record?.high ?? '';
    this.journalFd = -1;
    this.journalBytes = 0;
    this.lastState = recovered.record?.state ?? '';
    this.splitBy = opts.splitBy ?? 'none';
    this.rotateBytes = opts.rotateBytes ?? STORE_DEFAULT_ROTATE_BYTES;
    this.rotateMs = opts.rotateMs ?? 0;
    this.batchBytes = opts.batchBytes ?? STORE_DEFAULT_BATCH_BYTES;
    this.maxOpenFiles = opts.maxOpenFiles ?? STORE_DEFAULT_MAX_OPEN_FILES;
    this.clock = opts.clock ?? new ReceiveClock();
    const interval = opts.flushIntervalMs ?? STORE_DEFAULT_FLUSH_INTERVAL_MS;
    this.timer = setInterval(() => this.tick(), interval);
    this.timer.unref();
  }

  /**
   * Creates DIR if needed, repairs leftover `.part` files, applies retention and returns the
   * store. Throws PodspanError IO when DIR cannot be created or read.
   */
  static open(opts: PcapngStoreOptions): PcapngStore {
    try {
      mkdirSync(opts.dir, { recursive: true });
      readdirSync(opts.dir);
    } catch (e) {
      throw new PodspanError(ERR.IO, `cannot use ${opts.dir} as the output directory: ${(e as Error).message}`);
    }
    const recovered = opts.journal === true ? recoverJournal(opts.dir) : { record: undefined, recovery: undefined };
    const repaired: RepairReport[] = [];
    for (const name of readdirSync(opts.dir).sort()) {
      if (!name.startsWith(FILE_PREFIX) || !name.endsWith('.pcapng' + PART_SUFFIX)) continue;
      repaired.push(repairPart(join(opts.dir, name)));
    }
    const store = new PcapngStore(opts, repaired, recovered);
    if (opts.journal === true) {
      try {
        store.openJournal(recovered.record);
      } catch (e) {
        throw new PodspanError(ERR.IO, `cannot write the commit journal in ${opts.dir}: ${(e as Error).message}`);
      }
    }
    store.applyRetention();
    return store;
  }

  write(frame: IngestFrame & { source: Source }): void {
    const stage = this.stage;
    stage.received++;
    const source = frame.source;
    if (this.closed) {
      this.dropFrame(source, 'closed');
      return;
    }
    const slot = this.slotBySource[source.index] ?? this.slotFor(source);
    let file = slot.file;
    if (file === undefined) {
      file = this.openFile(slot);
      if (file === undefined) {
        this.dropFrame(source, 'write_error');
        return;
      }
    }
    let ifaceId = file.ifaceBySource.get(source.index);
    if (ifaceId === undefined) {
      ifaceId = this.addInterface(file, source, frame);
      if (ifaceId < 0) {
        this.dropFrame(source, 'write_error');
        return;
      }
    }
    const data = frame.data;
    const capLen = data.length < STORE_SNAP_LEN ? data.length : STORE_SNAP_LEN;
    const wireLen = frame.originalLen;
    let comment: string | undefined;
    if (frame.erspanTimestamp >= 0) {
      comment = `erspan3 timestamp=${frame.erspanTimestamp} gra=${frame.erspanGra} (${ERSPAN_GRA_TEXT[frame.erspanGra] ?? '?'})`;
    }
    const optLen = comment === undefined ? 0 : PCAPNG_OPTION_HEADER_LEN + pad4(comment.length) + PCAPNG_OPTION_HEADER_LEN;
    const total = PCAPNG_EPB.DATA + pad4(capLen) + optLen + PCAPNG_BLOCK_TRAILER_LEN;
    if (file.bufLen + total > file.buf.length && !this.flush(slot, file)) {
      this.dropFrame(source, 'write_error');
      return;
    }
    const t = this.ticks;
    tsToTicks(frame.tsSec, frame.tsNsec, TS_RESOLUTION_NANO, t);
    if (total > file.buf.length) {
      // Larger than the batch (only with a tiny batchBytes): written on its own.
      const head = Buffer.alloc(total - capLen);
      encodeEpbHead(head, 0, total, ifaceId, t.high, t.low, capLen, wireLen);
      const tail = head.subarray(PCAPNG_EPB.DATA);
      encodeEpbTail(tail, 0, capLen, comment, total);
      if (!this.writeParts(slot, file, [head.subarray(0, PCAPNG_EPB.DATA), data.subarray(0, capLen), tail])) {
        this.dropFrame(source, 'write_error');
        return;
      }
      stage.delivered++;
      stage.deliveredBytes += capLen;
      file.framesSinceCommit++;
      file.bytesSinceCommit += capLen;
    } else {
      const b = file.buf;
      const o = file.bufLen;
      encodeEpbHead(b, o, total, ifaceId, t.high, t.low, capLen, wireLen);
      data.copy(b, o + PCAPNG_EPB.DATA, 0, capLen);
      encodeEpbTail(b, o + PCAPNG_EPB.DATA + capLen, capLen, comment, total);
      file.bufLen = o + total;
      file.pendingFrames++;
      file.pendingBytes += capLen;
    }
    file.bytes += total;
    file.lastWriteMs = Date.now();
    const info = file.ifaces[ifaceId];
    if (info !== undefined) info.written++;
    if (this.rotateBytes > 0 && file.bytes >= this.rotateBytes) this.finish(slot);
  }

  /** Finishes every open file (ISBs, fsync, rename) and stops the timer. Idempotent. */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      clearInterval(this.timer);
      for (const slot of this.slots.values()) this.finish(slot);
      this.applyRetention();
      if (this.journalFd >= 0) {
        this.commit();
        try {
          closeSync(this.journalFd);
        } catch {
          // nothing left to do
        }
        this.journalFd = -1;
      }
    }
    return Promise.resolve();
  }

  /**
   * Makes every frame written so far durable and records it in the journal with
   * `journalState()`; then calls `onCommit`. Returns false (and records lastError) when a
   * write, fsync or the journal failed: nothing may be acknowledged then. Without a journal
   * it only flushes.
   *
   * With the journal, a frame dropped as write_error since the last commit (disk full, a
   * failed open) means the files no longer hold every frame handed over since then, and no
   * later commit could say which are missing. So the store rolls back instead: every file
   * is cut back to its length at the last commit (files begun after it are removed), the
   * frames written since are counted as write_error too, the open files are finished, and
   * `onRollback` tells the ingest to go back to the last commit's state (the WebSocket
   * ingest has its agents resend from there). Returns false.
   */
  commit(): boolean {
    const files: Record<string, number> = {};
    let ok = true;
    for (const slot of this.slots.values()) {
      const file = slot.file;
      if (file === undefined) continue;
      if (!this.flush(slot, file)) {
        ok = false;
        continue;
      }
      if (this.journalFd >= 0) {
        try {
          fsyncSync(file.fd);
        } catch (e) {
          this.noteError(e as Error);
          ok = false;
        }
      }
      files[basename(file.finalPath)] = file.flushedBytes;
    }
    if (this.journalFd >= 0 && this.failedSinceCommit > 0) {
      this.rollback();
      return false;
    }
    if (this.journalFd >= 0) {
      const state = this.journalState?.() ?? this.lastState;
      if (!ok) return false;
      const rec: JournalRecord = { v: JOURNAL_VERSION, files, high: this.highName, state };
      try {
        this.appendJournal(rec);
        this.lastState = state;
      } catch (e) {
        this.noteError(e as Error);
        return false;
      }
      for (const slot of this.slots.values()) {
        const file = slot.file;
        if (file === undefined) continue;
        file.committedBytes = file.flushedBytes;
        file.framesSinceCommit = 0;
        file.bytesSinceCommit = 0;
      }
      this.finishedSinceCommit = [];
    }
    if (!ok) return false;
    this.commits++;
    this.onCommit?.();
    return true;
  }

  private noteError(e: Error): void {
    this.lastError = e;
    this.errors++;
    this.onError?.(e);
  }

  /** Cuts every file back to the last commit (see commit()) and calls onRollback. */
  private rollback(): void {
    const st = this.stage;
    const undo = (frames: number, bytes: number): void => {
      st.delivered -= frames;
      st.deliveredBytes -= bytes;
      st.dropped.write_error += frames;
    };
    for (const slot of this.slots.values()) {
      const file = slot.file;
      if (file === undefined) continue;
      st.dropped.write_error += file.pendingFrames;
      undo(file.framesSinceCommit, file.bytesSinceCommit);
      slot.file = undefined;
      this.openFiles--;
      try {
        closeSync(file.fd);
      } catch {
        // cut below by path
      }
      this.cutBack(file.partPath, file.committedBytes, file.finalPath);
    }
    for (const f of this.finishedSinceCommit) {
      undo(f.frames, f.bytes);
      this.cutBack(f.path, f.committedBytes, undefined);
    }
    this.finishedSinceCommit = [];
    this.failedSinceCommit = 0;
    this.rollbacks++;
    try {
      fsyncDir(this.dir);
    } catch (e) {
      this.noteError(e as Error);
    }
    this.onRollback?.();
  }

  /** Cuts `path` to `bytes` (removed when no packet is left), then renames it to `rename`. */
  private cutBack(path: string, bytes: number, rename: string | undefined): void {
    try {
      if (bytes < MIN_USEFUL_PCAPNG) {
        unlinkSync(path);
        return;
      }
      truncateSync(path, bytes);
      if (rename !== undefined) {
        renameSync(path, rename);
        this.filesFinished++;
      }
    } catch (e) {
      // Retention may have deleted it already.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.noteError(e as Error);
    }
  }

  private openJournal(last: JournalRecord | undefined): void {
    // Start from one line (the recovered record, or an empty one): compact and known-good.
    const path = join(this.dir, STORE_JOURNAL_NAME);
    const tmp = path + '.tmp';
    const line = JSON.stringify(last ?? { v: JOURNAL_VERSION, files: {}, high: this.highName, state: '' }) + '\n';
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, line);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    fsyncDir(this.dir);
    this.journalFd = openSync(path, 'a');
    this.journalBytes = Buffer.byteLength(line);
  }

  private appendJournal(rec: JournalRecord): void {
    const line = JSON.stringify(rec) + '\n';
    if (this.journalBytes + line.length > JOURNAL_COMPACT_BYTES) {
      closeSync(this.journalFd);
      this.journalFd = -1;
      this.openJournal(rec);
      return;
    }
    const b = Buffer.from(line);
    let off = 0;
    while (off < b.length) off += writeSync(this.journalFd, b, off, b.length - off);
    fsyncSync(this.journalFd);
    this.journalBytes += b.length;
  }

  /** Finishes the current files now (e.g. on SIGHUP); the next frames open new ones. */
  rotateAll(): void {
    for (const slot of this.slots.values()) this.finish(slot);
  }

  private dropFrame(source: Source, reason: StoreDropReason): void {
    this.stage.drop(reason);
    if (reason === 'write_error') this.failedSinceCommit++;
    this.dropsBySource[source.index] = (this.dropsBySource[source.index] ?? 0) + 1;
  }

  private slotFor(source: Source): Slot {
    const key = this.splitBy === 'pod' ? source.podKey : this.splitBy === 'source' ? source.sourceKey : '';
    let slot = this.slots.get(key);
    if (slot === undefined) {
      slot = { key, file: undefined, retryAtMs: 0 };
      this.slots.set(key, slot);
    }
    this.slotBySource[source.index] = slot;
    return slot;
  }

  private openFile(slot: Slot): StoreFile | undefined {
    const nowMs = Date.now();
    if (nowMs < slot.retryAtMs) return undefined;
    if (this.openFiles >= this.maxOpenFiles) this.finishLeastRecent();
    const stamp = fileTimeStamp(nowMs);
    const suffix = slot.key === '' ? '' : `-${fileKey(slot.key)}`;
    let fd = -1;
    let finalPath = '';
    try {
      for (let tries = 0; fd < 0; tries++) {
        this.seq++;
        finalPath = join(this.dir, `${FILE_PREFIX}${stamp}-${String(this.seq).padStart(4, '0')}${suffix}.pcapng`);
        if (existsSync(finalPath)) continue;
        try {
          fd = openSync(finalPath + PART_SUFFIX, 'wx');
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || tries > 1000) throw e;
        }
      }
    } catch (e) {
      this.noteError(e as Error);
      slot.retryAtMs = nowMs + RETRY_AFTER_ERROR_MS;
      return undefined;
    }
    const file = new StoreFile(finalPath, fd, this.batchBytes, nowMs);
    const base = basename(finalPath);
    if (base > this.highName) this.highName = base;
    const shb = file.writer.sectionHeader({
      userAppl: 'podspan collector',
      os: `${type()} ${release()}`,
      hardware: arch(),
      comment: `podspan collector, split by ${this.splitBy}${slot.key === '' ? '' : ` (${slot.key})`}`,
    });
    slot.file = file;
    this.openFiles++;
    if (!this.writeParts(slot, file, [shb])) return undefined;
    file.bytes += shb.length;
    return file;
  }

  /** Appends an IDB for `source` to the file's batch; returns its id, or -1 after a write error. */
  private addInterface(file: StoreFile, source: Source, frame: IngestFrame): number {
    const { id, block } = file.writer.addInterface({
      linkType: LINKTYPE.ETHERNET,
      snapLen: STORE_SNAP_LEN,
      name: source.name,
      description: source.description,
      tsResolPower: 9,
    });
    const slot = this.slotBySource[source.index];
    if (slot === undefined) return -1;
    if (file.bufLen + block.length > file.buf.length && !this.flush(slot, file)) return -1;
    block.copy(file.buf, file.bufLen);
    file.bufLen += block.length;
    file.bytes += block.length;
    file.ifaceBySource.set(source.index, id);
    file.ifaces.push({ source, written: 0, startSec: frame.tsSec, startNsec: frame.tsNsec });
    return id;
  }

  /** Writes the batch; on failure drops its frames as write_error and abandons the file. */
  private flush(slot: Slot, file: StoreFile): boolean {
    if (file.bufLen === 0) return true;
    try {
      let off = 0;
      while (off < file.bufLen) off += writeSync(file.fd, file.buf, off, file.bufLen - off);
    } catch (e) {
      this.fail(slot, file, e as Error);
      return false;
    }
    file.flushedBytes += file.bufLen;
    file.bufLen = 0;
    this.stage.delivered += file.pendingFrames;
    this.stage.deliveredBytes += file.pendingBytes;
    file.framesSinceCommit += file.pendingFrames;
    file.bytesSinceCommit += file.pendingBytes;
    file.pendingFrames = 0;
    file.pendingBytes = 0;
    return true;
  }

  /** Flushes the batch, then writes `parts` directly (the caller accounts `file.bytes`). */
  private writeParts(slot: Slot, file: StoreFile, parts: Buffer[]): boolean {
    if (!this.flush(slot, file)) return false;
    let len = 0;
    for (const p of parts) len += p.length;
    try {
      let done = writevSync(file.fd, parts);
      // A short write on a regular file means the disk is full; finish it byte-wise or fail.
      while (done < len) {
        let skip = done;
        const rest: Buffer[] = [];
        for (const p of parts) {
          if (skip >= p.length) skip -= p.length;
          else {
            rest.push(p.subarray(skip));
            skip = 0;
          }
        }
        const n = writevSync(file.fd, rest);
        if (n === 0) throw new Error('short write (disk full?)');
        done += n;
      }
    } catch (e) {
      this.fail(slot, file, e as Error);
      return false;
    }
    file.flushedBytes += len;
    return true;
  }

  /** A write failed: the batch's frames are lost, the file is cut to its good length and finished. */
  private fail(slot: Slot, file: StoreFile, e: Error): void {
    this.noteError(e);
    this.stage.dropped.write_error += file.pendingFrames;
    this.failedSinceCommit += file.pendingFrames + 1;
    file.pendingFrames = 0;
    file.pendingBytes = 0;
    file.bufLen = 0;
    try {
      ftruncateSync(file.fd, file.flushedBytes);
    } catch {
      // best effort: start-up repair cuts a damaged .part anyway
    }
    this.closeFile(slot, file, false);
    slot.retryAtMs = Date.now() + RETRY_AFTER_ERROR_MS;
  }

  /** ISBs, flush, fsync, close, rename, retention. */
  private finish(slot: Slot): void {
    const file = slot.file;
    if (file === undefined) return;
    const clock = this.now;
    this.clock.now(clock);
    const comments = ['podspan collector counters since start', ...this.opts.metrics.describe()];
    let ok = true;
    for (let id = 0; id < file.ifaces.length && ok; id++) {
      const info = file.ifaces[id]!;
      let isb: Buffer;
      try {
        isb = file.writer.stats({
          ifaceId: id,
          tsSec: clock.tsSec,
          tsNsec: clock.tsNsec,
          ifRecv: BigInt(info.source.frames),
          ifDrop: undefined,
          filterAccept: undefined,
          osDrop: BigInt(this.dropsBySource[info.source.index] ?? 0),
          usrDeliv: BigInt(info.written),
          comments: [`${info.written} frames of ${info.source.description} in this file`, ...comments],
          startTsSec: info.startSec,
          startTsNsec: info.startNsec,
          endTsSec: clock.tsSec,
          endTsNsec: clock.tsNsec,
        });
      } catch (e) {
        // Statistics that cannot be written never stop the file from being finished.
        this.noteError(e as Error);
        continue;
      }
      if (file.bufLen + isb.length > file.buf.length && !this.flush(slot, file)) ok = false;
      else if (isb.length > file.buf.length) {
        // Larger than the batch buffer (many counter lines, a small batchBytes): on its own.
        ok = this.writeParts(slot, file, [isb]);
        if (ok) file.bytes += isb.length;
      } else {
        isb.copy(file.buf, file.bufLen);
        file.bufLen += isb.length;
        file.bytes += isb.length;
      }
    }
    if (ok && !this.flush(slot, file)) ok = false;
    if (!ok) return; // fail() closed and renamed what was good
    this.closeFile(slot, file, true);
    this.applyRetention();
    // The finished file is complete: commit, so that recovery never cuts its ISBs off.
    if (this.journalFd >= 0 && !this.closed) this.commit();
  }

  private closeFile(slot: Slot, file: StoreFile, sync: boolean): void {
    slot.file = undefined;
    this.openFiles--;
    try {
      if (sync) fsyncSync(file.fd);
    } catch (e) {
      this.noteError(e as Error);
    }
    try {
      closeSync(file.fd);
    } catch (e) {
      this.noteError(e as Error);
    }
    try {
      if (file.flushedBytes < MIN_USEFUL_PCAPNG && file.ifaces.length === 0) {
        unlinkSync(file.partPath);
        return;
      }
      renameSync(file.partPath, file.finalPath);
      this.filesFinished++;
      if (this.journalFd >= 0) {
        this.finishedSinceCommit.push({ path: file.finalPath, committedBytes: file.committedBytes, frames: file.framesSinceCommit, bytes: file.bytesSinceCommit });
      }
      fsyncDir(this.dir);
    } catch (e) {
      this.noteError(e as Error);
    }
  }

  private finishLeastRecent(): void {
    let oldest: Slot | undefined;
    for (const s of this.slots.values()) {
      if (s.file !== undefined && (oldest === undefined || s.file.lastWriteMs < oldest.file!.lastWriteMs)) oldest = s;
    }
    if (oldest !== undefined) this.finish(oldest);
  }

  private tick(): void {
    const nowMs = Date.now();
    for (const slot of this.slots.values()) {
      const file = slot.file;
      if (file === undefined) continue;
      if (this.rotateMs > 0 && nowMs - file.openedMs >= this.rotateMs) this.finish(slot);
      else this.flush(slot, file);
    }
  }

  /** Deletes the oldest finished files beyond keepFiles / keepBytes. */
  private applyRetention(): void {
    const { keepFiles, keepBytes } = this.opts;
    if (keepFiles === undefined && keepBytes === undefined) return;
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((n) => FINISHED_RE.test(n)).sort();
    } catch (e) {
      this.noteError(e as Error);
      return;
    }
    const sizes = names.map((n) => {
      try {
        return statSync(join(this.dir, n)).size;
      } catch {
        return 0;
      }
    });
    let total = 0;
    for (const s of sizes) total += s;
    for (const slot of this.slots.values()) if (slot.file !== undefined) total += slot.file.bytes;
    let i = 0;
    let count = names.length;
    while (i < names.length && ((keepFiles !== undefined && count > keepFiles) || (keepBytes !== undefined && total > keepBytes))) {
      try {
        unlinkSync(join(this.dir, names[i]!));
        this.filesDeleted++;
      } catch (e) {
        this.noteError(e as Error);
      }
      total -= sizes[i]!;
      count--;
      i++;
    }
  }
}

function encodeEpbHead(b: Buffer, o: number, total: number, ifaceId: number, high: number, low: number, capLen: number, wireLen: number): void {
  b.writeUInt32LE(PCAPNG_BLOCK.EPB, o);
  b.writeUInt32LE(total, o + 4);
  b.writeUInt32LE(ifaceId, o + PCAPNG_EPB.INTERFACE_ID);
  b.writeUInt32LE(high, o + PCAPNG_EPB.TS_HIGH);
  b.writeUInt32LE(low, o + PCAPNG_EPB.TS_LOW);
  b.writeUInt32LE(capLen, o + PCAPNG_EPB.CAP_LEN);
  b.writeUInt32LE(wireLen, o + PCAPNG_EPB.WIRE_LEN);
}

/** Padding after `capLen` data bytes at `o`, the optional comment, opt_endofopt, trailer. */
function encodeEpbTail(b: Buffer, o: number, capLen: number, comment: string | undefined, total: number): void {
  let p = o;
  const padEnd = o + pad4(capLen) - capLen;
  while (p < padEnd) b.writeUInt8(0, p++);
  if (comment !== undefined) {
    b.writeUInt16LE(PCAPNG_OPT.COMMENT, p);
    b.writeUInt16LE(comment.length, p + 2);
    b.write(comment, p + PCAPNG_OPTION_HEADER_LEN, 'latin1');
    p += PCAPNG_OPTION_HEADER_LEN + comment.length;
    const end = o + (pad4(capLen) - capLen) + PCAPNG_OPTION_HEADER_LEN + pad4(comment.length);
    while (p < end) b.writeUInt8(0, p++);
    b.writeUInt32LE(0, p); // opt_endofopt
    p += PCAPNG_OPTION_HEADER_LEN;
  }
  b.writeUInt32LE(total, p);
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Cuts a leftover `.part` back to its last complete block and renames it to `.pcapng`
 * (with `-recovered` when that name exists), or removes it when no packet survives.
 */
export function repairPart(partPath: string): RepairReport {
  const fd = openSync(partPath, 'r+');
  let size = 0;
  let records = 0;
  let cut = 0;
  let cause: string | undefined;
  try {
    size = fstatSync(fd).size;
    const reader = new CapfileReader({ keepStats: false });
    let lastGood = 0;
    let pos = 0;
    const drain = (): boolean => {
      try {
        while (reader.next() !== null) lastGood = reader.offset;
        return true;
      } catch (e) {
        const off = e instanceof PodspanError ? e.details['offset'] : undefined;
        cut = typeof off === 'number' ? off : lastGood;
        cause = e instanceof PodspanError ? e.code : String(e);
        return false;
      }
    };
    let ok = true;
    while (ok && pos < size) {
      const chunk = Buffer.allocUnsafe(Math.min(REPAIR_CHUNK_BYTES, size - pos));
      const n = readSync(fd, chunk, 0, chunk.length, pos);
      if (n <= 0) break;
      pos += n;
      reader.push(n === chunk.length ? chunk : chunk.subarray(0, n));
      ok = drain();
    }
    if (ok) {
      reader.end();
      ok = drain();
      if (ok) cut = pos;
    }
    records = reader.records;
    if (cut < size) {
      ftruncateSync(fd, cut);
      fsyncSync(fd);
    }
  } finally {
    closeSync(fd);
  }
  const report: RepairReport = { part: partPath, file: undefined, records, keptBytes: cut, cutBytes: size - cut, cause };
  if (records === 0 || cut < MIN_USEFUL_PCAPNG) {
    unlinkSync(partPath);
    report.keptBytes = 0;
    report.cutBytes = size;
    return report;
  }
  let target = partPath.slice(0, -PART_SUFFIX.length);
  if (existsSync(target)) target = target.replace(/\.pcapng$/, '-recovered.pcapng');
  renameSync(partPath, target);
  report.file = target;
  return report;
}

function readJournal(path: string): JournalRecord | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i]!;
    if (l === '') continue;
    try {
      const r = JSON.parse(l) as Partial<JournalRecord>;
      if (r.v === JOURNAL_VERSION && typeof r.high === 'string' && typeof r.state === 'string' && r.files !== null && typeof r.files === 'object') {
        return { v: r.v, files: r.files, high: r.high, state: r.state };
      }
    } catch {
      // a line cut by a crash: the one before it is the last commit
    }
  }
  return undefined;
}

/**
 * Applies the last journal line to DIR: files it lists are cut back to their committed
 * length, files opened after it (names sorting after `high`) are removed.
 */
function recoverJournal(dir: string): { record: JournalRecord | undefined; recovery: JournalRecovery | undefined } {
  const record = readJournal(join(dir, STORE_JOURNAL_NAME));
  if (record === undefined) return { record: undefined, recovery: undefined };
  const recovery: JournalRecovery = { truncated: [], removed: [] };
  for (const name of readdirSync(dir).sort()) {
    if (!name.startsWith(FILE_PREFIX)) continue;
    const base = name.endsWith(PART_SUFFIX) ? name.slice(0, -PART_SUFFIX.length) : name;
    if (!base.endsWith('.pcapng')) continue;
    const path = join(dir, name);
    const committed = record.files[base];
    if (committed !== undefined) {
      const size = statSync(path).size;
      if (size > committed) {
        truncateSync(path, committed);
        recovery.truncated.push({ file: path, cutBytes: size - committed });
      }
    } else if (base > record.high) {
      unlinkSync(path);
      recovery.removed.push(path);
    }
  }
  return { record, recovery };
}
