/**
 * `podspan agent`: capture pod veths into pcapng.
 *
 *   podspan agent [--iface IF]... [--pod-ip IP]... [--pod NS/NAME | --selector K=V,.. [--namespace NS]]
 *                 [--kube-api URL] [--filter BPF] [--snaplen N]
 *                 [-w FILE|-] [--to URL]... [-c COUNT] [--duration SECONDS] [--netns NS] [-B KiB]
 *                 [--token-file FILE] [--ca FILE] [--spool-size SIZE] [--spool-dir DIR]   (for --to ws:// and wss://)
 *
 * At least one output: -w, or --to (agent/export/registry.ts lists the transports). The
 * agent never captures its own export traffic (agent/exclude.ts). --pod and --selector ask
 * the Kubernetes API (cli/agent-kube.ts).
 *
 * Start-up problems are usage errors (exit 2) that say what to do: an unknown interface
 * (with the list of those that exist), a filter libpcap cannot compile (with its message),
 * missing privileges, a pod IP no veth reaches. On exit (count or duration reached,
 * SIGINT/SIGTERM) a tcpdump-like summary goes to stderr.
 */
import { readFileSync } from 'node:fs';
import type { ParseArgsConfig } from 'node:util';

import { Agent, AGENT_DROP_REASONS, type AgentEvent, type AgentOptions, type AgentSummary } from '../agent/agent.js';
import { AGENT_ERR, isAgentError } from '../agent/errors.js';
import { openFileSink, openStdoutSink } from '../agent/export/sink.js';
import type { Exporter } from '../agent/export/exporter.js';
import { exportUsages, parseExportTarget, type ExportTarget } from '../agent/export/registry.js';
import { WS_DEFAULT_SPOOL_BYTES, wsExportTarget, type WsExportOptions } from '../agent/export/ws.js';
import { parseSize, setLongTimeout } from './units.js';
import { WS_ERR } from '../proto/envelope.js';
import { makeDirs } from './dirs.js';
import { kubeSelection, startKube, type KubeSelection, type KubeStart } from './agent-kube.js';
import { canonicalIp, listNetns, netnsExists } from '../agent/target/ip-json.js';
import { isPodIp } from '../agent/target/veth.js';
import { NATIVE_ERR, isCaptureError, listDevices, type CaptureError } from '../native/index.js';
import { ERR, PodspanError } from '../packet/errors.js';
import { parseMetricsAddress, startMetricsServer, type MetricsServer } from './metrics-server.js';
import { EXIT, usageError } from './errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** The agent's flags, for parseArgs (cli/main.ts). */
export const AGENT_OPTIONS: Options = {
  iface: { type: 'string', short: 'i', multiple: true },
  'pod-ip': { type: 'string', multiple: true },
  filter: { type: 'string' },
  snaplen: { type: 'string', short: 's' },
  write: { type: 'string', short: 'w' },
  count: { type: 'string', short: 'c' },
  duration: { type: 'string' },
  netns: { type: 'string' },
  'buffer-size': { type: 'string', short: 'B' },
  'token-file': { type: 'string' },
  ca: { type: 'string' },
  'spool-size': { type: 'string' },
  'spool-dir': { type: 'string' },
  pod: { type: 'string' },
  selector: { type: 'string' },
  namespace: { type: 'string' },
  'kube-api': { type: 'string' },
  to: { type: 'string', multiple: true },
  // In the CLI contract, not in this build yet: accepted by the parser so the message says so.
  mode: { type: 'string' },
  metrics: { type: 'string' },
};


export type AgentFlagValues = { [flag: string]: string | boolean | Array<string | boolean> | undefined };

const MAX_SNAP_LEN = 262144;
const IFNAMSIZ = 16;
/** Interfaces listed in an "unknown interface" message before "and N more". */
const LIST_LIMIT = 24;

interface AgentConfig {
  ifaces: string[];
  podIps: string[];
  kube: KubeSelection | undefined;
  /** --metrics: where GET /metrics is served. */
  metrics: { host: string; port: number } | undefined;
  filter: string | undefined;
  snapLen: number | undefined;
  write: string | undefined;
  to: ExportTarget[];
  count: number | undefined;
  durationMs: number | undefined;
  netns: string | undefined;
  bufferSize: number | undefined;
}

function str(v: AgentFlagValues[string]): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function strs(v: AgentFlagValues[string]): string[] {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return typeof v === 'string' ? [v] : [];
}

function wholeNumber(v: string | undefined, flag: string, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[0-9]+$/.test(v) || Number(v) < 1 || Number(v) > max) throw usageError(`agent: ${flag} wants a whole number from 1 to ${max}, got "${v}"`);
  return Number(v);
}

/**
 * The WebSocket exporter's flags: --token-file (else $PODSPAN_TOKEN), --ca (PEM, wss),
 * --spool-size (default 64M), --spool-dir (unacknowledged batches on disk, resumed by the
 * next agent with the same directory). They need a ws:// or wss:// --to.
 */
function wsExportOptions(values: AgentFlagValues, urls: readonly string[]): WsExportOptions {
  const flags = ['token-file', 'ca', 'spool-size', 'spool-dir'] as const;
  if (!urls.some((u) => /^wss?:/i.test(u))) {
    for (const f of flags) if (values[f] !== undefined) throw usageError(`agent: --${f} applies to --to ws://HOST:PORT or wss://HOST:PORT`);
    return {};
  }
  const opts: WsExportOptions = { spoolBytes: WS_DEFAULT_SPOOL_BYTES };
  const spoolDir = str(values['spool-dir']);
  if (spoolDir !== undefined) {
    if (spoolDir === '') throw usageError('agent: --spool-dir wants a directory');
    if (urls.filter((u) => /^wss?:/i.test(u)).length > 1) throw usageError('agent: --spool-dir serves one ws:// or wss:// target; give one --to ws URL');
    opts.spoolDir = spoolDir;
  }
  const spool = str(values['spool-size']);
  if (spool !== undefined) opts.spoolBytes = parseSize(spool, 'agent: --spool-size');
  const tokenFile = str(values['token-file']);
  if (tokenFile !== undefined) {
    let token: string;
    try {
      token = readFileSync(tokenFile, 'utf8').trim();
    } catch (e) {
      throw usageError(`agent: --token-file ${tokenFile}: ${(e as Error).message}`);
    }
    if (token === '' || /\s/.test(token)) throw usageError(`agent: --token-file ${tokenFile} must hold one token (the collector's --token-file), no spaces`);
    opts.token = token;
  }
  const ca = str(values['ca']);
  if (ca !== undefined) {
    if (!urls.some((u) => /^wss:/i.test(u))) throw usageError('agent: --ca applies to --to wss://HOST:PORT (TLS)');
    try {
      opts.ca = readFileSync(ca);
    } catch (e) {
      throw usageError(`agent: --ca ${ca}: ${(e as Error).message}`);
    }
    if (!opts.ca.toString('latin1').includes('-----BEGIN CERTIFICATE-----')) throw usageError(`agent: --ca ${ca} is not a PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }
  return opts;
}

/** Flags → config; usage errors (exit 2) for anything wrong. */
export function agentConfig(values: AgentFlagValues): AgentConfig {
  // --mode streams: the agent reassembles TCP and ships stream events over the WebSocket
  // tunnel (for `collector --replay-to`); only that exporter carries them.
  const modeFlag = str(values['mode']) ?? 'packets';
  if (modeFlag !== 'packets' && modeFlag !== 'streams') throw usageError(`agent: --mode wants packets or streams, got "${modeFlag}"`);
  if (modeFlag === 'streams') {
    if (!strs(values['to']).some((u) => /^wss?:/i.test(u))) throw usageError('agent: --mode streams sends reassembled TCP streams over the WebSocket tunnel: give --to ws://HOST:PORT or wss://HOST:PORT (a collector with --ws)');
    if (str(values['write']) !== undefined) throw usageError('agent: --mode streams does not write packets: -w needs --mode packets (run a second agent for the pcapng)');
  }
  const ifaces = strs(values['iface']);
  const podIpFlags = strs(values['pod-ip']);
  const kube = kubeSelection(values);
  if (ifaces.length + podIpFlags.length === 0 && kube === undefined) {
    throw usageError('agent: say what to capture: --iface IF (repeatable), --pod-ip IP (the agent finds the pod\'s veth), --pod NAMESPACE/NAME or --selector K=V (through the Kubernetes API)');
  }
  for (const i of ifaces) {
    if (i === '' || i.length >= IFNAMSIZ || /[\s/]/.test(i)) throw usageError(`agent: --iface "${i}" is not an interface name (1 to ${IFNAMSIZ - 1} characters, no '/' or spaces)`);
  }
  const podIps: string[] = [];
  for (const ip of podIpFlags) {
    if (!isPodIp(ip)) throw usageError(`agent: --pod-ip "${ip}" is not an IPv4 or IPv6 address`);
    podIps.push(canonicalIp(ip)!);
  }
  const to: ExportTarget[] = [];
  const wsOpts: WsExportOptions = { ...wsExportOptions(values, strs(values['to'])), ...(modeFlag === 'streams' ? { mode: 'streams' as const } : {}) };
  for (const url of strs(values['to'])) {
    try {
      to.push(/^wss?:/i.test(url) ? wsExportTarget(url, wsOpts) : parseExportTarget(url));
    } catch (e) {
      throw usageError(`agent: --to: ${(e as Error).message}`);
    }
  }
  const writeFlag = str(values['write']);
  const write = writeFlag === '' ? undefined : writeFlag;
  if (write === undefined && to.length === 0) {
    throw usageError(`agent: say where frames go: -w FILE (pcapng; -w - streams it to standard output, e.g. podspan agent ... -w - | tshark -r -) or --to URL (${exportUsages().join(', ')})`);
  }
  const durationText = str(values['duration']);
  let durationMs: number | undefined;
  if (durationText !== undefined) {
    if (!/^[0-9]+(\.[0-9]+)?$/.test(durationText) || Number(durationText) <= 0) throw usageError(`agent: --duration wants seconds greater than 0 (e.g. 10 or 0.5), got "${durationText}"`);
    durationMs = Math.max(1, Math.round(Number(durationText) * 1000));
  }
  const netns = str(values['netns']);
  if (netns !== undefined) {
    if (netns === '' || !netnsExists(netns)) {
      const names = listNetns();
      throw usageError(`agent: --netns ${netns}: no such network namespace (a name under /var/run/netns, or a path such as /proc/PID/ns/net); named ones: ${names.length === 0 ? 'none' : names.join(', ')}`);
    }
  }
  const filter = str(values['filter']);
  const kib = wholeNumber(str(values['buffer-size']), '-B/--buffer-size (KiB)', 2 * 1024 * 1024);
  return {
    ifaces,
    podIps,
    kube,
    metrics: str(values['metrics']) === undefined ? undefined : parseMetricsAddress(str(values['metrics'])!, 'agent'),
    filter: filter === undefined || filter.trim() === '' ? undefined : filter,
    snapLen: wholeNumber(str(values['snaplen']), '--snaplen', MAX_SNAP_LEN),
    write,
    to,
    count: wholeNumber(str(values['count']), '-c', Number.MAX_SAFE_INTEGER),
    durationMs,
    netns,
    bufferSize: kib === undefined ? undefined : kib * 1024,
  };
}

function where(netns: string | undefined): string {
  return netns === undefined ? 'this network namespace' : `network namespace ${netns}`;
}

const PRIVILEGE_ADVICE =
  'run podspan as root (sudo podspan agent ...), or give node CAP_NET_RAW and CAP_NET_ADMIN ' +
  '(sudo setcap cap_net_raw,cap_net_admin+eip "$(readlink -f "$(command -v node)")"; --netns also needs CAP_SYS_ADMIN)';

/** A start-up failure as the error the CLI reports: usage (exit 2) when the user can fix the command line or the host. */
function startupError(e: unknown, cfg: AgentConfig): unknown {
  if (isCaptureError(e)) return captureStartupError(e, cfg);
  if (isAgentError(e)) {
    switch (e.code) {
      case AGENT_ERR.POD_IP_UNREACHABLE:
        return usageError(
          `agent: ${e.message}. Check the IP (kubectl get pod -o wide)${cfg.netns === undefined ? ', pass --netns NS when the veths are in another network namespace,' : ''} or capture by interface with --iface`,
        );
      case AGENT_ERR.OPTIONS:
      case AGENT_ERR.MIXED_INTERFACES:
      case AGENT_ERR.WRITE:
        return usageError(`agent: ${e.message}`);
      case AGENT_ERR.COMMAND:
        if (/not permitted|permission denied/i.test(e.message)) return usageError(`agent: ${e.message}: ${PRIVILEGE_ADVICE}`);
        return new PodspanError(ERR.IO, `agent: ${e.message}`);
      default:
        return new PodspanError(ERR.IO, `agent: ${e.message}`);
    }
  }
  return e;
}

function captureStartupError(e: CaptureError, cfg: AgentConfig): unknown {
  switch (e.code) {
    case NATIVE_ERR.CAPTURE_NO_SUCH_DEVICE: {
      let names: string[] = [];
      try {
        names = listDevices(cfg.netns === undefined ? {} : { netns: cfg.netns }).map((d) => d.name);
      } catch {
        names = [];
      }
      const missing = cfg.ifaces.filter((i) => !names.includes(i));
      const which = missing.length > 0 ? missing.map((m) => `"${m}"`).join(', ') : `(${e.message})`;
      const shown = names.length > LIST_LIMIT ? `${names.slice(0, LIST_LIMIT).join(', ')} and ${names.length - LIST_LIMIT} more` : names.join(', ');
      return usageError(
        `agent: no interface ${which} in ${where(cfg.netns)}; interfaces there: ${shown === '' ? 'none visible' : shown}. ` +
          `To capture a pod by its IP use --pod-ip IP (the agent finds its veth)${cfg.netns === undefined ? '; pass --netns NS when the veths are in another network namespace' : ''}`,
      );
    }
    case NATIVE_ERR.CAPTURE_PERM:
      return usageError(`agent: not allowed to capture (${e.message}): ${PRIVILEGE_ADVICE}`);
    case NATIVE_ERR.CAPTURE_BAD_FILTER:
      return usageError(`agent: --filter does not compile: ${e.message}${cfg.filter === undefined ? '' : ` (filter: ${cfg.filter})`}`);
    case NATIVE_ERR.CAPTURE_IFACE_DOWN:
      return usageError(`agent: ${e.message}: bring the interface up (ip link set IF up) or capture another`);
    case NATIVE_ERR.NETNS:
      if (e.details['errno'] === 1 || /not permitted/i.test(e.message)) return usageError(`agent: cannot enter ${where(cfg.netns)} (${e.message}): ${PRIVILEGE_ADVICE}`);
      return usageError(`agent: cannot enter ${where(cfg.netns)}: ${e.message}`);
    case NATIVE_ERR.CAPTURE_OPEN:
      return usageError(`agent: cannot capture: ${e.message}`);
    default:
      return new PodspanError(ERR.IO, `agent: ${e.message}`);
  }
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** tcpdump's three lines, then podspan's own counters. */
export function formatSummary(s: AgentSummary): string {
  const lines = [
    `${plural(s.captured, 'packet')} captured`,
    `${plural(s.received, 'packet')} received by filter`,
    `${plural(s.droppedByKernel, 'packet')} dropped by kernel`,
    `${plural(AGENT_DROP_REASONS.reduce((a, r) => a + s.drops[r], 0), 'packet')} dropped by podspan (${AGENT_DROP_REASONS.map((r) => `${r} ${s.drops[r]}`).join(', ')})`,
  ];
  for (const x of s.exports) {
    lines.push(
      `${plural(x.counters.exported, 'packet')} exported to ${x.url}, ` +
        `${x.dropReasons.reduce((a, r) => a + (x.counters[r] ?? 0), 0)} not exported (${x.dropReasons.map((r) => `${r} ${x.counters[r] ?? 0}`).join(', ')}), ` +
        `export_truncated ${x.counters.export_truncated}`,
    );
    const segmented = x.counters['export_segmented'] ?? 0;
    if (segmented > 0) lines.push(`${plural(segmented, 'frame')} larger than the tunnel MTU segmented into ${plural(x.counters['export_segments'] ?? 0, 'segment')} for ${x.url}`);
  }
  if (s.truncated > 0) lines.push(`${plural(s.truncated, 'packet')} truncated to the snap length (written, not dropped)`);
  if (s.reattachments > 0 || s.interfaces.some((i) => i.podIp !== undefined)) lines.push(plural(s.reattachments, 'reattachment'));
  if (s.interfaces.length > 1) {
    for (const i of s.interfaces) {
      lines.push(
        `  ${i.iface}${i.description === undefined ? '' : ` (${i.description})`}: ${i.written} captured, ${i.received} received by filter, ` +
          `${i.dropped} dropped by kernel${i.endNote === undefined ? '' : `; ${i.endNote}`}`,
      );
    }
  }
  return lines.join('\n') + '\n';
}

function eventLine(e: AgentEvent): string {
  switch (e.type) {
    case 'listening':
      return `podspan: listening on ${e.iface}${e.description === undefined ? '' : ` (${e.description})`}, link-type ${e.linkTypeName}, snapshot length ${e.snapLen} bytes${e.warning === undefined ? '' : ` (warning: ${e.warning})`}`;
    case 'capture_error':
      return `podspan: capture on ${e.iface} stopped: ${e.message}`;
    case 'reattached':
      return `podspan: reattached: pod ${e.podIp} moved from ${e.from} to ${e.to} after ${e.gapMs} ms`;
    case 'attach_failed':
      return `podspan: pod ${e.podIp} is behind ${e.iface} but it cannot be captured yet: ${e.message} (retrying)`;
    case 'pod_added':
      return `podspan: following pod ${e.podName ?? e.podIp} (${e.podIp}) on ${e.iface}`;
    case 'pod_removed':
      return `podspan: pod ${e.podName ?? e.podIp} (${e.podIp}) left the selection; its capture is closed`;
  }
}

/** Runs the agent until count, duration, a signal, or a fatal output error; resolves with the exit status. */
export async function runAgent(values: AgentFlagValues): Promise<number> {
  const cfg = agentConfig(values);
  const spoolDir = str(values['spool-dir']);
  if (spoolDir !== undefined) {
    try {
      makeDirs(spoolDir, 'agent: --spool-dir');
    } catch (e) {
      throw usageError((e as Error).message);
    }
  }
  const stderr = process.stderr;
  const exporters: Exporter[] = [];
  try {
    for (const t of cfg.to) exporters.push(await t.open());
  } catch (e) {
    await Promise.all(exporters.map((x) => x.close()));
    const msg = `agent: --to: cannot open the export socket: ${(e as Error).message}`;
    // Missing privileges are the caller's to fix (exit 2); a collector that is down or a name
    // that does not resolve are runtime conditions (exit 1), as for tcpdump.
    if (/not permitted|permission denied|EPERM|EACCES/i.test((e as Error).message)) throw usageError(`${msg}: ${PRIVILEGE_ADVICE}`);
    // A wrong token or CA is the caller's configuration too.
    const code = (e as { code?: unknown }).code;
    if (code === WS_ERR.AUTH || code === WS_ERR.TLS) throw usageError(msg);
    throw new PodspanError(ERR.IO, msg);
  }
  let kube: KubeStart | undefined;
  try {
    kube = cfg.kube === undefined ? undefined : await startKube(cfg.kube, cfg.netns);
  } catch (e) {
    await Promise.all(exporters.map((x) => x.close()));
    throw e;
  }
  const write = cfg.write;
  const opts: AgentOptions = {
    ifaces: cfg.ifaces,
    podIps: [...cfg.podIps, ...(kube?.podIps ?? [])],
    ...(kube !== undefined ? { podNames: kube.podNames, dynamicPods: kube.dynamic } : {}),
    ...(write !== undefined ? { sink: () => (write === '-' ? openStdoutSink() : openFileSink(write)) } : {}),
    exporters,
    exclude: cfg.to.map((t) => t.endpoint),
    onEvent: (e) => {
      stderr.write(eventLine(e) + '\n');
    },
    ...(cfg.netns !== undefined ? { netns: cfg.netns } : {}),
    ...(cfg.filter !== undefined ? { filter: cfg.filter } : {}),
    ...(cfg.snapLen !== undefined ? { snapLen: cfg.snapLen } : {}),
    ...(cfg.count !== undefined ? { count: cfg.count } : {}),
    ...(cfg.bufferSize !== undefined ? { bufferSize: cfg.bufferSize } : {}),
  };
  // The metrics port is bound before the capture starts: a port in use must fail the start
  // before -w FILE is created (an existing file would be emptied) or anything is captured.
  let started: Agent | undefined;
  let metrics: MetricsServer | undefined;
  if (cfg.metrics !== undefined) {
    try {
      metrics = await startMetricsServer(cfg.metrics, 'podspan_agent_', () => started?.samples() ?? [], 'agent');
    } catch (e) {
      await Promise.all(exporters.map((x) => x.close()));
      throw e;
    }
  }
  let agent: Agent;
  try {
    agent = await Agent.start(opts);
  } catch (e) {
    await Promise.all(exporters.map((x) => x.close()));
    await metrics?.close();
    throw startupError(e, cfg);
  }
  started = agent;
  if (metrics !== undefined) stderr.write(`podspan: metrics on http://${metrics.address}/metrics\n`);
  const stopKube = kube?.follow(agent, (line) => stderr.write(line + '\n'));

  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      stderr.write(`podspan: second ${sig}: exiting without the end-of-capture statistics\n`);
      process.exit(EXIT.RUNTIME);
    }
    void (stopKube === undefined ? agent.stop('signal') : stopKube().then(() => agent.stop('signal')));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const cancelTimer = cfg.durationMs === undefined ? undefined : setLongTimeout(() => void agent.stop('duration'), cfg.durationMs);
  let summary: AgentSummary;
  try {
    summary = await agent.done;
  } finally {
    if (stopKube !== undefined) await stopKube();
    await metrics?.close();
    cancelTimer?.();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  stderr.write(formatSummary(summary));
  if (summary.reason === 'write_error' && summary.writeError !== undefined && summary.writeError.code !== 'EPIPE') {
    stderr.write(`podspan: writing ${cfg.write === '-' ? 'standard output' : cfg.write} failed: ${summary.writeError.message}\n`);
    return EXIT.RUNTIME;
  }
  if (summary.reason === 'no_interfaces') {
    stderr.write('podspan: every captured interface went away\n');
    return EXIT.RUNTIME;
  }
  return EXIT.OK;
}
