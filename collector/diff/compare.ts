/**
 * Compares a shadow HTTP response with the production response captured for the same
 * request: status, headers (minus an ignore list), body (JSON-aware).
 *
 * Default ignored headers, and why (docs: shadow replay):
 * - Date, Age, Expires, Last-Modified, ETag: time- or build-dependent by nature.
 * - Server, Via, X-Powered-By: name the software and the path, not the answer; a new
 *   version is expected to change them.
 * - Set-Cookie, X-Request-Id, X-Correlation-Id, X-Trace-Id, Traceparent: per-request identifiers
 *   (also sensitive: Set-Cookie is never written, see redact.ts).
 * - Connection, Keep-Alive, Transfer-Encoding: hop-by-hop framing (RFC 9110 §7.6.1).
 * - Content-Length: compared only when the bodies differ (framing otherwise: chunked vs
 *   length-delimited is the same answer).
 * `--compare-header NAME` takes a name off the list, `--ignore-header NAME` adds one.
 */
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { headerValues, type HttpField, type HttpMessage } from '../../packet/http/http1.js';
import { diffJson, type JsonIgnore } from './json-path.js';
import { redactHeader } from './redact.js';

export const DEFAULT_IGNORED_HEADERS: readonly string[] = [
  'date',
  'age',
  'expires',
  'last-modified',
  'etag',
  'server',
  'via',
  'x-powered-by',
  'set-cookie',
  'x-request-id',
  'x-correlation-id',
  'x-trace-id',
  'traceparent',
  'connection',
  'keep-alive',
  'transfer-encoding',
];

export const DIFF_KIND = {
  STATUS: 'status',
  HEADER: 'header',
  BODY: 'body',
  /** The shadow gave no usable answer (timeout, refused, reset, malformed). */
  SHADOW_ERROR: 'shadow_error',
} as const;
export type DiffKind = (typeof DIFF_KIND)[keyof typeof DIFF_KIND];

export interface Difference {
  kind: DiffKind;
  /** Header name (lower case) for `header`; JSON path for a JSON `body` difference. */
  where?: string;
  production?: string | null;
  shadow?: string | null;
  detail?: string;
}

export interface CompareOptions {
  /** Lower-case header names not compared. */
  ignoreHeaders: ReadonlySet<string>;
  ignorePaths: JsonIgnore;
  /** Differences reported per response at most. Default 20. */
  maxDifferences?: number;
}

/** Decoded body bytes at most (a decompression bomb is compared as its encoded bytes). */
const MAX_DECODED_BYTES = 64 * 1024 * 1024;

function headerMap(fields: readonly HttpField[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const f of fields) {
    const k = f.name.toLowerCase();
    const v = m.get(k);
    if (v === undefined) m.set(k, [f.value]);
    else v.push(f.value);
  }
  return m;
}

function decodeBody(m: HttpMessage): Buffer {
  const enc = headerValues(m.headers, 'content-encoding').join(',').trim().toLowerCase();
  if (enc === '' || enc === 'identity' || m.bodyTruncated) return m.body;
  try {
    const o = { maxOutputLength: MAX_DECODED_BYTES };
    if (enc === 'gzip' || enc === 'x-gzip') return gunzipSync(m.body, o);
    if (enc === 'deflate') return inflateSync(m.body, o);
    if (enc === 'br') return brotliDecompressSync(m.body, o);
  } catch {
    // Compared as sent.
  }
  return m.body;
}

function isJson(m: HttpMessage): boolean {
  const ct = (headerValues(m.headers, 'content-type')[0] ?? '').toLowerCase().split(';')[0]!.trim();
  return ct === 'application/json' || ct.endsWith('+json');
}

function preview(b: Buffer): string {
  const s = b.subarray(0, 160).toString('utf8');
  const printable = s.replace(/[\x00-\x08\x0e-\x1f\x7f\ufffd]/g, '.');
  return b.length > 160 ? `${printable}...` : printable;
}

function parse(b: Buffer): { ok: true; v: unknown } | { ok: false } {
  try {
    return { ok: true, v: JSON.parse(b.toString('utf8')) as unknown };
  } catch {
    return { ok: false };
  }
}

/** Body differences (empty if equal). */
function compareBodies(p: HttpMessage, s: HttpMessage, opts: CompareOptions, max: number): Difference[] {
  const pb = decodeBody(p);
  const sb = decodeBody(s);
  if (isJson(p) && isJson(s)) {
    const pj = parse(pb);
    const sj = parse(sb);
    if (pj.ok && sj.ok) {
      return diffJson(pj.v, sj.v, opts.ignorePaths, max).map((d) => ({
        kind: DIFF_KIND.BODY,
        where: d.path,
        production: d.production ?? null,
        shadow: d.shadow ?? null,
      }));
    }
  }
  if (pb.equals(sb) && p.bodyTruncated === s.bodyTruncated) return [];
  const detail = `${pb.length}${p.bodyTruncated ? '+' : ''} vs ${sb.length}${s.bodyTruncated ? '+' : ''} bytes`;
  return [{ kind: DIFF_KIND.BODY, production: preview(pb), shadow: preview(sb), detail }];
}

/** Differences between the production and the shadow response; empty if they match. */
export function compareResponses(p: HttpMessage, s: HttpMessage, opts: CompareOptions): Difference[] {
  const max = opts.maxDifferences ?? 20;
  const out: Difference[] = [];
  if (p.status !== s.status) out.push({ kind: DIFF_KIND.STATUS, production: String(p.status), shadow: String(s.status) });
  const body = compareBodies(p, s, opts, max);
  const ph = headerMap(p.headers);
  const sh = headerMap(s.headers);
  const names = new Set([...ph.keys(), ...sh.keys()]);
  for (const n of names) {
    if (opts.ignoreHeaders.has(n)) continue;
    // Equal bodies make a Content-Length difference noise (a re-serialised JSON body with ignored
    // paths), unless neither response has a body at all (HEAD, 304, 204): then it is the only
    // word on the size of the body the client would get.
    if (n === 'content-length' && body.length === 0 && (p.bodyBytes > 0 || s.bodyBytes > 0)) continue;
    const pv = ph.get(n);
    const sv = sh.get(n);
    const pj = pv === undefined ? null : pv.join(', ');
    const sj = sv === undefined ? null : sv.join(', ');
    if (pj === sj) continue;
    out.push({ kind: DIFF_KIND.HEADER, where: n, production: pj === null ? null : redactHeader(n, pj), shadow: sj === null ? null : redactHeader(n, sj) });
  }
  for (const d of body) out.push(d);
  return out.slice(0, max);
}
