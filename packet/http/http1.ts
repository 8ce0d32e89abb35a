/**
 * HTTP/1.x message framing over one reassembled byte stream (RFC 9112).
 *
 *   request   = method SP request-target SP HTTP-version CRLF     (§3)
 *   response  = HTTP-version SP status-code SP [ reason-phrase ] CRLF   (§4)
 *               *( field-name ":" OWS field-value OWS CRLF )       (§5)
 *               CRLF
 *               [ message-body ]                                    (§6)
 *
 * Message body length (§6.3), in order:
 *   1. responses to HEAD, 1xx, 204 and 304 have no body;
 *   2. a 2xx answer to CONNECT (and a 101) switches protocols: the rest of the stream is not HTTP/1;
 *   3. Transfer-Encoding with `chunked` last: chunked (§7.1), with trailers; a Transfer-Encoding
 *      without chunked last: a request is malformed (§6.3 rule 4), a response runs until close;
 *      with Content-Length as well, Transfer-Encoding wins (counted: request smuggling shape);
 *   4. Content-Length (a list of equal values is accepted, different values are malformed);
 *   5. otherwise a request has no body and a response runs until the connection closes.
 *
 * Pure: bytes in (push), whole messages out (a handler call per message), no I/O, no clocks.
 * Never throws on input: a malformed stream sets `status` and stops framing; every limit hit
 * is counted. Offsets are stream offsets (bytes pushed before), so the caller maps them to
 * capture timestamps and slices the raw bytes.
 */
import { Buffer } from 'node:buffer';

export const HTTP_FRAMER_STATUS = {
  /** Framing (or waiting for more bytes). */
  OK: 'ok',
  /** The stream broke the syntax; nothing after `errorOff` is framed. */
  MALFORMED: 'malformed',
  /** A message head exceeded `maxHeaderBytes`. */
  HEADER_TOO_LARGE: 'header_too_large',
  /** A message head had more than `maxHeaders` fields. */
  TOO_MANY_HEADERS: 'too_many_headers',
  /** CONNECT or Upgrade: the rest of the stream is another protocol (not an error). */
  SWITCHED: 'switched',
  /** end() came in the middle of a message. */
  TRUNCATED: 'truncated',
} as const;
export type HttpFramerStatus = (typeof HTTP_FRAMER_STATUS)[keyof typeof HTTP_FRAMER_STATUS];

export const HTTP_KIND = { REQUEST: 'request', RESPONSE: 'response' } as const;
export type HttpKind = (typeof HTTP_KIND)[keyof typeof HTTP_KIND];

/** One header or trailer field as it was on the wire: the name keeps its case, the value is trimmed of OWS. */
export interface HttpField {
  name: string;
  value: string;
}

/** A whole HTTP/1 message. Owns its buffers (copies): valid after the push that produced it. */
export interface HttpMessage {
  kind: HttpKind;
  /** Request method (requests); '' for responses. */
  method: string;
  /** Request target (requests); '' for responses. */
  target: string;
  /** 0 or 1 (HTTP/1.0, HTTP/1.1). */
  versionMinor: number;
  /** Status code (responses); 0 for requests. */
  status: number;
  reason: string;
  /** Fields in wire order, repeated names kept. */
  headers: HttpField[];
  trailers: HttpField[];
  /** Decoded body (chunked framing removed), at most `maxBodyBytes`. */
  body: Buffer;
  /** Decoded body length (body.length unless bodyTruncated). */
  bodyBytes: number;
  /** The body exceeded maxBodyBytes: `body` holds the first maxBodyBytes bytes. */
  bodyTruncated: boolean;
  chunked: boolean;
  /** A response whose body ran until the connection closed. */
  endedByClose: boolean;
  /** Stream offsets: first byte, first body byte (end of head), one past the last byte. */
  startOff: number;
  headEndOff: number;
  endOff: number;
}

export interface Http1FramerOptions {
  /** Request line / status line plus header fields, CRLFs included. Default 64 KiB. */
  maxHeaderBytes?: number;
  /** Header fields per message (trailers too). Default 256. */
  maxHeaders?: number;
  /** Decoded body bytes kept per message (the rest is framed and counted, not kept). Default 16 MiB. */
  maxBodyBytes?: number;
  /** Chunk-size line with extensions. Default 4 KiB. */
  maxChunkLineBytes?: number;
}

export const HTTP1_FRAMER_DEFAULTS: Readonly<Required<Http1FramerOptions>> = {
  maxHeaderBytes: 64 * 1024,
  maxHeaders: 256,
  maxBodyBytes: 16 * 1024 * 1024,
  maxChunkLineBytes: 4096,
};

/** Counters of one framer; every limit hit and malformed stream is counted. */
export class Http1Counters {
  messages = 0;
  interim = 0;
  bodyBytes = 0;
  bodyBytesNotKept = 0;
  malformed = 0;
  headerTooLarge = 0;
  tooManyHeaders = 0;
  truncated = 0;
  switched = 0;
  /** Both Transfer-Encoding and Content-Length (Transfer-Encoding used, RFC 9112 §6.3 rule 3). */
  teAndCl = 0;
  /** Obsolete line folding replaced by a space (RFC 9112 §5.2). */
  obsFold = 0;
}

export interface Http1FramerHandler {
  onMessage(msg: HttpMessage): void;
}

/** Parser states. */
const S = {
  HEAD: 0,
  BODY_LENGTH: 1,
  CHUNK_LINE: 2,
  CHUNK_DATA: 3,
  CHUNK_DATA_END: 4,
  TRAILERS: 5,
  BODY_CLOSE: 6,
  DONE: 7,
} as const;
type State = (typeof S)[keyof typeof S];

/** RFC 9112 §3: method SP request-target SP HTTP-version. */
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([^ \t\x00-\x1f]+) HTTP\/1\.([01])$/;
/** RFC 9112 §4: HTTP-version SP status-code SP [reason-phrase] (a missing SP before an empty reason is tolerated). */
const STATUS_LINE = /^HTTP\/1\.([01]) ([0-9]{3})(?: ([^\r\n]*))?$/;

const CR = 0x0d;
const LF = 0x0a;

/** tchar of RFC 9110 §5.6.2. */
const TCHAR = (() => {
  const t = new Uint8Array(256);
  for (const c of "!#$%&'*+-.^_`|~") t[c.charCodeAt(0)] = 1;
  for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  return t;
})();

function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255 || TCHAR[c] !== 1) return false;
  }
  return true;
}

/** Value of the first field named `name` (case-insensitive), or undefined. */
export function headerValue(fields: readonly HttpField[], name: string): string | undefined {
  const n = name.toLowerCase();
  for (const f of fields) if (f.name.toLowerCase() === n) return f.value;
  return undefined;
}

/** Every value of fields named `name`, in order. */
export function headerValues(fields: readonly HttpField[], name: string): string[] {
  const n = name.toLowerCase();
  const out: string[] = [];
  for (const f of fields) if (f.name.toLowerCase() === n) out.push(f.value);
  return out;
}

/** Comma-separated list elements of every field named `name`, lower-cased and trimmed. */
function listTokens(fields: readonly HttpField[], name: string): string[] {
  const out: string[] = [];
  for (const v of headerValues(fields, name)) {
    for (const p of v.split(',')) {
      const t = p.trim().toLowerCase();
      if (t !== '') out.push(t);
    }
  }
  return out;
}

/** What the framer needs to know about the request a response answers. */
export interface HttpRequestInfo {
  method: string;
}

/**
 * Frames the messages of one direction. For responses, `requestFor(n)` names the method of
 * the request the n-th final response answers (0-based), or undefined if not known (GET assumed).
 */
export class Http1Framer {
  readonly kind: HttpKind;
  readonly counters = new Http1Counters();
  status: HttpFramerStatus = HTTP_FRAMER_STATUS.OK;
  /** Stream offset where framing stopped (malformed, limit, switched); -1 while framing. */
  stopOff = -1;
  /** Short reason for a malformed stream (for reports). */
  detail = '';

  private readonly handler: Http1FramerHandler;
  private readonly opts: Readonly<Required<Http1FramerOptions>>;
  private readonly requestFor: (n: number) => HttpRequestInfo | undefined;
  private state: State = S.HEAD;
  /** Stream offset of the next byte pushed. */
  private off = 0;
  /** Head (or chunk line / trailer) bytes gathered so far. */
  private line: Buffer;
  private lineLen = 0;
  /** Length of the head at the last CRLF scanned: where the search for the blank line resumes. */
  private scanFrom = 0;
  private startLineChecked = false;
  private remaining = 0;
  private msg: HttpMessage | null = null;
  private bodyParts: Buffer[] = [];
  private bodyKept = 0;
  private finals = 0;

  constructor(kind: HttpKind, handler: Http1FramerHandler, opts: Http1FramerOptions = {}, requestFor: (n: number) => HttpRequestInfo | undefined = () => undefined) {
    this.kind = kind;
    this.handler = handler;
    this.opts = { ...HTTP1_FRAMER_DEFAULTS, ...opts };
    this.requestFor = requestFor;
    this.line = Buffer.alloc(Math.min(4096, this.opts.maxHeaderBytes + 4));
  }

  /** Bytes pushed so far. */
  get offset(): number {
    return this.off;
  }

  /** True while more bytes can be framed. */
  get framing(): boolean {
    return this.status === HTTP_FRAMER_STATUS.OK;
  }

  /** Number of final (non-1xx) messages emitted. */
  get finalMessages(): number {
    return this.finals;
  }

  /** Frames `data` (the next bytes of the stream). Never throws on input. */
  push(data: Buffer): void {
    let i = 0;
    const n = data.length;
    while (i < n && this.status === HTTP_FRAMER_STATUS.OK) {
      switch (this.state) {
        case S.HEAD:
          i = this.head(data, i);
          break;
        case S.BODY_LENGTH:
        case S.CHUNK_DATA: {
          const take = Math.min(this.remaining, n - i);
          this.body(data.subarray(i, i + take));
          i += take;
          this.remaining -= take;
          if (this.remaining === 0) {
            if (this.state === S.BODY_LENGTH) this.finish(this.off + i);
            else {
              this.state = S.CHUNK_DATA_END;
              this.lineLen = 0;
            }
          }
          break;
        }
        case S.CHUNK_DATA_END:
          i = this.chunkDataEnd(data, i);
          break;
        case S.CHUNK_LINE:
          i = this.chunkLine(data, i);
          break;
        case S.TRAILERS:
          i = this.trailers(data, i);
          break;
        case S.BODY_CLOSE:
          this.body(data.subarray(i));
          i = n;
          break;
        default:
          i = n;
      }
    }
    this.off += n;
  }

  /** The stream ended (FIN or end of capture). A response running until close is emitted. */
  end(): void {
    if (this.status !== HTTP_FRAMER_STATUS.OK) return;
    if (this.state === S.BODY_CLOSE && this.msg !== null) {
      this.msg.endedByClose = true;
      this.finish(this.off);
      return;
    }
    if (this.state === S.HEAD && this.lineLen === 0) return;
    // Stray CRLFs between messages are allowed (RFC 9112 §2.2); anything else is a cut message.
    if (this.state === S.HEAD && this.line.subarray(0, this.lineLen).every((b) => b === CR || b === LF)) return;
    this.counters.truncated++;
    this.stop(HTTP_FRAMER_STATUS.TRUNCATED, this.msg?.startOff ?? this.off - this.lineLen, 'stream ended inside a message');
  }

  private stop(status: HttpFramerStatus, off: number, detail: string): void {
    this.status = status;
    this.stopOff = off;
    this.detail = detail;
    if (status === HTTP_FRAMER_STATUS.MALFORMED) this.counters.malformed++;
    this.msg = null;
    this.bodyParts = [];
  }

  private append(data: Buffer, from: number, to: number): void {
    const len = to - from;
    if (this.lineLen + len > this.line.length) {
      const grown = Buffer.alloc(Math.max(this.line.length * 2, this.lineLen + len));
      this.line.copy(grown, 0, 0, this.lineLen);
      this.line = grown;
    }
    data.copy(this.line, this.lineLen, from, to);
    this.lineLen += len;
  }

  /** Gathers head bytes until the blank line; returns the index in data after what it used. */
  private head(data: Buffer, i: number): number {
    // Leading empty lines before a message are ignored (RFC 9112 §2.2).
    if (this.lineLen === 0) {
      while (i < data.length && (data.readUInt8(i) === CR || data.readUInt8(i) === LF)) i++;
      if (i === data.length) return i;
    }
    const max = this.opts.maxHeaderBytes;
    const startLen = this.lineLen;
    const room = max + 4 - startLen;
    const to = Math.min(data.length, i + Math.max(room, 0));
    this.append(data, i, to);
    const buf = this.line;
    // The start line is checked as soon as it is complete: a stream that is not HTTP/1 is
    // told apart at once, not after maxHeaderBytes of garbage.
    if (!this.startLineChecked) {
      const lf = buf.subarray(0, this.lineLen).indexOf(LF);
      if (lf >= 0) {
        this.startLineChecked = true;
        const first = buf.toString('latin1', 0, lf).replace(/\r$/, '');
        if (!(this.kind === HTTP_KIND.REQUEST ? REQUEST_LINE : STATUS_LINE).test(first)) {
          this.stop(HTTP_FRAMER_STATUS.MALFORMED, this.off + i - startLen, `not an HTTP/1 ${this.kind === HTTP_KIND.REQUEST ? 'request' : 'status'} line: ${JSON.stringify(first.slice(0, 60))}`);
          return to;
        }
      }
    }
    // Search for the blank line (LF LF or LF CR LF) from scanFrom.
    let end = -1;
    for (let k = Math.max(this.scanFrom, 0); k < this.lineLen; k++) {
      if (buf.readUInt8(k) !== LF) continue;
      // A blank line: LF LF, or LF CR LF.
      if (k + 1 < this.lineLen && buf.readUInt8(k + 1) === LF) {
        end = k + 2;
        break;
      }
      if (k + 2 < this.lineLen && buf.readUInt8(k + 1) === CR && buf.readUInt8(k + 2) === LF) {
        end = k + 3;
        break;
      }
    }
    if (end < 0) {
      this.scanFrom = Math.max(0, this.lineLen - 3);
      if (this.lineLen > max) {
        this.counters.headerTooLarge++;
        this.stop(HTTP_FRAMER_STATUS.HEADER_TOO_LARGE, this.off + i - startLen, `message head longer than ${max} bytes`);
      }
      return to;
    }
    if (end > max) {
      this.counters.headerTooLarge++;
      this.stop(HTTP_FRAMER_STATUS.HEADER_TOO_LARGE, this.off + i - startLen, `message head longer than ${max} bytes`);
      return to;
    }
    const used = end - startLen;
    const startOff = this.off + i - startLen;
    const headEndOff = startOff + end;
    const text = buf.toString('latin1', 0, end);
    this.lineLen = 0;
    this.scanFrom = 0;
    this.startLineChecked = false;
    this.parseHead(text, startOff, headEndOff);
    return i + used;
  }

  private newMessage(startOff: number, headEndOff: number): HttpMessage {
    return {
      kind: this.kind,
      method: '',
      target: '',
      versionMinor: 1,
      status: 0,
      reason: '',
      headers: [],
      trailers: [],
      body: Buffer.alloc(0),
      bodyBytes: 0,
      bodyTruncated: false,
      chunked: false,
      endedByClose: false,
      startOff,
      headEndOff,
      endOff: headEndOff,
    };
  }

  /** Splits head text into lines (CRLF or bare LF, RFC 9112 §2.2), folding obs-fold. */
  private fields(lines: string[], out: HttpField[], at: number): boolean {
    for (const raw of lines) {
      if (raw === '') continue;
      if ((raw.charCodeAt(0) === 0x20 || raw.charCodeAt(0) === 0x09) && out.length > 0) {
        // obs-fold (RFC 9112 §5.2): replaced by SP.
        this.counters.obsFold++;
        const last = out[out.length - 1]!;
        last.value = `${last.value} ${raw.trim()}`.trim();
        continue;
      }
      const colon = raw.indexOf(':');
      if (colon <= 0) {
        this.stop(HTTP_FRAMER_STATUS.MALFORMED, at, 'header line without a field name and colon');
        return false;
      }
      const name = raw.slice(0, colon);
      // No whitespace between field name and colon (RFC 9112 §5.1).
      if (!isToken(name)) {
        this.stop(HTTP_FRAMER_STATUS.MALFORMED, at, `invalid header field name ${JSON.stringify(name.slice(0, 40))}`);
        return false;
      }
      if (out.length >= this.opts.maxHeaders) {
        this.counters.tooManyHeaders++;
        this.stop(HTTP_FRAMER_STATUS.TOO_MANY_HEADERS, at, `more than ${this.opts.maxHeaders} header fields`);
        return false;
      }
      out.push({ name, value: raw.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '') });
    }
    return true;
  }

  private parseHead(text: string, startOff: number, headEndOff: number): void {
    const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
    const first = lines[0] ?? '';
    const msg = this.newMessage(startOff, headEndOff);
    if (this.kind === HTTP_KIND.REQUEST) {
      const m = REQUEST_LINE.exec(first);
      if (m === null) {
        this.stop(HTTP_FRAMER_STATUS.MALFORMED, startOff, `not an HTTP/1 request line: ${JSON.stringify(first.slice(0, 60))}`);
        return;
      }
      msg.method = m[1]!;
      msg.target = m[2]!;
      msg.versionMinor = Number(m[3]);
    } else {
      const m = STATUS_LINE.exec(first);
      if (m === null) {
        this.stop(HTTP_FRAMER_STATUS.MALFORMED, startOff, `not an HTTP/1 status line: ${JSON.stringify(first.slice(0, 60))}`);
        return;
      }
      msg.versionMinor = Number(m[1]);
      msg.status = Number(m[2]);
      msg.reason = m[3] ?? '';
    }
    if (!this.fields(lines.slice(1), msg.headers, startOff)) return;
    this.msg = msg;
    this.bodyParts = [];
    this.bodyKept = 0;
    this.decideBody(msg);
  }

  private decideBody(msg: HttpMessage): void {
    const isReq = this.kind === HTTP_KIND.REQUEST;
    const req = isReq ? undefined : this.requestFor(this.finals);
    const method = isReq ? msg.method : (req?.method ?? 'GET');
    if (!isReq) {
      const s = msg.status;
      if (s === 101) {
        this.emit(msg.headEndOff);
        this.switched(msg.headEndOff);
        return;
      }
      if ((s >= 100 && s < 200) || s === 204 || s === 304 || method === 'HEAD') {
        this.finish(msg.headEndOff);
        return;
      }
      if (method === 'CONNECT' && s >= 200 && s < 300) {
        this.emit(msg.headEndOff);
        this.switched(msg.headEndOff);
        return;
      }
    }
    const te = listTokens(msg.headers, 'transfer-encoding');
    const cls = headerValues(msg.headers, 'content-length');
    if (te.length > 0) {
      if (cls.length > 0) this.counters.teAndCl++;
      if (te[te.length - 1] === 'chunked') {
        msg.chunked = true;
        this.state = S.CHUNK_LINE;
        this.lineLen = 0;
        return;
      }
      if (isReq) {
        this.stop(HTTP_FRAMER_STATUS.MALFORMED, msg.startOff, 'request Transfer-Encoding without chunked last');
        return;
      }
      this.state = S.BODY_CLOSE;
      return;
    }
    if (cls.length > 0) {
      let len = -1;
      for (const v of cls) {
        for (const p of v.split(',')) {
          const t = p.trim();
          if (!/^[0-9]{1,15}$/.test(t) || (len >= 0 && Number(t) !== len)) {
            this.stop(HTTP_FRAMER_STATUS.MALFORMED, msg.startOff, `invalid Content-Length ${JSON.stringify(v.slice(0, 40))}`);
            return;
          }
          len = Number(t);
        }
      }
      if (len === 0) {
        this.finish(msg.headEndOff);
        return;
      }
      this.remaining = len;
      this.state = S.BODY_LENGTH;
      return;
    }
    if (isReq) {
      this.finish(msg.headEndOff);
      return;
    }
    this.state = S.BODY_CLOSE;
  }

  private switched(off: number): void {
    this.counters.switched++;
    this.status = HTTP_FRAMER_STATUS.SWITCHED;
    this.stopOff = off;
    this.detail = 'protocol switched';
    this.state = S.DONE;
  }

  private body(part: Buffer): void {
    if (this.msg === null || part.length === 0) return;
    this.msg.bodyBytes += part.length;
    this.counters.bodyBytes += part.length;
    const room = this.opts.maxBodyBytes - this.bodyKept;
    if (room <= 0) {
      this.msg.bodyTruncated = true;
      this.counters.bodyBytesNotKept += part.length;
      return;
    }
    const keep = part.length <= room ? part : part.subarray(0, room);
    if (keep.length < part.length) {
      this.msg.bodyTruncated = true;
      this.counters.bodyBytesNotKept += part.length - keep.length;
    }
    this.bodyParts.push(Buffer.from(keep));
    this.bodyKept += keep.length;
  }

  /** Emits the current message; returns to HEAD. */
  private emit(endOff: number): void {
    const msg = this.msg;
    if (msg === null) return;
    msg.endOff = endOff;
    msg.body = this.bodyParts.length === 1 ? this.bodyParts[0]! : Buffer.concat(this.bodyParts);
    this.bodyParts = [];
    this.msg = null;
    this.state = S.HEAD;
    this.lineLen = 0;
    this.scanFrom = 0;
    const interim = this.kind === HTTP_KIND.RESPONSE && msg.status >= 100 && msg.status < 200;
    if (interim) this.counters.interim++;
    else {
      this.counters.messages++;
      this.finals++;
    }
    this.handler.onMessage(msg);
  }

  private finish(endOff: number): void {
    const msg = this.msg;
    if (msg === null) return;
    this.emit(endOff);
    if (this.kind === HTTP_KIND.REQUEST && this.status === HTTP_FRAMER_STATUS.OK) {
      // CONNECT and Upgrade: what follows is another protocol (RFC 9110 §9.3.6, §7.8). Framing
      // stops at once, even if the server were to decline the upgrade: a passive observer
      // cannot tell yet, and guessing wrong would frame tunnel bytes as requests.
      if (msg.method === 'CONNECT' || (headerValue(msg.headers, 'upgrade') !== undefined && listTokens(msg.headers, 'connection').includes('upgrade'))) {
        this.switched(endOff);
      }
    }
  }

  /** Reads a line (up to LF) into `line`; returns [index after, complete]. */
  private readLine(data: Buffer, i: number, max: number): [number, boolean] {
    const lf = data.indexOf(LF, i);
    const to = lf < 0 ? data.length : lf + 1;
    if (this.lineLen + (to - i) > max) {
      this.stop(HTTP_FRAMER_STATUS.MALFORMED, this.off + i, `line longer than ${max} bytes in chunked body`);
      return [data.length, false];
    }
    this.append(data, i, to);
    return [to, lf >= 0];
  }

  private chunkLine(data: Buffer, i: number): number {
    const [next, done] = this.readLine(data, i, this.opts.maxChunkLineBytes);
    if (!done) return next;
    let s = this.line.toString('latin1', 0, this.lineLen);
    this.lineLen = 0;
    s = s.replace(/\r?\n$/, '');
    const semi = s.indexOf(';');
    const hex = (semi >= 0 ? s.slice(0, semi) : s).replace(/[ \t]+$/, '');
    if (!/^[0-9A-Fa-f]{1,13}$/.test(hex)) {
      this.stop(HTTP_FRAMER_STATUS.MALFORMED, this.off + i, `invalid chunk size ${JSON.stringify(hex.slice(0, 20))}`);
      return data.length;
    }
    const size = parseInt(hex, 16);
    if (size === 0) {
      this.state = S.TRAILERS;
      return next;
    }
    this.remaining = size;
    this.state = S.CHUNK_DATA;
    return next;
  }

  private chunkDataEnd(data: Buffer, i: number): number {
    const [next, done] = this.readLine(data, i, 2);
    if (!done) return next;
    const ok = (this.lineLen === 2 && this.line.readUInt8(0) === CR) || this.lineLen === 1;
    this.lineLen = 0;
    if (!ok) {
      this.stop(HTTP_FRAMER_STATUS.MALFORMED, this.off + i, 'chunk data not followed by CRLF');
      return data.length;
    }
    this.state = S.CHUNK_LINE;
    return next;
  }

  /** Trailer section after the last chunk: fields until an empty line. */
  private trailers(data: Buffer, i: number): number {
    let at = i;
    while (at < data.length && this.status === HTTP_FRAMER_STATUS.OK && this.state === S.TRAILERS) {
      const [next, done] = this.readLine(data, at, this.opts.maxHeaderBytes);
      if (!done) return next;
      const s = this.line.toString('latin1', 0, this.lineLen).replace(/\r?\n$/, '');
      this.lineLen = 0;
      at = next;
      const msg = this.msg;
      if (msg === null) return data.length;
      if (s === '') {
        this.finish(this.off + at);
        return at;
      }
      if (!this.fields([s], msg.trailers, this.off + at)) return data.length;
    }
    return at;
  }
}
