/**
 * Every error podspan raises on purpose: a stable `code` callers and tests match on,
 * and a message that says what was wrong and what to do. The full list, with advice,
 * is docs/errors.md; add a code there when adding one here.
 *
 * Decoders never throw on packet input (they return a status); these errors are for
 * files, configuration, I/O and protocol sessions.
 */
export const ERR = {
  CAPFILE_BAD_MAGIC: 'PODSPAN_ERR_CAPFILE_BAD_MAGIC',
  CAPFILE_BAD_VERSION: 'PODSPAN_ERR_CAPFILE_BAD_VERSION',
  CAPFILE_BAD_HEADER: 'PODSPAN_ERR_CAPFILE_BAD_HEADER',
  CAPFILE_BAD_BLOCK: 'PODSPAN_ERR_CAPFILE_BAD_BLOCK',
  CAPFILE_BAD_RECORD: 'PODSPAN_ERR_CAPFILE_BAD_RECORD',
  CAPFILE_TRUNCATED: 'PODSPAN_ERR_CAPFILE_TRUNCATED',
  CAPFILE_NO_INTERFACE: 'PODSPAN_ERR_CAPFILE_NO_INTERFACE',
  CAPFILE_UNREPRESENTABLE: 'PODSPAN_ERR_CAPFILE_UNREPRESENTABLE',
  CAPFILE_MIXED_LINKTYPES: 'PODSPAN_ERR_CAPFILE_MIXED_LINKTYPES',
  CAPFILE_MIXED_SNAPLENS: 'PODSPAN_ERR_CAPFILE_MIXED_SNAPLENS',
  CAPFILE_EMPTY: 'PODSPAN_ERR_CAPFILE_EMPTY',
  CAPFILE_TOO_LARGE: 'PODSPAN_ERR_CAPFILE_TOO_LARGE',
  USAGE: 'PODSPAN_ERR_USAGE',
  IO: 'PODSPAN_ERR_IO',
} as const;

export type ErrorCode = (typeof ERR)[keyof typeof ERR];

export class PodspanError extends Error {
  readonly code: ErrorCode;
  /** Extra machine-readable facts (record counts, offsets); never needed to understand `message`. */
  readonly details: Readonly<Record<string, number | string>>;

  constructor(code: ErrorCode, message: string, details: Record<string, number | string> = {}) {
    super(message);
    this.name = 'PodspanError';
    this.code = code;
    this.details = details;
  }
}

export function isPodspanError(e: unknown): e is PodspanError {
  return e instanceof PodspanError;
}
