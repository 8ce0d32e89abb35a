/**
 * Credentials never leave the process: the values of these headers are replaced in
 * everything replay writes (diff JSON lines, the HTML report, logs). They are still sent
 * to the shadow target (it needs them to answer as production did).
 */
export const REDACTED_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);

export const REDACTED = '[redacted]';

/** `value`, or REDACTED with its length for a credential header (`name` in any case). */
export function redactHeader(name: string, value: string): string {
  return REDACTED_HEADERS.has(name.toLowerCase()) ? `${REDACTED} (${value.length} bytes)` : value;
}
