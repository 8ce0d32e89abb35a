/**
 * Stream replay: for every captured TCP connection, a new connection to the target carrying
 * the client's bytes, each delivery sent at its capture time (scaled by the speed).
 * Protocol-agnostic: the target's answers are read and counted, not interpreted.
 *
 * Bounded: at most `concurrency` target connections at once, each with a send queue of at
 * most `queueBytes` (the socket's high-water mark; the loader already holds the bytes, the
 * queue is what a slow target can make us buffer). A target that does not read within
 * `timeoutMs` after the queue filled, refuses, resets or does not answer the connect, has
 * its connection dropped: the unsent bytes are counted under the reason, never buffered.
 */
import { Socket } from 'node:net';
import { type CapturedConn, PARTIAL_REASON } from './capture.js';
import { Pacer, Semaphore, type Speed } from './pace.js';

export interface ReplayTarget {
  host: string;
  port: number;
}

export interface StreamReplayOptions {
  target: ReplayTarget;
  speed: Speed;
  /** Target connections open at once. Default 64. */
  concurrency?: number;
  /** Replay connections picked up mid-stream or with gaps too. Default false. */
  includePartial?: boolean;
  /** Per-connection send queue (bytes accepted but not yet taken by the kernel). Default 1 MiB. */
  queueBytes?: number;
  /** A stalled send, a connect, or the wait for the target to close after our FIN. Default 10 s. */
  timeoutMs?: number;
  /** After the last byte, how long the target may keep the connection open before we close it. Default 2 s. */
  lingerMs?: number;
  /** Stop (Ctrl-C): no new connection starts; those under way stop sending, their rest counted `interrupted`. */
  signal?: AbortSignal;
}

/** Why a connection (or its remaining bytes) was not delivered to the target. */
export const STREAM_DROP = {
  CONNECT_FAILED: 'connect_failed',
  /** The send queue stayed full for timeoutMs: the target does not read. */
  STALLED: 'stalled',
  /** The target reset or closed the connection before taking all bytes. */
  RESET: 'reset',
  /** The replay was stopped (Ctrl-C) before these bytes were sent. */
  INTERRUPTED: 'interrupted',
} as const;
export type StreamDropReason = (typeof STREAM_DROP)[keyof typeof STREAM_DROP];

export interface StreamReplaySummary {
  connections: number;
  replayed: number;
  /** Connections not replayed, by reason (partial, unless includePartial; empty). */
  skipped: Record<string, number>;
  /** Connections whose bytes were not all delivered, by reason. */
  dropped: Record<string, number>;
  droppedBytes: Record<string, number>;
  bytesSent: number;
  bytesReceived: number;
  /** Largest send queue any connection reached (bounded by queueBytes + one delivery). */
  maxQueuedBytes: number;
  queueBytes: number;
  late: number;
}

function bump(r: Record<string, number>, k: string, n = 1): void {
  r[k] = (r[k] ?? 0) + n;
}

/** Replays `conns` to the target. Never rejects on network errors: they are counted. */
export async function replayStreams(conns: readonly CapturedConn[], opts: StreamReplayOptions): Promise<StreamReplaySummary> {
  const concurrency = opts.concurrency ?? 64;
  const queueBytes = opts.queueBytes ?? 1024 * 1024;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const lingerMs = opts.lingerMs ?? 2000;
  const s: StreamReplaySummary = {
    connections: conns.length,
    replayed: 0,
    skipped: {},
    dropped: {},
    droppedBytes: {},
    bytesSent: 0,
    bytesReceived: 0,
    maxQueuedBytes: 0,
    queueBytes,
    late: 0,
  };
  const todo: CapturedConn[] = [];
  for (const c of conns) {
    if (c.partial === PARTIAL_REASON.MEMCAP) bump(s.skipped, c.partial);
    else if (c.partial !== null && opts.includePartial !== true) bump(s.skipped, c.partial);
    else if (c.c2s.data.length === 0) bump(s.skipped, 'no_client_data');
    else todo.push(c);
  }
  if (todo.length === 0) return s;
  const pacer = new Pacer(todo[0]!.startNs, opts.speed, opts.signal);
  const sem = new Semaphore(concurrency);
  const running: Promise<void>[] = [];
  for (const c of todo) {
    await pacer.until(c.startNs);
    if (pacer.stopped) break;
    await sem.acquire();
    if (pacer.stopped) {
      sem.release();
      break;
    }
    running.push(
      replayOne(c, pacer, opts.target, { queueBytes, timeoutMs, lingerMs }, s).finally(() => sem.release()),
    );
  }
  await Promise.all(running);
  s.late = pacer.late;
  return s;
}

function replayOne(c: CapturedConn, pacer: Pacer, target: ReplayTarget, lim: { queueBytes: number; timeoutMs: number; lingerMs: number }, s: StreamReplaySummary): Promise<void> {
  const { queueBytes, timeoutMs, lingerMs } = lim;
  return new Promise<void>((resolve) => {
    const data = c.c2s.data;
    let sent = 0;
    let failed: StreamDropReason | null = null;
    let finished = false;
    let connected = false;
    let timer: NodeJS.Timeout | null = null;
    const sock = new Socket({ writableHighWaterMark: queueBytes } as ConstructorParameters<typeof Socket>[0]);
    sock.connect(target.port, target.host);
    const arm = (reason: StreamDropReason): void => {
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(() => fail(reason), timeoutMs);
    };
    const disarm = (): void => {
      if (timer !== null) clearTimeout(timer);
      timer = null;
    };
    let allWritten = false;
    let counted = false;
    const count = (): void => {
      if (counted || failed !== null || !allWritten) return;
      counted = true;
      s.replayed++;
    };
    const done = (): void => {
      if (finished) return;
      // Closed by the target after taking every byte (before 'finish' was seen): replayed.
      if (sock.writableLength === 0) count();
      finished = true;
      disarm();
      sock.destroy();
      resolve();
    };
    const fail = (reason: StreamDropReason): void => {
      if (finished || failed !== null) return;
      failed = reason;
      // Bytes the kernel never took: queued in the socket, plus those not written yet.
      const notTaken = data.length - sent + sock.writableLength;
      bump(s.dropped, reason);
      bump(s.droppedBytes, reason, notTaken);
      s.bytesSent -= sock.writableLength;
      done();
    };
    arm(STREAM_DROP.CONNECT_FAILED);
    sock.on('data', (d: Buffer) => {
      s.bytesReceived += d.length;
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (!connected) fail(STREAM_DROP.CONNECT_FAILED);
      else if (sent < data.length || sock.writableLength > 0) fail(STREAM_DROP.RESET);
      else done();
      void e;
    });
    sock.on('close', () => {
      if (failed === null && (sent < data.length || sock.writableLength > 0)) fail(STREAM_DROP.RESET);
      done();
    });
    sock.once('connect', () => {
      connected = true;
      disarm();
      void pump();
    });
    const pump = async (): Promise<void> => {
      const { offs, tsNs } = c.c2s;
      for (let k = 0; k < offs.length; k++) {
        if (failed !== null || finished) return;
        await pacer.until(tsNs[k]!);
        if (failed !== null || finished) return;
        if (pacer.stopped) {
          fail(STREAM_DROP.INTERRUPTED);
          return;
        }
        const from = offs[k]!;
        const to = k + 1 < offs.length ? offs[k + 1]! : data.length;
        const ok = sock.write(data.subarray(from, to));
        sent = to;
        s.bytesSent += to - from;
        if (sock.writableLength > s.maxQueuedBytes) s.maxQueuedBytes = sock.writableLength;
        if (!ok) {
          // The queue is at its bound: wait for the target to take bytes, or drop.
          arm(STREAM_DROP.STALLED);
          await new Promise<void>((r) => {
            const go = (): void => {
              sock.off('drain', go);
              sock.off('close', go);
              r();
            };
            sock.on('drain', go);
            sock.on('close', go);
          });
          disarm();
        }
      }
      if (failed !== null || finished) return;
      // All bytes written: half-close as the client did. Replayed once the kernel took the
      // last byte ('finish'); then the target gets lingerMs to answer and close, after
      // which we close (a server keeping the connection open is not an error).
      allWritten = true;
      arm(STREAM_DROP.STALLED);
      sock.once('finish', () => {
        disarm();
        if (failed !== null || finished) return;
        count();
        timer = setTimeout(done, lingerMs);
      });
      sock.end();
    };
  });
}
