import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ERR, PodspanError } from '../packet/errors.js';

/**
 * `mkdir -p` for a directory the user named (`streams -o`, `collector --out`, `agent
 * --spool-dir`, `demo --out`), one level at a time. Node 20's `mkdirSync(p, { recursive:
 * true })` never returns when a parent exists but the child fails with ENOENT, as under
 * /proc or /sys (`-o /proc/x` spun at 100 % CPU). Fails with PODSPAN_ERR_IO naming the flag,
 * the path and errno's code. The path is walked as written (`dirname`, not `resolve`): the
 * caller opens it as written, and the kernel follows a symlink before a `..`.
 */
export function makeDirs(path: string, flag: string): void {
  const missing: string[] = [];
  for (let p = path; ; p = dirname(p)) {
    const kind = statKind(p);
    if (kind === 'dir') break;
    if (kind === 'other') throw new PodspanError(ERR.IO, `${flag} ${path}: ${p} exists and is not a directory`);
    missing.push(p);
    if (dirname(p) === p) break;
  }
  for (let i = missing.length - 1; i >= 0; i--) {
    const p = missing[i]!;
    try {
      mkdirSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      // Made meanwhile by someone else: fine if it is a directory.
      if (code === 'EEXIST' && statKind(p) === 'dir') continue;
      throw new PodspanError(ERR.IO, `${flag} ${path}: cannot create directory ${p}: ${code} (check the path and permissions)`);
    }
  }
}

function statKind(p: string): 'dir' | 'other' | 'none' {
  try {
    return statSync(p).isDirectory() ? 'dir' : 'other';
  } catch {
    return 'none';
  }
}
