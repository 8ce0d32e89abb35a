/**
 * Where compared requests go: one JSON line each (`--diff FILE`), and bounded aggregates for
 * the HTML report (counts per endpoint and difference kind, the first mismatch rows, latency
 * points). Credentials are redacted before anything gets here (compare.ts, redact.ts).
 */
import { createWriteStream, openSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Difference } from './compare.js';

export interface DiffRecord {
  /** `client-server#id`: the captured connection. */
  connection: string;
  /** Position of the request in its connection (0-based). */
  index: number;
  method: string;
  path: string;
  production: { status: number | null; latencyUs: number | null };
  shadow: { status: number | null; latencyUs: number | null; error?: string };
  /** null: not compared (no production response captured). */
  match: boolean | null;
  differences: Difference[];
}

export interface EndpointGroup {
  endpoint: string;
  kind: string;
  /** Header name or JSON path when all differences of the group share one, else ''. */
  where: string;
  count: number;
  example: Difference;
  exampleConnection: string;
}

export interface ReportData {
  compared: number;
  matches: number;
  mismatches: number;
  shadowErrors: number;
  notCompared: number;
  groups: EndpointGroup[];
  /** First MAX_ROWS mismatching requests. */
  rows: DiffRecord[];
  rowsDropped: number;
  /** [production µs, shadow µs, mismatch 0/1] for up to MAX_POINTS compared requests (reservoir sample beyond). */
  points: [number, number, number][];
  pointsSeen: number;
}

export const MAX_ROWS = 1000;
export const MAX_POINTS = 20_000;
const MAX_GROUPS = 10_000;

/** Endpoint of a request target: the path without query, numeric and hex-id segments folded to `{id}`. */
export function endpointOf(method: string, target: string): string {
  const q = target.indexOf('?');
  const path = q >= 0 ? target.slice(0, q) : target;
  const folded = path
    .split('/')
    .map((s) => (/^[0-9]+$/.test(s) || /^[0-9a-f]{16,}$/i.test(s) || /^[0-9a-f-]{36}$/i.test(s) ? '{id}' : s))
    .join('/');
  return `${method} ${folded}`;
}

export class DiffSink {
  private readonly out: WriteStream | null;
  readonly data: ReportData = {
    compared: 0,
    matches: 0,
    mismatches: 0,
    shadowErrors: 0,
    notCompared: 0,
    groups: [],
    rows: [],
    rowsDropped: 0,
    points: [],
    pointsSeen: 0,
  };
  private readonly groupIndex = new Map<string, EndpointGroup>();
  groupsDropped = 0;
  private seed = 12345;
  private drain: Promise<void> | null = null;
  /**
   * The first write error of the file (ENOSPC…): lines after it are not written, the replay
   * goes on (its counts and report are still worth having), and the caller reports it.
   */
  error: Error | undefined = undefined;

  constructor(path: string | undefined) {
    // Opened synchronously: a bad path throws here (before any replay), not later as an event.
    this.out = path === undefined ? null : createWriteStream(path, { fd: openSync(path, 'w') });
    this.out?.on('error', (e) => {
      this.error ??= e;
    });
  }

  /** Records one request; resolves when the line is accepted by the file (back-pressure). */
  async add(r: DiffRecord): Promise<void> {
    const d = this.data;
    if (r.shadow.error !== undefined) d.shadowErrors++;
    else if (r.match === null) d.notCompared++;
    else {
      d.compared++;
      if (r.match) d.matches++;
      else d.mismatches++;
      this.point(r);
    }
    if (r.match === false) {
      if (d.rows.length < MAX_ROWS) d.rows.push(r);
      else d.rowsDropped++;
      const ep = endpointOf(r.method, r.path);
      const seen = new Set<string>();
      for (const diff of r.differences) {
        const where = diff.kind === 'body' && diff.where !== undefined ? diff.where : diff.kind === 'header' ? (diff.where ?? '') : '';
        const key = `${ep}\u0000${diff.kind}\u0000${where}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const g = this.groupIndex.get(key);
        if (g !== undefined) g.count++;
        else if (this.groupIndex.size < MAX_GROUPS) {
          const ng: EndpointGroup = { endpoint: ep, kind: diff.kind, where, count: 1, example: diff, exampleConnection: `${r.connection} #${r.index}` };
          this.groupIndex.set(key, ng);
          d.groups.push(ng);
        } else this.groupsDropped++;
      }
    }
    const out = this.out;
    if (out !== null && this.error === undefined && !out.destroyed && !out.write(`${JSON.stringify(r)}\n`)) {
      // One wait shared by every connection writing at the time; a failed stream never drains.
      this.drain ??= Promise.race([once(out, 'drain'), once(out, 'close')]).then(
        () => {
          this.drain = null;
        },
        () => {
          this.drain = null;
        },
      );
      await this.drain;
    }
  }

  private point(r: DiffRecord): void {
    const d = this.data;
    if (r.production.latencyUs === null || r.shadow.latencyUs === null) return;
    const p: [number, number, number] = [r.production.latencyUs, r.shadow.latencyUs, r.match === false ? 1 : 0];
    d.pointsSeen++;
    if (d.points.length < MAX_POINTS) {
      d.points.push(p);
      return;
    }
    // Reservoir sampling (deterministic PRNG): every point equally likely to be kept.
    this.seed = (Math.imul(this.seed, 1103515245) + 12345) >>> 0;
    const j = this.seed % d.pointsSeen;
    if (j < MAX_POINTS) d.points[j] = p;
  }

  /** Ends the file; never throws: a write error is left in `error`. */
  async close(): Promise<void> {
    const out = this.out;
    if (out === null) return;
    if (!out.closed) {
      const closed = once(out, 'close').catch(() => undefined);
      out.end();
      await closed;
    }
  }
}
