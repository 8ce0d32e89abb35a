/**
 * Pairs the requests of one HTTP/1 connection with its responses, in order (RFC 9112 §9.3:
 * a server answers pipelined requests in the order received). Interim 1xx responses (100
 * Continue, 103 Early Hints) are attached to the request they precede and do not consume it.
 *
 * Pure: the caller pushes each direction's reassembled bytes; exchanges come out through the
 * handler as soon as their final response is framed. Requests still waiting at flush() come
 * out with `response: null`.
 */
import { Buffer } from 'node:buffer';
import { Http1Framer, type Http1FramerOptions, HTTP_KIND, type HttpMessage } from './http1.js';

export interface HttpExchange {
  /** 0-based position of the request in its connection. */
  index: number;
  request: HttpMessage;
  /** 1xx responses received before the final one. */
  interim: HttpMessage[];
  /** The final response, or null if the stream ended (or framing stopped) before it. */
  response: HttpMessage | null;
}

export interface HttpExchangeHandler {
  onExchange(ex: HttpExchange): void;
}

export class HttpConversationCounters {
  exchanges = 0;
  /** Requests without a final response at flush(). */
  unanswered = 0;
  /** Final responses with no request waiting (the request was not captured). */
  orphanResponses = 0;
}

export class HttpConversation {
  readonly requests: Http1Framer;
  readonly responses: Http1Framer;
  readonly counters = new HttpConversationCounters();
  private readonly handler: HttpExchangeHandler;
  private readonly pending: HttpExchange[] = [];
  private nextIndex = 0;

  constructor(handler: HttpExchangeHandler, opts: Http1FramerOptions = {}) {
    this.handler = handler;
    this.requests = new Http1Framer(HTTP_KIND.REQUEST, { onMessage: (m) => this.onRequest(m) }, opts);
    this.responses = new Http1Framer(HTTP_KIND.RESPONSE, { onMessage: (m) => this.onResponse(m) }, opts, () => this.pending[0]?.request);
  }

  pushRequestBytes(data: Buffer): void {
    this.requests.push(data);
  }

  pushResponseBytes(data: Buffer): void {
    this.responses.push(data);
  }

  /** Both directions ended (or the capture did): frames what close ends, then emits unanswered requests. */
  flush(): void {
    this.requests.end();
    this.responses.end();
    while (this.pending.length > 0) {
      const ex = this.pending.shift()!;
      this.counters.unanswered++;
      this.handler.onExchange(ex);
    }
  }

  private onRequest(m: HttpMessage): void {
    this.pending.push({ index: this.nextIndex++, request: m, interim: [], response: null });
  }

  private onResponse(m: HttpMessage): void {
    const head = this.pending[0];
    if (m.status >= 100 && m.status < 200 && m.status !== 101) {
      if (head !== undefined) head.interim.push(m);
      return;
    }
    if (head === undefined) {
      this.counters.orphanResponses++;
      return;
    }
    this.pending.shift();
    head.response = m;
    this.counters.exchanges++;
    this.handler.onExchange(head);
  }
}
