/**
 * HTTP replay with response diff. For every captured connection: the client's requests and
 * production's responses are framed (packet/http) and paired; the requests are sent one by
 * one, keep-alive, on one target connection per captured connection (reopened if the target
 * closes it), and each shadow response is compared with the production response of the
 * same request.
 *
 * Bounded: at most `concurrency` captured connections replay at once, each with one request
 * in flight; a response is kept only until compared (bodies up to maxBodyBytes). A target
 * that does not answer within `timeoutMs`, refuses or resets costs that request (counted
 * under a shadow error reason), never memory.
 *
 * Production latency: capture time from the request's last byte to the final response's
 * first byte. Shadow latency: wall time from the request written to the first response byte.
 */
import { Socket } from 'node:net';
import { Http1Framer, HTTP_FRAMER_STATUS, HTTP_KIND, headerValue, headerValues, type Http1FramerOptions, type HttpMessage } from '../../packet/http/http1.js';
import { HttpConversation, type HttpExchange } from '../../packet/http/exchange.js';
import { compareResponses, DIFF_KIND, type CompareOptions } from '../diff/compare.js';
import type { DiffRecord, DiffSink } from '../diff/sink.js';
import { type CapturedConn, PARTIAL_REASON, tsAt } from './capture.js';
import { nowNs, Pacer, RateLimiter, Semaphore, type Speed } from './pace.js';
import { inSample } from './sample.js';
import { rewriteRequest, type RewriteOptions } from './rewrite.js';
import type { ReplayTarget } from './stream.js';

export interface HttpReplayOptions {
  target: ReplayTarget;
  /** Stop (Ctrl-C): no new connection or request starts; those under way get their answer (bounded by timeoutMs). */
  signal?: AbortSignal;
  speed: Speed;
  concurrency?: number;
  includePartial?: boolean;
  /** Requests per second over all connections; undefined: no limit. */
  rate?: number;
  /** Percentage of connections (or header values) replayed. Default 100. */
  samplePct?: number;
  /** Sample by this header's value instead of by connection. */
  sampleBy?: string;
  rewrite: RewriteOptions;
  compare: CompareOptions;
  /** Per request (connect included). Default 10 s. */
  timeoutMs?: number;
  framer?: Http1FramerOptions;
}

export const SHADOW_ERROR = {
  CONNECT_FAILED: 'connect_failed',
  TIMEOUT: 'timeout',
  /** The target closed or reset the connection before a whole response. */
  CLOSED: 'closed',
  /** The target's bytes are not an HTTP/1 response. */
  MALFORMED: 'malformed',
} as const;

export interface HttpReplaySummary {
  connections: number;
  /** Captured connections replayed (at least one request sent). */
  replayedConnections: number;
  /** Connections not replayed, by reason. */
  skipped: Record<string, number>;
  /** Requests framed in the replayed connections. */
  requests: number;
  sampledOut: number;
  replayed: number;
  compared: number;
  matches: number;
  mismatches: number;
  /** Requests whose production response was not captured (not compared). */
  noProductionResponse: number;
  shadowErrors: Record<string, number>;
  /** Client streams where framing stopped early, by framer status (requests after it are not replayed). */
  framing: Record<string, number>;
  /** Target connections opened (more than replayedConnections when the target closed some). */
  targetConnections: number;
  late: number;
  /**
   * Bytes or responses the target sent when no request was waiting (a second response to one
   * request, say): the connection is closed so that they are never taken for the answer to
   * the next request, and counted here.
   */
  unsolicited: number;
}

function bump(r: Record<string, number>, k: string, n = 1): void {
  r[k] = (r[k] ?? 0) + n;
}

type ShadowResult = { ok: true; msg: HttpMessage; latencyNs: bigint } | { ok: false; error: string };

/** One keep-alive connection to the target, one request at a time. */
class ShadowConn {
  private sock: Socket | null = null;
  private method = 'GET';
  private sentNs = 0n;
  private firstNs = 0n;
  private waiter: ((r: ShadowResult) => void) | null = null;
  private closeAfter = false;
  /** Bumped per request and when it ends: a send that outlives its request sees the change. */
  private gen = 0;

  constructor(
    private readonly target: ReplayTarget,
    private readonly timeoutMs: number,
    private readonly framerOpts: Http1FramerOptions,
    private readonly onOpen: () => void,
    private readonly onUnsolicited: () => void,
  ) {}

  /** The target spoke out of turn: count it and never read this connection again. */
  private unsolicited(): void {
    this.onUnsolicited();
    this.drop();
  }

  private settle(r: ShadowResult): void {
    const w = this.waiter;
    this.waiter = null;
    if (w !== null) w(r);
  }

  private drop(): void {
    if (this.sock !== null) this.sock.destroy();
    this.sock = null;
  }

  private open(): Promise<boolean> {
    return new Promise((resolve) => {
      const sock = new Socket();
      this.onOpen();
      const framer = new Http1Framer(HTTP_KIND.RESPONSE, { onMessage: (m) => this.onMessage(m) }, this.framerOpts, () => ({ method: this.method }));
      let connected = false;
      sock.setNoDelay(true);
      sock.on('data', (d: Buffer) => {
        if (this.sock !== sock) return;
        if (this.waiter === null) {
          this.unsolicited();
          return;
        }
        if (this.firstNs === 0n) this.firstNs = nowNs();
        framer.push(d);
        if (this.sock !== sock) return; // an unsolicited message in the same bytes dropped it
        if (framer.status !== HTTP_FRAMER_STATUS.OK && framer.status !== HTTP_FRAMER_STATUS.SWITCHED) {
          this.drop();
          this.settle({ ok: false, error: SHADOW_ERROR.MALFORMED });
        }
      });
      const gone = (): void => {
        if (!connected) {
          connected = true;
          resolve(false);
          return;
        }
        if (this.sock !== sock) return;
        framer.end();
        this.sock = null;
        this.settle({ ok: false, error: SHADOW_ERROR.CLOSED });
      };
      sock.on('error', gone);
      sock.on('close', gone);
      sock.once('connect', () => {
        connected = true;
        this.sock = sock;
        resolve(true);
      });
      sock.connect(this.target.port, this.target.host);
    });
  }

  private onMessage(m: HttpMessage): void {
    if (m.status >= 100 && m.status < 200 && m.status !== 101) return;
    if (this.waiter === null) {
      // A second response after the one the request got, in the same bytes.
      this.unsolicited();
      return;
    }
    const conn = headerValues(m.headers, 'connection').join(',').toLowerCase();
    this.closeAfter = conn.includes('close') || (m.versionMinor === 0 && !conn.includes('keep-alive')) || m.endedByClose || m.status === 101;
    const latencyNs = (this.firstNs !== 0n ? this.firstNs : nowNs()) - this.sentNs;
    this.settle({ ok: true, msg: m, latencyNs });
  }

  /** Sends one request and waits for its final response. */
  async request(bytes: Buffer, method: string): Promise<ShadowResult> {
    let timer: NodeJS.Timeout | null = null;
    const timeout = new Promise<ShadowResult>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false, error: SHADOW_ERROR.TIMEOUT }), this.timeoutMs);
    });
    try {
      return await Promise.race([this.send(bytes, method, ++this.gen), timeout]);
    } finally {
      if (timer !== null) clearTimeout(timer);
      this.gen++;
      if (this.waiter !== null) {
        // Timed out: the connection may still carry the late answer; never reuse it.
        this.waiter = null;
        this.drop();
      }
    }
  }

  private async send(bytes: Buffer, method: string, gen: number): Promise<ShadowResult> {
    if (this.sock === null || this.sock.destroyed) {
      if (!(await this.open())) return { ok: false, error: SHADOW_ERROR.CONNECT_FAILED };
      // The request timed out while connecting: its caller is gone, send nothing.
      if (gen !== this.gen) return { ok: false, error: SHADOW_ERROR.TIMEOUT };
    }
    const sock = this.sock!;
    this.method = method;
    this.firstNs = 0n;
    this.closeAfter = false;
    const result = new Promise<ShadowResult>((resolve) => {
      this.waiter = resolve;
    });
    this.sentNs = nowNs();
    sock.write(bytes);
    const r = await result;
    if (r.ok && this.closeAfter) this.drop();
    return r;
  }

  close(): void {
    this.drop();
  }
}

interface Planned {
  ex: HttpExchange;
  raw: Buffer;
  sendAtNs: bigint;
  prodLatencyNs: bigint | null;
}

/** Frames one captured connection into exchanges; counts framing stops. */
function frameConn(c: CapturedConn, opts: HttpReplayOptions, s: HttpReplaySummary): Planned[] {
  const exchanges: HttpExchange[] = [];
  const conv = new HttpConversation({ onExchange: (e) => exchanges.push(e) }, opts.framer ?? {});
  conv.pushRequestBytes(c.c2s.data);
  conv.pushResponseBytes(c.s2c.data);
  conv.flush();
  const st = conv.requests.status;
  if (st !== HTTP_FRAMER_STATUS.OK) bump(s.framing, st);
  exchanges.sort((a, b) => a.index - b.index);
  return exchanges.map((ex) => {
    const req = ex.request;
    const raw = c.c2s.data.subarray(req.startOff, req.endOff);
    let prod: bigint | null = null;
    if (ex.response !== null && c.s2c.offs.length > 0) {
      prod = tsAt(c.s2c, ex.response.startOff) - tsAt(c.c2s, Math.max(req.startOff, req.endOff - 1));
      if (prod < 0n) prod = 0n;
    }
    return { ex, raw, sendAtNs: tsAt(c.c2s, req.startOff), prodLatencyNs: prod };
  });
}

function us(ns: bigint | null): number | null {
  return ns === null ? null : Number(ns / 1000n);
}

/** Replays the HTTP requests of `conns` to the target, writing one DiffRecord per replayed request into `sink`. */
export async function replayHttp(conns: readonly CapturedConn[], sink: DiffSink, opts: HttpReplayOptions): Promise<HttpReplaySummary> {
  const s: HttpReplaySummary = {
    connections: conns.length,
    replayedConnections: 0,
    skipped: {},
    requests: 0,
    sampledOut: 0,
    replayed: 0,
    compared: 0,
    matches: 0,
    mismatches: 0,
    noProductionResponse: 0,
    shadowErrors: {},
    unsolicited: 0,
    framing: {},
    targetConnections: 0,
    late: 0,
  };
  const pct = opts.samplePct ?? 100;
  const todo: { c: CapturedConn; plan: Planned[] }[] = [];
  for (const c of conns) {
    if (c.partial === PARTIAL_REASON.MEMCAP || (c.partial !== null && opts.includePartial !== true)) {
      bump(s.skipped, c.partial);
      continue;
    }
    if (c.c2s.data.length === 0) {
      bump(s.skipped, 'no_client_data');
      continue;
    }
    const plan = frameConn(c, opts, s);
    if (plan.length === 0) {
      bump(s.skipped, 'no_http_requests');
      continue;
    }
    s.requests += plan.length;
    const key = `${c.client}-${c.server}#${c.id}`;
    const kept = plan.filter((p) => {
      const k = opts.sampleBy !== undefined ? (headerValue(p.ex.request.headers, opts.sampleBy) ?? '') : key;
      const keep = inSample(k, pct);
      if (!keep) s.sampledOut++;
      return keep;
    });
    if (kept.length === 0) {
      bump(s.skipped, 'sampled_out');
      continue;
    }
    todo.push({ c, plan: kept });
  }
  if (todo.length === 0) return s;
  const pacer = new Pacer(todo[0]!.c.startNs, opts.speed, opts.signal);
  const sem = new Semaphore(opts.concurrency ?? 64);
  const rate = opts.rate !== undefined ? new RateLimiter(opts.rate) : null;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const running: Promise<void>[] = [];
  for (const { c, plan } of todo) {
    await pacer.until(c.startNs);
    if (pacer.stopped) break;
    await sem.acquire();
    if (pacer.stopped) {
      sem.release();
      break;
    }
    const run = async (): Promise<void> => {
      s.replayedConnections++;
      const conn = `${c.client}-${c.server}#${c.id}`;
      const shadow = new ShadowConn(opts.target, timeoutMs, opts.framer ?? {}, () => s.targetConnections++, () => s.unsolicited++);
      try {
        for (const p of plan) {
          await pacer.until(p.sendAtNs);
          if (pacer.stopped) break;
          if (rate !== null) await rate.take();
          const req = p.ex.request;
          const bytes = rewriteRequest(req, p.raw, opts.rewrite);
          const r = await shadow.request(bytes, req.method);
          s.replayed++;
          const prod = p.ex.response;
          const rec: DiffRecord = {
            connection: conn,
            index: p.ex.index,
            method: req.method,
            path: req.target,
            production: { status: prod?.status ?? null, latencyUs: us(p.prodLatencyNs) },
            shadow: { status: r.ok ? r.msg.status : null, latencyUs: r.ok ? us(r.latencyNs) : null },
            match: null,
            differences: [],
          };
          if (!r.ok) {
            bump(s.shadowErrors, r.error);
            rec.shadow.error = r.error;
            rec.match = false;
            rec.differences = [{ kind: DIFF_KIND.SHADOW_ERROR, detail: r.error }];
          } else if (prod === null) {
            s.noProductionResponse++;
          } else {
            rec.differences = compareResponses(prod, r.msg, opts.compare);
            rec.match = rec.differences.length === 0;
            s.compared++;
            if (rec.match) s.matches++;
            else s.mismatches++;
          }
          await sink.add(rec);
        }
      } finally {
        shadow.close();
      }
    };
    running.push(run().finally(() => sem.release()));
  }
  await Promise.all(running);
  s.late = pacer.late;
  return s;
}
