/**
 * Errors the lab raises: a stable `code` and a message naming the failed step and what
 * to do.
 *
 * TODO(#lab): fold these codes into packet/errors.ts `ERR` and docs/errors.md.
 */
export const LAB_ERR = {
  /** A command (ip, a CNI plugin, the dependency installer) failed; the message has its stderr. */
  COMMAND: 'PODSPAN_ERR_LAB_COMMAND',
  /** The lab needs root (network namespaces, veths, bridges). */
  NOT_ROOT: 'PODSPAN_ERR_LAB_NOT_ROOT',
  /** A CNI plugin returned an error result. */
  CNI: 'PODSPAN_ERR_LAB_CNI',
  /** A sample service did not come up. */
  SERVICE: 'PODSPAN_ERR_LAB_SERVICE',
  /** Another `lab up`/`down` holds the lab's lock. */
  BUSY: 'PODSPAN_ERR_LAB_BUSY',
  /** Bad lab options (names, subnet). */
  OPTIONS: 'PODSPAN_ERR_LAB_OPTIONS',
} as const;

export type LabErrorCode = (typeof LAB_ERR)[keyof typeof LAB_ERR];

export class LabError extends Error {
  readonly code: LabErrorCode;
  readonly details: Readonly<Record<string, number | string>>;

  constructor(code: LabErrorCode, message: string, details: Record<string, number | string> = {}) {
    super(message);
    this.name = 'LabError';
    this.code = code;
    this.details = details;
  }
}
