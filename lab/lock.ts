/**
 * A lock file so two `lab up`/`lab down` runs (or two tests) never interleave on one lab.
 * Holds the owner's pid; a lock whose owner is gone is taken over.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';

import { LAB_ERR, LabError } from './errors.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// Serialises callers inside this process too (the file alone cannot: same pid).
const inProcess = new Map<string, Promise<unknown>>();

export async function withLock<T>(path: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const prev = inProcess.get(path) ?? Promise.resolve();
  const mine = prev.catch(() => undefined).then(() => withFileLock(path, timeoutMs, fn));
  inProcess.set(path, mine);
  try {
    return await mine;
  } finally {
    if (inProcess.get(path) === mine) inProcess.delete(path);
  }
}

async function withFileLock<T>(path: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let owner = NaN;
      try {
        owner = Number(readFileSync(path, 'utf8').trim());
      } catch {
        continue; // released meanwhile
      }
      if (!Number.isInteger(owner) || owner <= 0 || !alive(owner)) {
        try {
          unlinkSync(path);
        } catch {
          // someone else took it over first
        }
        continue;
      }
      if (Date.now() > deadline) {
        throw new LabError(LAB_ERR.BUSY, `the lab is locked by pid ${owner} (${path}); wait for it to finish`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  }
}
