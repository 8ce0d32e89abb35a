import { isIP } from 'node:net';
import { usageError } from './errors.js';

/**
 * Splits "[v6]:port", "[v6]", "host:port", ":port", "host" or a bare IPv6 address (which has
 * no port) into strings; the host is '' when only a port is given. Null for brackets around
 * anything but an IP address, or a stray bracket. Callers apply their own rules (defaults,
 * names allowed or not) on top.
 */
export function splitHostPort(text: string): { host: string; port: string | undefined } | null {
  const t = text.trim();
  const b = /^\[([^\]]*)\](?::(.*))?$/.exec(t);
  if (b !== null) return isIP(b[1]!) !== 0 ? { host: b[1]!, port: b[2] } : null;
  if (/[[\]]/.test(t)) return null;
  const i = t.indexOf(':');
  if (i < 0) return { host: t, port: undefined };
  if (t.indexOf(':', i + 1) >= 0) return isIP(t) === 6 ? { host: t, port: undefined } : null;
  return { host: t.slice(0, i), port: t.slice(i + 1) };
}

/** A port written as 1 to 5 digits, at least `min` and at most 65535; undefined otherwise. */
export function portNumber(text: string | undefined, min = 0): number | undefined {
  if (text === undefined || !/^[0-9]{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= min && n <= 65535 ? n : undefined;
}

/** HOST:PORT to connect to: a name or an address, port 1 to 65535. Usage error with `message` otherwise. */
export function parseConnectAddress(text: string, message: string): { host: string; port: number } {
  const p = splitHostPort(text);
  const port = portNumber(p?.port, 1);
  if (p === null || p.host === '' || port === undefined) throw usageError(message);
  return { host: p.host, port };
}
