/**
 * `podspan replay FILE (--iface IF | --to H:P) [--mode packet|stream|http] ...`
 *
 * Modes: packet (frames onto an interface, cli/replay-packet.ts), stream (each captured TCP
 * connection's client bytes to H:P with the original pacing), http (requests one by one,
 * responses compared with the captured production responses).
 *
 * Exit status: 0 when the replay ran, mismatches included (as tcpreplay: the differences are
 * the result, in the summary, --diff and --report); 1 for a data or runtime error (unreadable
 * capture, unwritable output); 2 for usage errors.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { JsonIgnore } from '../collector/diff/json-path.js';
import { DEFAULT_IGNORED_HEADERS } from '../collector/diff/compare.js';
import { DiffSink } from '../collector/diff/sink.js';
import { renderReport } from '../collector/report/html.js';
import { DEFAULT_LOAD_MEMCAP, loadConnections } from '../collector/replay/capture.js';
import type { HttpReplaySummary } from '../collector/replay/http.js';
import type { Speed } from '../collector/replay/pace.js';
import type { ReplayTarget, StreamReplaySummary } from '../collector/replay/stream.js';
import { ERR, PodspanError } from '../packet/errors.js';
import { EXIT, usageError } from './errors.js';
import { parseConnectAddress } from './address.js';
import { parseSize } from './units.js';
import { Interrupt } from './interrupt.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export const REPLAY_OPTIONS: Options = {
  iface: { type: 'string' },
  to: { type: 'string' },
  mode: { type: 'string' },
  speed: { type: 'string' },
  json: { type: 'boolean' },
  // stream and http
  'include-partial': { type: 'boolean' },
  concurrency: { type: 'string' },
  timeout: { type: 'string' },
  memcap: { type: 'string' },
  queue: { type: 'string' },
  // http
  diff: { type: 'string' },
  report: { type: 'string' },
  rate: { type: 'string' },
  sample: { type: 'string' },
  'sample-by': { type: 'string' },
  host: { type: 'string' },
  'set-header': { type: 'string', multiple: true },
  'remove-header': { type: 'string', multiple: true },
  'ignore-header': { type: 'string', multiple: true },
  'compare-header': { type: 'string', multiple: true },
  'ignore-path': { type: 'string', multiple: true },
  // packet (cli/replay-packet.ts)
  'src-mac': { type: 'string' },
  'dst-mac': { type: 'string' },
  'map-ip': { type: 'string', multiple: true },
  count: { type: 'string', short: 'c' },
  loop: { type: 'string' },
};

export type ReplayValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** Skipped connections named one per line on stderr; the rest are counted. */
const MAX_NAMED_SKIPS = 10;

const HTTP_ONLY = ['diff', 'report', 'rate', 'sample', 'sample-by', 'host', 'set-header', 'remove-header', 'ignore-header', 'compare-header', 'ignore-path'];
const PACKET_ONLY = ['src-mac', 'dst-mac', 'map-ip', 'count', 'loop'];

function str(v: ReplayValues, k: string): string | undefined {
  const x = v[k];
  return typeof x === 'string' ? x : undefined;
}

function list(v: ReplayValues, k: string): string[] {
  const x = v[k];
  return Array.isArray(x) ? x.filter((e): e is string => typeof e === 'string') : [];
}

function has(v: ReplayValues, k: string): boolean {
  const x = v[k];
  return x !== undefined && x !== false && !(Array.isArray(x) && x.length === 0);
}

export function parseSpeed(s: string | undefined): Speed {
  if (s === undefined) return 1;
  if (s === 'max' || s === 'topspeed') return 'max';
  if (!/^[0-9]*\.?[0-9]+$/.test(s) || !(Number(s) > 0) || !Number.isFinite(Number(s))) throw usageError(`--speed wants a positive factor (2 = twice as fast) or "max", got "${s}"`);
  return Number(s);
}

export function parseTarget(s: string): ReplayTarget {
  return parseConnectAddress(s, `--to wants HOST:PORT (e.g. 10.0.0.2:8080, [::1]:80), got "${s}"`);
}

function positive(s: string | undefined, flag: string, integer: boolean): number | undefined {
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!/^[0-9]*\.?[0-9]+$/.test(s) || !(n > 0) || (integer && !Number.isInteger(n))) throw usageError(`${flag} wants a positive ${integer ? 'whole ' : ''}number, got "${s}"`);
  return n;
}

function headerName(s: string, flag: string): string {
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(s)) throw usageError(`${flag} wants a header name, got "${s}"`);
  return s;
}

/** Header values never contain CR or LF (they would inject lines into the request). */
function setHeader(s: string): [string, string] {
  const i = s.indexOf(':');
  if (i <= 0 || /[\r\n]/.test(s)) throw usageError(`--set-header wants 'Name: value', got "${s}"`);
  return [headerName(s.slice(0, i).trim(), '--set-header'), s.slice(i + 1).trim()];
}

function line(label: string, value: string | number): string {
  return `podspan: ${label}: ${value}\n`;
}

function reasons(r: Record<string, number>): string {
  const e = Object.entries(r).filter(([, n]) => n > 0);
  return e.length === 0 ? '0' : e.map(([k, n]) => `${k} ${n}`).join(', ');
}

export async function runReplay(file: string, values: ReplayValues): Promise<number> {
  const iface = str(values, 'iface');
  const to = str(values, 'to');
  if ((iface === undefined) === (to === undefined)) throw usageError('replay: give exactly one of --iface IF (packet mode) or --to HOST:PORT (stream or http mode)');
  const wantsHttp = HTTP_ONLY.some((k) => has(values, k));
  const mode = str(values, 'mode') ?? (iface !== undefined ? 'packet' : wantsHttp ? 'http' : 'stream');
  if (mode !== 'packet' && mode !== 'stream' && mode !== 'http') throw usageError(`--mode wants packet, stream or http, got "${mode}"`);
  if (mode === 'packet') {
    if (iface === undefined) throw usageError('replay --mode packet: --iface IF is required (packet mode writes frames onto an interface)');
    for (const k of [...HTTP_ONLY, 'include-partial', 'concurrency', 'queue']) if (has(values, k)) throw usageError(`replay: --${k} is for --mode stream or http, not packet`);
    const { runPacketReplay } = await import('./replay-packet.js');
    return runPacketReplay(file, values);
  }
  if (to === undefined) throw usageError(`replay --mode ${mode}: --to HOST:PORT is required`);
  for (const k of PACKET_ONLY) if (has(values, k)) throw usageError(`replay: --${k} is for --mode packet`);
  if (mode === 'stream') for (const k of HTTP_ONLY) if (has(values, k)) throw usageError(`replay: --${k} needs --mode http`);
  const target = parseTarget(to);
  const speed = parseSpeed(str(values, 'speed'));
  const concurrency = positive(str(values, 'concurrency'), '--concurrency', true) ?? 64;
  const timeoutSec = positive(str(values, 'timeout'), '--timeout', false) ?? 10;
  const memCapBytes = str(values, 'memcap') !== undefined ? parseSize(str(values, 'memcap')!, '--memcap') : DEFAULT_LOAD_MEMCAP;
  const queueBytes = str(values, 'queue') !== undefined ? parseSize(str(values, 'queue')!, '--queue') : 1024 * 1024;
  const includePartial = values['include-partial'] === true;
  const json = values.json === true;

  // Validate every http flag before reading the capture.
  let httpSetup: (() => Promise<HttpReplaySummary>) | undefined;
  /** Aborted by Ctrl-C or SIGTERM (stream and http modes). */
  const stop = new AbortController();
  let diffPath: string | undefined;
  let reportPath: string | undefined;
  let sink: DiffSink | undefined;
  if (mode === 'http') {
    const rate = positive(str(values, 'rate'), '--rate', false);
    const sample = str(values, 'sample');
    let samplePct = 100;
    if (sample !== undefined) {
      const n = Number(sample.replace(/%$/, ''));
      if (!/^[0-9]*\.?[0-9]+%?$/.test(sample) || !(n > 0 && n <= 100)) throw usageError(`--sample wants a percentage in (0, 100], got "${sample}"`);
      samplePct = n;
    }
    const sampleBy = str(values, 'sample-by');
    if (sampleBy !== undefined) headerName(sampleBy, '--sample-by');
    const host = str(values, 'host');
    if (host !== undefined && (host === '' || /[\r\n\s]/.test(host))) throw usageError(`--host wants a host name (optionally :port), got "${host}"`);
    const set = list(values, 'set-header').map(setHeader);
    const remove = list(values, 'remove-header').map((h) => headerName(h, '--remove-header').toLowerCase());
    const ignore = new Set(DEFAULT_IGNORED_HEADERS);
    for (const h of list(values, 'compare-header')) ignore.delete(headerName(h, '--compare-header').toLowerCase());
    for (const h of list(values, 'ignore-header')) ignore.add(headerName(h, '--ignore-header').toLowerCase());
    let ignorePaths: JsonIgnore;
    try {
      ignorePaths = JsonIgnore.parse(list(values, 'ignore-path'));
    } catch (e) {
      throw usageError(`--ignore-path: ${(e as Error).message}`);
    }
    diffPath = str(values, 'diff');
    reportPath = str(values, 'report');
    const opts = {
      target,
      speed,
      concurrency,
      includePartial,
      samplePct,
      ...(rate !== undefined ? { rate } : {}),
      ...(sampleBy !== undefined ? { sampleBy } : {}),
      rewrite: { ...(host !== undefined ? { host } : {}), set, remove },
      compare: { ignoreHeaders: ignore, ignorePaths },
      timeoutMs: timeoutSec * 1000,
      signal: stop.signal,
    };
    // Outputs are opened (or their directory checked) before the replay starts: a typo in a
    // path fails at once, not after the whole capture was sent.
    if (reportPath !== undefined) {
      try {
        accessSync(dirname(resolve(reportPath)), constants.W_OK);
      } catch {
        throw new PodspanError(ERR.IO, `--report ${reportPath}: directory ${dirname(resolve(reportPath))} does not exist or is not writable`);
      }
      // An existing path must be a file we may write: found now, not after the whole replay.
      const st = statSync(reportPath, { throwIfNoEntry: false });
      if (st !== undefined && !st.isFile()) throw new PodspanError(ERR.IO, `--report ${reportPath}: not a regular file`);
      if (st !== undefined) {
        try {
          accessSync(reportPath, constants.W_OK);
        } catch (e) {
          throw new PodspanError(ERR.IO, `--report ${reportPath}: ${(e as Error).message}`);
        }
      }
    }
    try {
      sink = new DiffSink(diffPath);
    } catch (e) {
      throw new PodspanError(ERR.IO, `--diff ${diffPath}: ${(e as Error).message}`);
    }
    httpSetup = async () => {
      const { replayHttp } = await import('../collector/replay/http.js');
      try {
        return await replayHttp(loaded.conns, sink!, opts);
      } finally {
        await sink!.close();
      }
    };
  }

  const loaded = await loadConnections(file, { memCapBytes });
  // Ctrl-C (or SIGTERM): nothing new starts, what is under way ends, and the summary (and
  // --report) still come out, as tcpreplay prints its statistics. A second signal kills.
  const interrupt = new Interrupt(() => stop.abort());
  let summary: Record<string, unknown>;
  let out: string;
  /** Every connection tried failed to connect: the shadow is not there. */
  let unreachable = false;
  /** --diff or --report could not be written. */
  let outputError: string | undefined;
  if (mode === 'stream') {
    const { replayStreams } = await import('../collector/replay/stream.js');
    const s: StreamReplaySummary = await replayStreams(loaded.conns, { target, speed, concurrency, includePartial, queueBytes, timeoutMs: timeoutSec * 1000, lingerMs: Math.min(2000, timeoutSec * 1000), signal: stop.signal });
    unreachable = s.replayed === 0 && (s.dropped['connect_failed'] ?? 0) > 0;
    summary = { mode, file, target: to, ...s };
    out =
      line('connections in capture', s.connections) +
      line('connections replayed', s.replayed) +
      line('skipped', reasons(s.skipped)) +
      line('dropped (target)', reasons(s.dropped)) +
      (Object.keys(s.droppedBytes).length > 0 ? line('bytes dropped', reasons(s.droppedBytes)) : '') +
      line('bytes sent / received', `${s.bytesSent} / ${s.bytesReceived}`);
  } else {
    const s = await httpSetup!();
    const d = sink!.data;
    if (reportPath !== undefined) {
      const counts: [string, string, number][] = [
        ['connections', 'captured TCP connections', s.connections],
        ['replayed-connections', 'connections replayed', s.replayedConnections],
        ['requests', 'HTTP requests framed', s.requests],
        ['sampled-out', 'requests not in the sample', s.sampledOut],
        ['replayed', 'requests replayed', s.replayed],
        ['compared', 'responses compared', s.compared],
        ['matches', 'matching', s.matches],
        ['mismatches', 'mismatching', s.mismatches],
        ['shadow-errors', 'shadow errors (no usable answer)', Object.values(s.shadowErrors).reduce((a, b) => a + b, 0)],
        ['no-production-response', 'no production response captured', s.noProductionResponse],
      ];
      for (const [k, n] of Object.entries(s.skipped)) counts.push([`skipped-${k}`, `connections skipped: ${k.replace(/_/g, ' ')}`, n]);
      for (const [k, n] of Object.entries(s.shadowErrors)) counts.push([`shadow-error-${k}`, `shadow error: ${k.replace(/_/g, ' ')}`, n]);
      try {
        await writeFile(reportPath, renderReport(d, { capture: file, target: to, generated: new Date().toISOString(), counts }));
      } catch (e) {
        // The summary is still printed; the status says the report is missing.
        outputError ??= `--report ${reportPath}: ${(e as Error).message}`;
      }
    }
    if (sink!.error !== undefined) {
      outputError ??= `--diff ${diffPath}: ${sink!.error.message} (the lines after it are missing)`;
    }
    // Requests count as replayed when sent for; every one of them failed to connect.
    unreachable = s.replayed > 0 && (s.shadowErrors['connect_failed'] ?? 0) >= s.replayed;
    summary = { mode, file, target: to, ...s, diff: diffPath ?? null, report: reportPath ?? null };
    out =
      line('connections in capture', s.connections) +
      line('connections replayed', s.replayedConnections) +
      line('skipped connections', reasons(s.skipped)) +
      line('requests framed', s.requests) +
      (s.sampledOut > 0 ? line('requests not sampled', s.sampledOut) : '') +
      line('requests replayed', s.replayed) +
      line('responses compared', `${s.compared} (${s.matches} match, ${s.mismatches} mismatch)`) +
      line('shadow errors', reasons(s.shadowErrors)) +
      (s.unsolicited > 0 ? line('unsolicited bytes from the shadow (connection closed, never paired with a request)', s.unsolicited) : '') +
      (s.noProductionResponse > 0 ? line('no production response captured', s.noProductionResponse) : '') +
      (Object.keys(s.framing).length > 0 ? line('client streams not framed to the end', reasons(s.framing)) : '') +
      (diffPath !== undefined ? line('diff', diffPath) : '') +
      (reportPath !== undefined ? line('report', reportPath) : '');
  }
  // Name the first partial connections skipped, so they can be found in the capture.
  const partial = loaded.conns.filter((c) => c.partial === 'memcap' || (c.partial !== null && !includePartial));
  for (const c of partial.slice(0, MAX_NAMED_SKIPS)) {
    out += `podspan: skipped ${c.client} -> ${c.server} (${c.partial}; c2s gap ${c.c2s.gapBytes} bytes, s2c gap ${c.s2c.gapBytes} bytes)\n`;
  }
  if (partial.length > MAX_NAMED_SKIPS) {
    // --include-partial replays connections with gaps or picked up mid-stream, never those past --memcap.
    const hint = includePartial ? '' : partial.some((c) => c.partial !== 'memcap') ? ' (--include-partial replays those not cut by --memcap)' : ' (raise --memcap to keep them)';
    out += `podspan: ... and ${partial.length - MAX_NAMED_SKIPS} more skipped connections${hint}\n`;
  }
  if (loaded.notKeptBytes > 0) out += line('bytes not kept (raise --memcap)', loaded.notKeptBytes);
  process.stderr.write(out);
  if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  interrupt.release();
  if (interrupt.signal !== undefined) process.stderr.write(`podspan: replay: interrupted (${interrupt.signal}): the counts above are of what was replayed before it\n`);
  if (loaded.fileError !== null) {
    // Replayed what was read, then the data error (as `read` does for a cut-off file).
    process.stderr.write(`podspan: ${loaded.fileError.message} (replayed the ${loaded.packets} records before it)\n`);
    return EXIT.RUNTIME;
  }
  if (outputError !== undefined) {
    process.stderr.write(`podspan: replay: ${outputError}\n`);
    return EXIT.RUNTIME;
  }
  if (interrupt.signal !== undefined) return interrupt.exitStatus;
  if (unreachable) {
    // Nothing reached the shadow and the reason is the shadow itself: not a success.
    process.stderr.write(`podspan: replay: could not connect to ${to}: nothing was replayed\n`);
    return EXIT.RUNTIME;
  }
  return EXIT.OK;
}
