/**
 * The HTTP side of live replay (`podspan collector --replay-to H:P --diff FILE`): per
 * mirrored connection, the client's requests and production's responses are framed from
 * the reassembled capture, the shadow's responses from its socket, and the n-th of each are
 * paired and compared (collector/diff/compare.ts) as `podspan replay --mode http` does for
 * a file. Requests are not re-sent one by one here: the shadow gets the client's bytes as
 * they arrive (collector/replay/live.ts), pipelining included, and HTTP/1 answers in order.
 *
 * Bounded: bodies are kept up to `maxBodyBytes` (the rest is counted, compared by length),
 * and at most `maxPending` unpaired messages per side and connection; past that, the
 * connection's comparison stops and what was left is recorded as not compared.
 *
 * Latencies: production = capture time from the request's completion to the response's
 * completion; shadow = wall time between the same two events on the shadow's side.
 */
import { HTTP_KIND, Http1Framer, type HttpMessage } from '../../packet/http/http1.js';
import { compareResponses, type CompareOptions } from '../diff/compare.js';
import type { DiffRecord, DiffSink } from '../diff/sink.js';

export const LIVE_HTTP_DEFAULTS = { maxBodyBytes: 1024 * 1024, maxPending: 64 } as const;

export interface LiveHttpOptions {
  sink: DiffSink;
  compare: CompareOptions;
  maxBodyBytes?: number;
  maxPending?: number;
}

export interface LiveHttpCounters {
  compared: number;
  matches: number;
  mismatches: number;
  /** Requests without a production or a shadow response (connection ended, limits, errors). */
  notCompared: number;
  /** Connections whose comparison stopped at the pending limit or on a framing error. */
  abandoned: number;
}

interface Timed<T> {
  msg: T;
  /** ns: capture time (request, production) or wall time (shadow). */
  atNs: bigint;
}

function us(a: bigint, b: bigint): number {
  return Number((b - a) / 1000n);
}

/** One mirrored connection's requests and both sides' responses, paired in order. */
export class LiveHttpConnection {
  private readonly opts: Required<Omit<LiveHttpOptions, 'sink' | 'compare'>> & LiveHttpOptions;
  private readonly counters: LiveHttpCounters;
  private readonly name: string;
  private readonly requests: Timed<HttpMessage>[];
  private readonly production: Timed<HttpMessage>[];
  private readonly shadow: Timed<HttpMessage>[];
  /** Wall time when each request was handed to the shadow (by index). */
  private readonly sentAt: bigint[];
  private readonly reqFramer: Http1Framer;
  private readonly prodFramer: Http1Framer;
  private readonly shadowFramer: Http1Framer;
  private index: number;
  private framed: number;
  private tsNs: bigint;
  private done: boolean;

  constructor(name: string, opts: LiveHttpOptions, counters: LiveHttpCounters) {
    this.opts = { maxBodyBytes: LIVE_HTTP_DEFAULTS.maxBodyBytes, maxPending: LIVE_HTTP_DEFAULTS.maxPending, ...opts };
    this.counters = counters;
    this.name = name;
    this.requests = [];
    this.production = [];
    this.shadow = [];
    this.sentAt = [];
    this.index = 0;
    this.framed = 0;
    this.tsNs = 0n;
    this.done = false;
    const fo = { maxBodyBytes: this.opts.maxBodyBytes };
    const methodOf = (n: number): { method: string } | undefined => {
      const r = this.requests[n - this.index];
      return r === undefined ? undefined : { method: r.msg.method };
    };
    this.reqFramer = new Http1Framer(HTTP_KIND.REQUEST, { onMessage: (m) => this.onRequest(m) }, fo);
    this.prodFramer = new Http1Framer(HTTP_KIND.RESPONSE, { onMessage: (m) => this.onSide(this.production, m, this.tsNs) }, fo, methodOf);
    this.shadowFramer = new Http1Framer(HTTP_KIND.RESPONSE, { onMessage: (m) => this.onSide(this.shadow, m, process.hrtime.bigint()) }, fo, methodOf);
  }

  /** Client bytes at capture time (sec, nsec). */
  client(data: Buffer, tsSec: number, tsNsec: number): void {
    if (this.done) return;
    this.tsNs = BigInt(tsSec) * 1_000_000_000n + BigInt(tsNsec);
    this.reqFramer.push(data);
  }

  /** Production's bytes at capture time. */
  server(data: Buffer, tsSec: number, tsNsec: number): void {
    if (this.done) return;
    this.tsNs = BigInt(tsSec) * 1_000_000_000n + BigInt(tsNsec);
    this.prodFramer.push(data);
    this.pair();
  }

  /** The shadow's bytes, as they come. */
  fromShadow(data: Buffer): void {
    if (this.done) return;
    this.shadowFramer.push(data);
    this.pair();
  }

  /** Records what is left unpaired; the connection is over. */
  end(shadowError?: string): void {
    if (this.done) return;
    this.prodFramer.end();
    this.shadowFramer.end();
    this.pair();
    this.done = true;
    for (let i = 0; i < this.requests.length; i++) {
      const p = this.production[i];
      const s = this.shadow[i];
      this.emit(this.requests[i]!, p, s, shadowError ?? (s === undefined ? 'no shadow response' : undefined));
    }
    this.requests.length = 0;
  }

  private onRequest(m: HttpMessage): void {
    this.requests.push({ msg: m, atNs: this.tsNs });
    this.sentAt.push(process.hrtime.bigint());
    this.framed++;
    if (this.requests.length > this.opts.maxPending) this.abandon();
  }

  private onSide(list: Timed<HttpMessage>[], m: HttpMessage, atNs: bigint): void {
    list.push({ msg: m, atNs });
    if (list.length > this.opts.maxPending) this.abandon();
  }

  private abandon(): void {
    if (this.done) return;
    this.counters.abandoned++;
    this.end('comparison abandoned: too many unpaired messages');
  }

  private pair(): void {
    while (this.requests.length > 0 && this.production.length > 0 && this.shadow.length > 0) {
      this.emit(this.requests.shift()!, this.production.shift(), this.shadow.shift(), undefined);
    }
  }

  private emit(req: Timed<HttpMessage>, prod: Timed<HttpMessage> | undefined, sh: Timed<HttpMessage> | undefined, shadowError: string | undefined): void {
    const i = this.index++;
    const sent = this.sentAt.shift();
    const r: DiffRecord = {
      connection: this.name,
      index: i,
      method: req.msg.method,
      path: req.msg.target,
      production: { status: prod?.msg.status ?? null, latencyUs: prod === undefined ? null : us(req.atNs, prod.atNs) },
      shadow: { status: sh?.msg.status ?? null, latencyUs: sh === undefined || sent === undefined ? null : us(sent, sh.atNs), ...(shadowError !== undefined && sh === undefined ? { error: shadowError } : {}) },
      match: null,
      differences: [],
    };
    if (prod !== undefined && sh !== undefined) {
      r.differences = compareResponses(prod.msg, sh.msg, this.opts.compare);
      r.match = r.differences.length === 0;
      this.counters.compared++;
      if (r.match) this.counters.matches++;
      else this.counters.mismatches++;
    } else {
      this.counters.notCompared++;
    }
    void this.opts.sink.add(r);
  }
}
