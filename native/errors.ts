/**
 * Errors raised by the native addon and its loader: a stable `code` to match on and a
 * message carrying libpcap's or the kernel's own text.
 *
 * TODO(#native): fold these codes into packet/errors.ts `ERR` and docs/errors.md (native/
 * may import node builtins only, so they live here for now).
 */
export const NATIVE_ERR = {
  /** The interface does not exist (in the namespace the capture was opened in). */
  CAPTURE_NO_SUCH_DEVICE: 'PODSPAN_ERR_CAPTURE_NO_SUCH_DEVICE',
  /** Needs CAP_NET_RAW (and CAP_NET_ADMIN for promiscuous mode): run as root or grant them. */
  CAPTURE_PERM: 'PODSPAN_ERR_CAPTURE_PERM',
  /** The BPF filter does not compile, or the kernel refused it. */
  CAPTURE_BAD_FILTER: 'PODSPAN_ERR_CAPTURE_BAD_FILTER',
  /** The interface exists but is down. */
  CAPTURE_IFACE_DOWN: 'PODSPAN_ERR_CAPTURE_IFACE_DOWN',
  /** Any other failure opening the capture. */
  CAPTURE_OPEN: 'PODSPAN_ERR_CAPTURE_OPEN',
  /** Reading stopped at run time (the interface disappeared, the socket failed). */
  CAPTURE_READ: 'PODSPAN_ERR_CAPTURE_READ',
  /** A network namespace could not be opened or entered. */
  NETNS: 'PODSPAN_ERR_NETNS',
  /** A raw IP socket call failed (the message carries errno's text). */
  RAW_SOCKET: 'PODSPAN_ERR_RAW_SOCKET',
  /** The interface to inject frames onto does not exist (in the namespace it was opened in). */
  INJECT_NO_SUCH_DEVICE: 'PODSPAN_ERR_INJECT_NO_SUCH_DEVICE',
  /** Injecting frames needs CAP_NET_RAW: run as root or grant it. */
  INJECT_PERM: 'PODSPAN_ERR_INJECT_PERM',
  /** The interface to inject onto is down (`ip link set IF up`). */
  INJECT_IFACE_DOWN: 'PODSPAN_ERR_INJECT_IFACE_DOWN',
  /** Any other failure opening the injection socket (not an Ethernet interface, bind). */
  INJECT_OPEN: 'PODSPAN_ERR_INJECT_OPEN',
  /** Sending stopped at run time (the interface went down or away); errno in details. */
  INJECT_SEND: 'PODSPAN_ERR_INJECT_SEND',
  /** A bad argument reached the addon (a bug in the caller). */
  NATIVE_ARG: 'PODSPAN_ERR_NATIVE_ARG',
  /** A call in the wrong state (start twice, send after close). */
  NATIVE_STATE: 'PODSPAN_ERR_NATIVE_STATE',
  /** build/Release/podspan_native.node is missing or does not load. */
  NATIVE_LOAD: 'PODSPAN_ERR_NATIVE_LOAD',
  /** A UDP batch socket could not be created or configured (socket, setsockopt, connect); errno in details. */
  UDP_SOCKET: 'PODSPAN_ERR_UDP_SOCKET',
  /** A UDP batch socket could not bind its address (in use, not on this host, no permission); errno in details. */
  UDP_BIND: 'PODSPAN_ERR_UDP_BIND',
  /** sendBatch stopped on an error other than a full buffer (network unreachable, EPERM from a firewall); errno in details. */
  UDP_SEND: 'PODSPAN_ERR_UDP_SEND',
  /** The receive thread of a UDP batch socket stopped on an error; errno in details. */
  UDP_RECV: 'PODSPAN_ERR_UDP_RECV',
} as const;

export type NativeErrorCode = (typeof NATIVE_ERR)[keyof typeof NATIVE_ERR];

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(NATIVE_ERR));

export class CaptureError extends Error {
  readonly code: NativeErrorCode;
  /** Extra machine-readable facts (errno); never needed to understand `message`. */
  readonly details: Readonly<Record<string, number | string>>;

  constructor(code: NativeErrorCode, message: string, details: Record<string, number | string> = {}) {
    super(message);
    this.name = 'CaptureError';
    this.code = code;
    this.details = details;
  }
}

export function isCaptureError(e: unknown): e is CaptureError {
  return e instanceof CaptureError;
}

/** Turns an error thrown by the addon (a plain Error with `code`) into a CaptureError. */
export function fromNative(e: unknown): unknown {
  if (!(e instanceof Error)) return e;
  const code = (e as Error & { code?: unknown }).code;
  if (typeof code !== 'string' || !KNOWN_CODES.has(code)) return e;
  const details: Record<string, number | string> = {};
  const errno = (e as Error & { errno?: unknown }).errno;
  if (typeof errno === 'number') details['errno'] = errno;
  return new CaptureError(code as NativeErrorCode, e.message, details);
}
