/**
 * `podspan collector`: receive mirror traffic from any source and store or stream it.
 *
 *   podspan collector [--vxlan ADDR]... [--gre] [--out DIR] [--rotate-size SIZE]
 *                     [--rotate-time DURATION] [--keep-files N] [--keep-bytes SIZE]
 *                     [--split-by pod|source|none] [--stdout] [--duration SECONDS]
 *                     [--ws ADDR (--token-file FILE | --insecure-no-token) [--tls-cert FILE --tls-key FILE]]
 *
 * --ws: podspan agents over WebSocket (collector/ingest/ws.ts: acks only for committed
 * frames, so a killed and restarted collector loses and duplicates none within the agents'
 * spools). A --ws listener needs a token unless --insecure-no-token is given.
 * ADDR is HOST:PORT, [IPv6]:PORT, HOST (port 4789) or :PORT (all IPv4 addresses).
 * SIZE is bytes with an optional K, M, G or T suffix (powers of 1024; "100M", "1.5G" is
 * refused: whole numbers only). DURATION is a number with ms, s, m, h or d (plain = s).
 *
 * Start-up problems are usage errors (exit 2): a bad flag, no input, no output, a port in
 * use, no raw-socket privilege for --gre. On SIGINT/SIGTERM or after --duration the
 * collector stops its listeners, flushes, writes statistics blocks, renames its files and
 * prints a summary on stderr; SIGHUP finishes the current files and starts new ones.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { createSecureContext } from 'node:tls';
import type { ParseArgsConfig } from 'node:util';

import { Collector, type CollectorOptions, type CollectorSummary, type ListenAddress } from '../collector/collector.js';
import { SPLIT_BY, STORE_DEFAULT_ROTATE_BYTES, type SplitBy } from '../collector/sink/pcapng-store.js';
import { isCaptureError } from '../native/errors.js';
import { VXLAN_PORT } from '../packet/wire/vxlan.js';
import { parseMetricsAddress, startMetricsServer, type MetricsServer } from './metrics-server.js';
import { parseConnectAddress, portNumber, splitHostPort } from './address.js';
import { makeDirs } from './dirs.js';
import { parseSize, setLongTimeout } from './units.js';
import { accessSync, constants } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { DEFAULT_IGNORED_HEADERS } from '../collector/diff/compare.js';
import { JsonIgnore } from '../collector/diff/json-path.js';
import { DiffSink } from '../collector/diff/sink.js';
import { renderReport } from '../collector/report/html.js';
import { EXIT, usageError } from './errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** The collector's flags, for parseArgs (cli/main.ts). */
export const COLLECTOR_OPTIONS: Options = {
  vxlan: { type: 'string', multiple: true },
  gre: { type: 'boolean' },
  out: { type: 'string' },
  'rotate-size': { type: 'string' },
  'rotate-time': { type: 'string' },
  'keep-files': { type: 'string' },
  'keep-bytes': { type: 'string' },
  'split-by': { type: 'string' },
  stdout: { type: 'boolean' },
  duration: { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'token-file': { type: 'string' },
  'insecure-no-token': { type: 'boolean' },
  // In the CLI contract, not in this build yet: accepted by the parser so the message says so.
  ws: { type: 'string' },
  tap: { type: 'string' },
  'replay-to': { type: 'string' },
  diff: { type: 'string' },
  report: { type: 'string' },
  'ignore-header': { type: 'string', multiple: true },
  'ignore-path': { type: 'string', multiple: true },
  metrics: { type: 'string' },
};


export type CollectorFlagValues = { [flag: string]: string | boolean | Array<string | boolean> | undefined };

export interface CollectorConfig {
  options: CollectorOptions;
  durationMs: number | undefined;
  /** --metrics: where GET /metrics is served. */
  metrics: { host: string; port: number } | undefined;
  /** --replay-to with --diff/--report: compare the shadow's HTTP responses with production's. */
  httpDiff: { diff: string | undefined; report: string | undefined; ignoreHeaders: string[]; ignorePaths: string[] } | undefined;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, '': 1000, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "1h" → 3600000 ms; ms, s, m, h, d; a plain number is seconds. */
export function parseDuration(text: string, flag: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h|d|)$/.exec(text.trim());
  const ms = m === null ? NaN : Math.round(Number(m[1]) * DURATION_UNITS[m[2]!]!);
  if (m === null || !Number.isSafeInteger(ms) || ms < 1) {
    throw usageError(`collector: ${flag} wants a duration such as 30s, 15m, 1h or 1d (a plain number is seconds), got "${text}"`);
  }
  return ms;
}

/** "127.0.0.1:4789", "[::]:4789", "0.0.0.0" (port 4789), ":4789" (0.0.0.0); port 0 = any free port. */
export function parseListenAddress(text: string): ListenAddress {
  const p = splitHostPort(text);
  const host = p === null ? text : p.host === '' ? '0.0.0.0' : p.host;
  if (p === null || isIP(host) === 0) {
    throw usageError(`collector: --vxlan ${text}: "${host}" is not an IP address (use e.g. 0.0.0.0:4789, 127.0.0.1:4789 or [::]:4789)`);
  }
  if (p.port === undefined) return { host, port: VXLAN_PORT };
  const port = portNumber(p.port);
  if (port === undefined) throw usageError(`collector: --vxlan ${text}: the port must be 1 to 65535 (0: any free port), got "${p.port}"`);
  return { host, port };
}

function str(v: CollectorFlagValues[string]): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function strs(v: CollectorFlagValues[string]): string[] {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return typeof v === 'string' ? [v] : [];
}

/**
 * --ws ADDR (HOST:PORT, [IPv6]:PORT or :PORT; port 0 = any free port), --tls-cert/--tls-key
 * (wss), --token-file (the bearer token agents must present). A --ws listener without a
 * token is refused unless --insecure-no-token says so: mirrored traffic is sensitive and a
 * tunnel anyone can feed poisons the store.
 */
export function wsConfig(values: CollectorFlagValues): CollectorOptions['ws'] {
  const addr = str(values['ws']);
  const cert = str(values['tls-cert']);
  const key = str(values['tls-key']);
  const tokenFile = str(values['token-file']);
  const insecure = values['insecure-no-token'] === true;
  if (addr === undefined) {
    for (const f of ['tls-cert', 'tls-key', 'token-file', 'insecure-no-token'] as const) {
      if (values[f] !== undefined) throw usageError(`collector: --${f} applies to the WebSocket listener: give --ws ADDR too`);
    }
    return undefined;
  }
  const p = splitHostPort(addr);
  const host = p === null ? '' : p.host === '' ? '0.0.0.0' : p.host;
  const port = portNumber(p?.port);
  if (port === undefined || isIP(host) === 0) {
    throw usageError(`collector: --ws ${addr}: expected HOST:PORT with an IP address, e.g. 0.0.0.0:8443, 127.0.0.1:8080, [::]:8443 or :8443 (port 0: any free port)`);
  }
  if ((cert === undefined) !== (key === undefined)) throw usageError('collector: wss needs both --tls-cert FILE and --tls-key FILE (PEM)');
  let tls: { cert: Buffer; key: Buffer } | undefined;
  if (cert !== undefined && key !== undefined) {
    const read = (file: string, flag: string): Buffer => {
      try {
        return readFileSync(file);
      } catch (e) {
        throw usageError(`collector: ${flag} ${file}: ${(e as Error).message}`);
      }
    };
    tls = { cert: read(cert, '--tls-cert'), key: read(key, '--tls-key') };
    try {
      createSecureContext(tls);
    } catch (e) {
      throw usageError(`collector: --tls-cert/--tls-key are not a PEM certificate and its private key: ${(e as Error).message}`);
    }
  }
  let token: string | undefined;
  if (tokenFile !== undefined) {
    if (insecure) throw usageError('collector: --token-file and --insecure-no-token contradict each other');
    try {
      token = readFileSync(tokenFile, 'utf8').trim();
    } catch (e) {
      throw usageError(`collector: --token-file ${tokenFile}: ${(e as Error).message}`);
    }
    if (token === '' || /\s/.test(token)) throw usageError(`collector: --token-file ${tokenFile} must hold one token (no spaces), e.g. made with: head -c 32 /dev/urandom | base64 > ${tokenFile}`);
  } else if (!insecure) {
    throw usageError('collector: --ws needs --token-file FILE (the bearer token agents must present; e.g. head -c 32 /dev/urandom | base64 > token); --insecure-no-token accepts any agent');
  }
  return { host, port, ...(tls !== undefined ? { tls } : {}), token };
}

/** Flags → config; usage errors (exit 2) for anything wrong. */
export function collectorConfig(values: CollectorFlagValues, stdoutIsTty: boolean = process.stdout.isTTY === true): CollectorConfig {
  const vxlan = strs(values['vxlan']).map(parseListenAddress);
  const seen = new Set<string>();
  for (const a of vxlan) {
    const k = `${a.host}|${a.port}`;
    if (seen.has(k)) throw usageError(`collector: --vxlan ${a.host}:${a.port} given twice`);
    seen.add(k);
  }
  const gre = values['gre'] === true;
  const ws = wsConfig(values);
  if (vxlan.length === 0 && !gre && ws === undefined) {
    throw usageError('collector: say where mirror traffic comes in: --vxlan ADDR (UDP, repeatable, e.g. --vxlan 0.0.0.0:4789), --gre (GRE/ERSPAN, needs CAP_NET_RAW) and/or --ws ADDR (podspan agents over WebSocket, with --token-file)');
  }
  const out = str(values['out']);
  const stdout = values['stdout'] === true;
  const tap = str(values['tap']);
  if (tap !== undefined && (tap === '' || tap.length > 15 || /[\s/]/.test(tap))) throw usageError(`collector: --tap "${tap}" is not an interface name (1 to 15 characters, no '/' or spaces)`);
  const replayText = str(values['replay-to']);
  let replayTo: { host: string; port: number } | undefined;
  if (replayText !== undefined) {
    replayTo = parseConnectAddress(replayText, `collector: --replay-to wants HOST:PORT of the shadow service (e.g. 10.0.0.9:8080), got "${replayText}"`);
  }
  if (out === undefined && !stdout && tap === undefined && replayTo === undefined) {
    throw usageError('collector: say where frames go: --out DIR (pcapng files), --stdout (a pcap stream, e.g. | tshark -r - or | wireshark -k -i -), --tap IF (frames re-injected onto an interface for an IDS) and/or --replay-to HOST:PORT (client streams replayed to a shadow)');
  }
  if (out === '') throw usageError('collector: --out wants a directory');
  if (stdout && stdoutIsTty) {
    throw usageError('collector: --stdout writes binary pcap: pipe it into a reader (| tshark -r -, | wireshark -k -i -) instead of a terminal');
  }
  const fileFlags = ['rotate-size', 'rotate-time', 'keep-files', 'keep-bytes', 'split-by'] as const;
  if (out === undefined) {
    for (const f of fileFlags) if (values[f] !== undefined) throw usageError(`collector: --${f} applies to files: give --out DIR too`);
  }
  const rsText = str(values['rotate-size']);
  const rotateBytes = rsText === undefined ? STORE_DEFAULT_ROTATE_BYTES : parseSize(rsText, 'collector: --rotate-size');
  const rtText = str(values['rotate-time']);
  const rotateMs = rtText === undefined ? undefined : parseDuration(rtText, '--rotate-time');
  const kfText = str(values['keep-files']);
  let keepFiles: number | undefined;
  if (kfText !== undefined) {
    if (!/^[0-9]+$/.test(kfText) || Number(kfText) < 1 || !Number.isSafeInteger(Number(kfText))) throw usageError(`collector: --keep-files wants a whole number of at least 1, got "${kfText}"`);
    keepFiles = Number(kfText);
  }
  const kbText = str(values['keep-bytes']);
  const keepBytes = kbText === undefined ? undefined : parseSize(kbText, 'collector: --keep-bytes');
  if (keepBytes !== undefined && keepBytes < rotateBytes) {
    throw usageError(`collector: --keep-bytes (${kbText}) is smaller than one file (--rotate-size ${rsText ?? '100M'}): every finished file would be deleted at once; raise --keep-bytes or lower --rotate-size`);
  }
  const sbText = str(values['split-by']) ?? 'none';
  if (!(SPLIT_BY as readonly string[]).includes(sbText)) throw usageError(`collector: --split-by wants pod, source or none, got "${sbText}"`);
  const durText = str(values['duration']);
  let durationMs: number | undefined;
  if (durText !== undefined) {
    if (!/^[0-9]+(\.[0-9]+)?$/.test(durText) || Number(durText) <= 0) throw usageError(`collector: --duration wants seconds greater than 0 (e.g. 10 or 0.5), got "${durText}"`);
    durationMs = Math.max(1, Math.round(Number(durText) * 1000));
  }
  const options: CollectorOptions = { vxlan };
  if (gre) options.gre = {};
  if (ws !== undefined) options.ws = ws;
  if (out !== undefined) {
    options.store = { dir: out, rotateBytes, splitBy: sbText as SplitBy };
    if (rotateMs !== undefined) options.store.rotateMs = rotateMs;
    if (keepFiles !== undefined) options.store.keepFiles = keepFiles;
    if (keepBytes !== undefined) options.store.keepBytes = keepBytes;
  }
  if (stdout) options.stdout = {};
  if (tap !== undefined) options.tap = { iface: tap };
  if (replayTo !== undefined) options.replayTo = replayTo;
  const metricsText = str(values['metrics']);
  const diff = str(values['diff']);
  const report = str(values['report']);
  const ignoreHeaders = strs(values['ignore-header']);
  const ignorePaths = strs(values['ignore-path']);
  if ((diff !== undefined || report !== undefined || ignoreHeaders.length + ignorePaths.length > 0) && replayTo === undefined) {
    throw usageError('collector: --diff, --report, --ignore-header and --ignore-path compare the shadow of --replay-to HOST:PORT with production: give --replay-to too');
  }
  for (const p of ignorePaths) if (!p.startsWith('$')) throw usageError(`collector: --ignore-path wants a JSON path such as $.meta.requestId, got "${p}"`);
  const httpDiff = diff !== undefined || report !== undefined ? { diff, report, ignoreHeaders, ignorePaths } : undefined;
  return { options, durationMs, httpDiff, metrics: metricsText === undefined ? undefined : parseMetricsAddress(metricsText, 'collector') };
}

/** "vxlan 127.0.0.1:4789, gre/erspan (raw socket)", with the ports actually bound. */
function describeInputs(c: Collector): string {
  const parts = c.vxlanListeners.map((l) => `vxlan ${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}`);
  if (c.greListener !== undefined) parts.push('gre/erspan (raw socket)');
  const w = c.wsListener;
  if (w !== undefined) parts.push(`${w.secure ? 'wss' : 'ws'} ${w.host.includes(':') ? `[${w.host}]` : w.host}:${w.port}`);
  return parts.join(', ');
}

export interface StageCounts {
  received: number;
  delivered: number;
  dropped: number;
  reasons: Record<string, number>;
}

/** "vxlan: received 6, delivered 3, dropped 3 (short=1, ...)" lines → stage → counts. */
export function parseCollectorSummary(stderr: string): Record<string, StageCounts> {
  const out: Record<string, StageCounts> = {};
  const re = /^(\w+): received (\d+), delivered (\d+), dropped (\d+)(?: \(([^)]*)\))?$/gm;
  for (let m = re.exec(stderr); m !== null; m = re.exec(stderr)) {
    const reasons: Record<string, number> = {};
    for (const kv of (m[5] ?? '').split(', ').filter((x) => x !== '')) {
      const [k, v] = kv.split('=');
      reasons[k!] = Number(v);
    }
    out[m[1]!] = { received: Number(m[2]), delivered: Number(m[3]), dropped: Number(m[4]), reasons };
  }
  return out;
}

/** The summary for people, on stderr. */
/** At most one store error line per this interval (a full disk fails every write). */
const STORE_ERROR_LOG_INTERVAL_MS = 10_000;

/**
 * Logs the store's I/O errors on stderr as tcpdump does ("No space left on device"): the
 * first at once, then at most one line per interval, saying how many came in between.
 */
export function storeErrorLog(intervalMs: number, write: (s: string) => void = (s) => process.stderr.write(s)): (e: Error) => void {
  let lastMs = -Infinity;
  let skipped = 0;
  return (e) => {
    const now = Date.now();
    if (now - lastMs < intervalMs) {
      skipped++;
      return;
    }
    lastMs = now;
    const more = skipped > 0 ? ` (and ${skipped} more errors since the last line)` : '';
    skipped = 0;
    write(`podspan collector: store: ${e.message}${more}; frames not written are counted as store write_error\n`);
  };
}

export function formatSummary(s: CollectorSummary, elapsedMs: number): string {
  const lines = [`podspan collector: stopped after ${(elapsedMs / 1000).toFixed(1)} s`];
  for (const st of s.stages) {
    const drops = Object.entries(st.dropped).filter(([, n]) => n !== 0);
    const total = drops.reduce((a, [, n]) => a + n, 0);
    lines.push(`${st.stage}: received ${st.received}, delivered ${st.delivered}, dropped ${total}${drops.length > 0 ? ` (${drops.map(([r, n]) => `${r}=${n}`).join(', ')})` : ''}`);
  }
  if (s.sources.length > 0) {
    lines.push(`sources: ${s.sources.length}`);
    for (const src of s.sources.slice(0, 20)) lines.push(`  ${src.description}: ${src.frames} frames`);
    if (s.sources.length > 20) lines.push(`  and ${s.sources.length - 20} more`);
  }
  if (s.filesFinished > 0 || s.filesDeleted > 0) lines.push(`files: ${s.filesFinished} finished, ${s.filesDeleted} deleted by retention`);
  const se = s.storeErrors;
  if (se.errors > 0) {
    lines.push(
      `store: ${se.errors} I/O errors, last: ${se.lastError ?? '?'}` +
        (se.rollbacks > 0 ? `; cut back to the last commit ${se.rollbacks} times (agents resent what was not acknowledged)` : ''),
    );
  }
  if (s.stdoutEnded !== undefined) lines.push(`stdout: the reader went away (${s.stdoutEnded})`);
  if (s.stdoutAbandonedBytes > 0) lines.push(`stdout: the reader stopped reading; ${s.stdoutAbandonedBytes} bytes still queued for it were not written`);
  if (s.tap !== undefined && (s.tap.retriesNoBufs > 0 || s.tap.retriesAgain > 0 || s.tap.lastError !== undefined)) {
    lines.push(`tap ${s.tap.iface}: send retries ENOBUFS=${s.tap.retriesNoBufs} EAGAIN=${s.tap.retriesAgain}${s.tap.lastError !== undefined ? `; last error: ${s.tap.lastError}` : ''}`);
  }
  if (s.replay !== undefined && s.replay.http !== undefined) {
    const h = s.replay.http;
    lines.push(`replay HTTP diff: ${h.compared} responses compared, ${h.matches} matching, ${h.mismatches} mismatching, ${h.notCompared} not compared${h.abandoned > 0 ? `, ${h.abandoned} connections abandoned` : ''}`);
  }
  if (s.replay !== undefined) {
    const c = s.replay.connections;
    lines.push(
      `replay to ${s.replay.target}: ${Object.values(c).reduce((a, n) => a + n, 0)} connections seen: ` +
        `${Object.entries(c).map(([k, n]) => `${k} ${n}`).join(', ')}; ${s.replay.bytesSent} client bytes sent, ${s.replay.bytesNotSent} not sent, ${s.replay.bytesReceived} bytes answered`,
    );
  }
  for (const v of s.invariantViolations) lines.push(`BUG: counters do not add up: ${v}`);
  return lines.join('\n') + '\n';
}

export async function runCollector(values: CollectorFlagValues): Promise<number> {
  const cfg = collectorConfig(values);
  if (cfg.options.store !== undefined) makeDirs(cfg.options.store.dir, 'collector: --out');
  // --replay-to with --diff/--report: the shadow's HTTP answers compared with production's.
  let diffSink: DiffSink | undefined;
  if (cfg.httpDiff !== undefined && cfg.options.replayTo !== undefined) {
    const hd = cfg.httpDiff;
    const ignore = new Set(DEFAULT_IGNORED_HEADERS);
    for (const h of hd.ignoreHeaders) ignore.add(h.toLowerCase());
    let ignorePaths: JsonIgnore;
    try {
      ignorePaths = JsonIgnore.parse(hd.ignorePaths);
    } catch (e) {
      throw usageError(`collector: --ignore-path: ${(e as Error).message}`);
    }
    if (hd.report !== undefined) {
      try {
        accessSync(dirname(resolve(hd.report)), constants.W_OK);
      } catch {
        throw usageError(`collector: --report ${hd.report}: directory ${dirname(resolve(hd.report))} does not exist or is not writable`);
      }
    }
    try {
      diffSink = new DiffSink(hd.diff);
    } catch (e) {
      throw usageError(`collector: --diff ${hd.diff ?? ''}: ${(e as Error).message}`);
    }
    cfg.options.replayTo.http = { sink: diffSink, compare: { ignoreHeaders: ignore, ignorePaths } };
  }
  const started = Date.now();
  let collector: Collector;
  try {
    collector = await Collector.start(cfg.options);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.syscall === 'listen' && cfg.options.ws !== undefined) {
      throw usageError(`collector: cannot listen for WebSocket on --ws ${cfg.options.ws.host}:${cfg.options.ws.port}: ${err.message} (the port is in use, or the address is not on this host)`);
    }
    if (err.syscall === 'bind') {
      throw usageError(`collector: cannot listen for VXLAN: ${err.message} (the port is in use, or the address is not on this host)`);
    }
    if (isCaptureError(e) && cfg.options.tap !== undefined && (e.code.startsWith('PODSPAN_ERR_INJECT') || cfg.options.gre === undefined)) {
      throw usageError(`collector: --tap ${cfg.options.tap.iface}: ${e.message}`);
    }
    if (isCaptureError(e)) throw usageError(`collector: --gre: ${(e as Error).message}`);
    throw e;
  }
  if (collector.store !== undefined) collector.store.onError = storeErrorLog(STORE_ERROR_LOG_INTERVAL_MS);
  const jr = collector.store?.journalRecovery;
  if (jr !== undefined) {
    process.stderr.write(
      `podspan collector: journal: kept the last commit: ${jr.truncated.length} file(s) cut back (${jr.truncated.reduce((a, x) => a + x.cutBytes, 0)} uncommitted bytes), ${jr.removed.length} uncommitted file(s) removed\n`,
    );
  }
  for (const r of collector.store?.repaired ?? []) {
    process.stderr.write(
      r.file === undefined
        ? `podspan collector: removed ${r.part}: no complete packet in it\n`
        : `podspan collector: repaired ${r.part} -> ${r.file}: ${r.records} packets kept, ${r.cutBytes} bytes of a cut-off block removed\n`,
    );
  }
  const outs = [cfg.options.store !== undefined ? `pcapng files in ${cfg.options.store.dir}` : undefined, cfg.options.stdout !== undefined ? 'pcap on stdout' : undefined, cfg.options.tap !== undefined ? `frames onto ${cfg.options.tap.iface}` : undefined, collector.replay !== undefined ? `client streams to ${collector.replay.target}` : undefined].filter((x) => x !== undefined);
  process.stderr.write(`podspan collector: listening on ${describeInputs(collector)}; writing ${outs.join(' and ')}\n`);
  let metrics: MetricsServer | undefined;
  if (cfg.metrics !== undefined) {
    try {
      metrics = await startMetricsServer(cfg.metrics, 'podspan_collector_', () => collector.metrics.samples(), 'collector');
    } catch (e) {
      await collector.stop();
      throw e;
    }
    process.stderr.write(`podspan collector: metrics on http://${metrics.address}/metrics\n`);
  }

  await new Promise<void>((resolve) => {
    let cancelTimer: (() => void) | undefined;
    const done = (): void => {
      cancelTimer?.();
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      process.off('SIGHUP', rotate);
      resolve();
    };
    const rotate = (): void => collector.store?.rotateAll();
    if (cfg.durationMs !== undefined) cancelTimer = setLongTimeout(done, cfg.durationMs);
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
    process.on('SIGHUP', rotate);
    collector.onAllSinksEnded = done;
  });
  let summary: CollectorSummary;
  try {
    summary = await collector.stop();
  } finally {
    await metrics?.close();
  }
  if (diffSink !== undefined) {
    await diffSink.close();
    const report = cfg.httpDiff?.report;
    const h = collector.replay?.http;
    if (report !== undefined && h !== undefined && cfg.options.replayTo !== undefined) {
      const r = summary.replay!;
      const counts: [string, string, number][] = [
        ['connections', 'mirrored connections seen', Object.values(r.connections).reduce((a, n) => a + n, 0)],
        ['replayed-connections', 'connections replayed', r.connections.replayed],
        ['compared', 'responses compared', h.compared],
        ['matches', 'matching', h.matches],
        ['mismatches', 'mismatching', h.mismatches],
        ['not-compared', 'requests without a production or shadow response', h.notCompared],
      ];
      await writeFile(report, renderReport(diffSink.data, { capture: `live mirror (${describeInputs(collector)})`, target: r.target, generated: new Date().toISOString(), counts }));
    }
  }
  process.stderr.write(formatSummary(summary, Date.now() - started));
  const code = summary.invariantViolations.length > 0 ? EXIT.RUNTIME : EXIT.OK;
  // A stalled stdout reader holds a write in flight that would keep the process alive until
  // the reader goes: everything else is finished, so exit now (as tcpdump does).
  if (summary.stdoutAbandonedBytes > 0) process.exit(code);
  return code;
}
