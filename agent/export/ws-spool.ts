/**
 * The WebSocket exporter's disk spool (`--spool-dir DIR`): every sealed batch is also a file
 * `DIR/<seq, 16 digits>-<frames>.batch` (the encoded Envelope, as sent) until the collector
 * acknowledges it; `DIR/session.json` holds the agent name, the session id and the
 * interfaces described so far. An agent that stops (or is killed) with unacknowledged
 * batches leaves them there; the next agent started with the same DIR continues that
 * session: same id, the next sequence numbers, the same interface ids, and resends the
 * batches, which the collector (whose journal knows the session) stores once.
 *
 * Nothing here is on the per-frame path: one file write per batch, one unlink per ack.
 */
import { mkdirSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { WireInterface } from '../../proto/envelope.js';

const META = 'session.json';
const BATCH_RE = /^(\d{16})-(\d+)\.batch$/;

export interface SpooledBatch {
  seq: number;
  frames: number;
  bytes: number;
  file: string;
}

export interface SpoolDirState {
  agent: string;
  session: string;
  /** Interfaces by the exporter's key. */
  ifaces: Array<{ key: string; iface: WireInterface }>;
  /** In sequence order, consecutive. */
  batches: SpooledBatch[];
}

export function batchFile(dir: string, seq: number, frames: number): string {
  return join(dir, `${String(seq).padStart(16, '0')}-${frames}.batch`);
}

/** Creates DIR. Throws the fs error. */
export function prepareSpoolDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  readdirSync(dir);
}

/**
 * What a previous agent left in DIR: undefined when there is no session or no batch to
 * resend (a fresh session is then started). Batches after a gap in the sequence (a file
 * removed by hand) are not resumed: the collector would refuse the gap; they are removed.
 */
export function loadSpoolDir(dir: string): SpoolDirState | undefined {
  let meta: Partial<SpoolDirState>;
  try {
    meta = JSON.parse(readFileSync(join(dir, META), 'utf8')) as Partial<SpoolDirState>;
  } catch {
    return undefined;
  }
  if (typeof meta.agent !== 'string' || typeof meta.session !== 'string' || !/^[0-9a-f]{16}$/.test(meta.session) || !Array.isArray(meta.ifaces)) return undefined;
  const batches: SpooledBatch[] = [];
  for (const name of readdirSync(dir).sort()) {
    const m = BATCH_RE.exec(name);
    if (m === null) continue;
    const file = join(dir, name);
    batches.push({ seq: Number(m[1]), frames: Number(m[2]), bytes: statSync(file).size, file });
  }
  let keep = batches.length;
  for (let i = 1; i < batches.length; i++) {
    if (batches[i]!.seq !== batches[i - 1]!.seq + 1) {
      keep = i;
      break;
    }
  }
  for (const b of batches.slice(keep)) unlinkSync(b.file);
  if (keep === 0) return undefined;
  return { agent: meta.agent, session: meta.session, ifaces: meta.ifaces, batches: batches.slice(0, keep) };
}

/** Writes session.json (atomically: temporary file, then rename). */
export function saveSpoolMeta(dir: string, agent: string, session: string, ifaces: Array<{ key: string; iface: WireInterface }>): void {
  const tmp = join(dir, META + '.tmp');
  writeFileSync(tmp, JSON.stringify({ agent, session, ifaces }));
  renameSync(tmp, join(dir, META));
}

/** Writes one batch file (temporary name, then rename: a crash never leaves half a batch). */
export function writeBatch(dir: string, seq: number, frames: number, msg: Uint8Array): string {
  const file = batchFile(dir, seq, frames);
  writeFileSync(file + '.tmp', msg);
  renameSync(file + '.tmp', file);
  return file;
}
