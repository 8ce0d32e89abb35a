import { stat } from 'node:fs/promises';
import { ERR, PodspanError } from '../packet/errors.js';

/**
 * Before a capture file is opened for reading: PODSPAN_ERR_IO when it is missing, unreadable
 * or a directory, in words a user can act on (used by `podspan read|flows|streams` and by
 * packet replay).
 */
export async function checkCaptureFile(path: string): Promise<void> {
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw new PodspanError(ERR.IO, `${path} is a directory, not a capture file`);
  } catch (e) {
    if (e instanceof PodspanError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new PodspanError(ERR.IO, `${path}: no such file`);
    if (err.code === 'EACCES') throw new PodspanError(ERR.IO, `${path}: permission denied`);
    throw e;
  }
}
