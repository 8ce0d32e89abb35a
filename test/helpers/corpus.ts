import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Test } from 'tap';
import { REPO_ROOT } from './repo.js';

/**
 * The shared third-party capture corpus (`../shared/corpus` from the repo root, described
 * by its INDEX.md). Tests read it in place; nothing from it is copied into the repo.
 */
export const CORPUS_DIR: string = resolve(REPO_ROOT, '..', 'shared', 'corpus');

/** True when the corpus directory exists. */
export function corpusAvailable(): boolean {
  try {
    return statSync(CORPUS_DIR).isDirectory();
  } catch {
    return false;
  }
}

let cached: string[] | undefined;

/** Absolute paths of every *.pcap and *.pcapng under the corpus, sorted; [] without a corpus. */
export function corpusFiles(): string[] {
  if (cached !== undefined) return cached.slice();
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && /\.(pcap|pcapng)$/.test(e.name)) out.push(p);
    }
  };
  if (existsSync(CORPUS_DIR)) walk(CORPUS_DIR);
  out.sort();
  cached = out;
  return out.slice();
}

/**
 * Call first in a corpus test: returns true when the corpus is there. Without it, the
 * test is skipped with a visible message, or FAILS when CI=true (CI must run everything).
 */
export function requireCorpus(t: Test): boolean {
  if (corpusAvailable()) return true;
  const msg = 'corpus ../shared/corpus not found: skipping';
  if (process.env.CI === 'true') t.fail(`${msg} is not allowed under CI=true (expected at ${CORPUS_DIR})`);
  else void t.skip(msg, () => {});
  return false;
}
