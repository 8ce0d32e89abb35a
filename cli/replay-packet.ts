/**
 * `podspan replay FILE --iface IF --mode packet [--speed X|max] [--src-mac MAC]
 *  [--dst-mac MAC] [--map-ip OLD=NEW]... [-c N] [--loop N] [--json]`
 *
 * Flags → validated options → collector/replay/packet.ts; prints a tcpreplay-style summary
 * on stdout (or one JSON object with --json). cli/replay.ts parses the flags and calls
 * runPacketReplay for --mode packet.
 *
 * Exit status: 2 for a bad flag or an interface that cannot be used (missing, down, not
 * Ethernet, no privilege); 1 when the file is missing or damaged (every complete frame is
 * still sent first) or sending stopped on an error; 0 otherwise, also after SIGINT.
 */
import type { CaptureError } from '../native/errors.js';
import { isCaptureError } from '../native/errors.js';
import { parseMac, rewritePlan } from '../packet/rewrite/frame-rewrite.js';
import { parseIpv4MapRule, type Ipv4MapRule } from '../packet/rewrite/ipv4-map.js';
import { EXIT, usageError } from './errors.js';

export type PacketReplayValues = { [flag: string]: string | boolean | Array<string | boolean> | undefined };

function str(values: PacketReplayValues, k: string): string | undefined {
  const v = values[k];
  return typeof v === 'string' ? v : undefined;
}

function strs(values: PacketReplayValues, k: string): string[] {
  const v = values[k];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return typeof v === 'string' ? [v] : [];
}

function wholeNumber(text: string | undefined, flag: string, min: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(Number(text)) || Number(text) < min) {
    throw usageError(`replay: ${flag} wants a whole number of at least ${min}, got "${text}"`);
  }
  return Number(text);
}

/** "max" (or "topspeed") or a positive multiplier such as 1, 2.5, 0.1. */
export function parseSpeed(text: string | undefined): number | 'max' {
  if (text === undefined) return 1;
  if (text === 'max' || text === 'topspeed') return 'max';
  const n = /^[0-9]+(\.[0-9]+)?$/.test(text) ? Number(text) : NaN;
  if (!(n > 0) || !Number.isFinite(n)) throw usageError(`replay: --speed wants a multiplier greater than 0 (1 = original timing, 2 = twice as fast) or max, got "${text}"`);
  return n;
}

/** Seconds with 6 decimals, like tcpreplay. */
function secs(ns: number): string {
  return (ns / 1e9).toFixed(6);
}

/** tcpreplay's summary, plus lines for what only podspan counts (printed when non-zero). */
export function formatPacketReplaySummary(s: import('../collector/replay/packet.js').PacketReplaySummary): string {
  const sec = s.elapsedNs / 1e9;
  const rate = (n: number): number => (sec > 0 ? n / sec : 0);
  const lines = [
    `Actual: ${s.packets} packets (${s.bytes} bytes) sent in ${secs(s.elapsedNs)} seconds`,
    `Rated: ${rate(s.bytes).toFixed(1)} Bps, ${((rate(s.bytes) * 8) / 1e6).toFixed(2)} Mbps, ${rate(s.packets).toFixed(2)} pps`,
    `Statistics for network device: ${s.iface}`,
    `\tSuccessful packets:        ${s.packets}`,
    `\tFailed packets:            ${s.failed}`,
    `\tTruncated packets:         0`,
    `\tRetried packets (ENOBUFS): ${s.retriesNoBufs}`,
    `\tRetried packets (EAGAIN):  ${s.retriesAgain}`,
  ];
  if (s.tooBig > 0) lines.push(`\tToo big for MTU ${s.mtu}:     ${s.tooBig} (longer than ${s.mtu + 14} bytes; refused by the kernel, EMSGSIZE)`);
  if (s.skippedNotEthernet > 0) lines.push(`\tNot Ethernet, skipped:     ${s.skippedNotEthernet} (convert with tcprewrite --dlt=enet)`);
  if (s.cutBySnapLen > 0) lines.push(`\tCut by snaplen, sent short: ${s.cutBySnapLen}`);
  if (s.rewritten > 0) lines.push(`\tRewritten:                 ${s.rewritten}`);
  if (s.loops > 1) lines.push(`\tLoops:                     ${s.loops}`);
  if (s.interrupted) lines.push('\tInterrupted (SIGINT/SIGTERM)');
  return lines.join('\n') + '\n';
}

function jsonSummary(s: import('../collector/replay/packet.js').PacketReplaySummary): string {
  const { error, ...rest } = s;
  return JSON.stringify({ ...rest, elapsed: secs(s.elapsedNs), pps: s.elapsedNs > 0 ? s.packets / (s.elapsedNs / 1e9) : 0, error: error === undefined ? null : { code: (error as { code?: string }).code ?? null, message: error.message } }) + '\n';
}

export async function runPacketReplay(file: string, values: { [flag: string]: string | boolean | Array<string | boolean> | undefined }): Promise<number> {
  const iface = str(values, 'iface');
  if (iface === undefined || iface === '') throw usageError('replay --mode packet: --iface IF is required (the interface the frames are written onto)');
  const speed = parseSpeed(str(values, 'speed'));
  const macs: Record<'src-mac' | 'dst-mac', Buffer | undefined> = { 'src-mac': undefined, 'dst-mac': undefined };
  for (const k of ['src-mac', 'dst-mac'] as const) {
    const text = str(values, k);
    if (text === undefined) continue;
    const mac = parseMac(text);
    if (mac === undefined) throw usageError(`replay: --${k} wants a MAC address such as 02:00:00:00:00:01, got "${text}"`);
    macs[k] = mac;
  }
  const rules: Ipv4MapRule[] = [];
  for (const text of strs(values, 'map-ip')) {
    const r = parseIpv4MapRule(text);
    if (typeof r === 'string') throw usageError(`replay: --map-ip ${r}`);
    rules.push(r);
  }
  const count = wholeNumber(str(values, 'count'), '-c/--count', 1);
  const loop = wholeNumber(str(values, 'loop'), '--loop (0 = until -c or Ctrl-C)', 0);
  const json = values['json'] === true;

  const { openPacketReplay } = await import('../collector/replay/packet.js');
  const ac = new AbortController();
  const onSignal = (): void => ac.abort();
  let replay;
  try {
    replay = await openPacketReplay({
      file,
      iface,
      speed,
      rewrite: rewritePlan({ srcMac: macs['src-mac'], dstMac: macs['dst-mac'], ipv4Map: rules }),
      ...(count !== undefined ? { count } : {}),
      ...(loop !== undefined ? { loop } : {}),
      signal: ac.signal,
    });
  } catch (e) {
    if (isCaptureError(e)) throw usageError(`replay: --iface ${iface}: ${(e as CaptureError).message}`);
    throw e;
  }
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let summary;
  try {
    summary = await replay.run();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  process.stdout.write(json ? jsonSummary(summary) : formatPacketReplaySummary(summary));
  if (summary.tooBig > 0 && !json) {
    process.stderr.write(`podspan: ${summary.tooBig} frames longer than ${iface}'s MTU ${summary.mtu} + 14 bytes were not sent (as tcpreplay: the kernel refuses them)\n`);
  }
  if (summary.error !== undefined) {
    process.stderr.write(`podspan: ${summary.error.message}\n`);
    return EXIT.RUNTIME;
  }
  return EXIT.OK;
}
