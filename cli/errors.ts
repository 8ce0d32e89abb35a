import { ERR, PodspanError } from '../packet/errors.js';

/** Exit statuses of the CLI contract: 0 success, 1 runtime/data error, 2 usage error. */
export const EXIT = { OK: 0, RUNTIME: 1, USAGE: 2 } as const;

export function usageError(message: string): PodspanError {
  return new PodspanError(ERR.USAGE, message);
}

/** Maps an error to the exit status it deserves and prints one line for people. */
export function reportError(e: unknown, stderr: NodeJS.WritableStream = process.stderr): number {
  if (e instanceof PodspanError) {
    stderr.write(`podspan: ${e.message}\n`);
    return e.code === ERR.USAGE ? EXIT.USAGE : EXIT.RUNTIME;
  }
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string' && typeof err.message === 'string' && err.syscall) {
    stderr.write(`podspan: ${err.message}\n`);
    return EXIT.RUNTIME;
  }
  stderr.write(`podspan: internal error (a bug; please report it with this trace):\n${(err && err.stack) || String(e)}\n`);
  return EXIT.RUNTIME;
}
