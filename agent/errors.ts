/**
 * Errors the agent raises on purpose: a stable `code` to match on, a message that says what
 * was wrong and what to do.
 *
 * The codes and what to do about each are listed in docs/errors.md.
 */
export const AGENT_ERR = {
  /** A command the agent runs (`ip`, `bridge`) failed or printed what it cannot parse. */
  COMMAND: 'PODSPAN_ERR_AGENT_COMMAND',
  /** No veth in the node namespace reaches the pod IP. */
  POD_IP_UNREACHABLE: 'PODSPAN_ERR_AGENT_POD_IP_UNREACHABLE',
  /** Bad agent options (a bug in the caller; the CLI validates flags first). */
  OPTIONS: 'PODSPAN_ERR_AGENT_OPTIONS',
  /** The interfaces cannot share one pcapng file (different link types or snaplens). */
  MIXED_INTERFACES: 'PODSPAN_ERR_AGENT_MIXED_INTERFACES',
  /** Writing the capture file or stream failed. */
  WRITE: 'PODSPAN_ERR_AGENT_WRITE',
  /** The Kubernetes API is not configured, not reachable, or refused the request. */
  KUBE: 'PODSPAN_ERR_AGENT_KUBE',
} as const;

export type AgentErrorCode = (typeof AGENT_ERR)[keyof typeof AGENT_ERR];

export class AgentError extends Error {
  readonly code: AgentErrorCode;
  /** Extra machine-readable facts; never needed to understand `message`. */
  readonly details: Readonly<Record<string, number | string>>;

  constructor(code: AgentErrorCode, message: string, details: Record<string, number | string> = {}) {
    super(message);
    this.name = 'AgentError';
    this.code = code;
    this.details = details;
  }
}

export function isAgentError(e: unknown): e is AgentError {
  return e instanceof AgentError;
}
