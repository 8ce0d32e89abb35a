/**
 * Never capture our own tunnel traffic (ARCHITECTURE.md invariant): an agent that captures
 * on an interface its exports also leave by (the node's uplink, `any`) would capture its
 * exports, export those, and so on. Each export target becomes a BPF clause that removes
 * exactly that conversation, ANDed after the user's filter:
 *
 *   (USER_FILTER) and not (host 10.0.0.9 and udp port 4789) and not (host 10.0.0.7 and proto gre)
 *
 * The clauses are compiled by libpcap with the user's filter, in the kernel: excluded
 * frames are never copied, counted or written.
 */

/** A dotted quad without leading zeros (Node's isIP refuses them: 010 could be octal). */
export const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** How an export target's traffic is carried. */
export type ExportTransport = 'udp' | 'tcp' | 'gre';

/** Where exported frames are sent: the conversation to leave out of the capture. */
export interface ExportEndpoint {
  /** IPv4 or IPv6 literal, or a host name (resolved by pcap_compile at start-up). */
  host: string;
  transport: ExportTransport;
  /** UDP or TCP port; none for GRE (ERSPAN rides on GRE, IP protocol 47). */
  port?: number;
}

const IPV6_RE = /^[0-9a-fA-F:]+(%[A-Za-z0-9_.-]+)?$/;
const HOSTNAME_RE = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * Whether `host` is safe to paste into a BPF expression: an address or a DNS name, nothing
 * a filter could read as an operator.
 */
export function isBpfHost(host: string): boolean {
  if (IPV4_RE.test(host)) return true;
  if (host.includes(':')) return IPV6_RE.test(host) && host.split(':').length >= 3;
  return HOSTNAME_RE.test(host) && !/^(and|or|not|host|net|port|proto|src|dst)$/i.test(host);
}

/**
 * `not (host H and udp port P)`, `not (host H and tcp port P)`, `not (host H and proto gre)`,
 * for UDP and GRE to an address literal followed by the clause of its ICMP errors
 * (icmpErrorClause). Throws RangeError on a bad endpoint.
 */
export function exclusionClause(e: ExportEndpoint): string {
  if (!isBpfHost(e.host)) throw new RangeError(`export host "${e.host}" is not an IP address or host name`);
  if (e.transport === 'gre') {
    if (e.port !== undefined) throw new RangeError('a GRE export target has no port');
    return `not (host ${e.host} and proto gre)${icmpErrorClause(e.host, 47, undefined)}`;
  }
  if (e.transport !== 'udp' && e.transport !== 'tcp') throw new RangeError(`export transport "${String(e.transport)}" is not udp, tcp or gre`);
  const port = e.port;
  if (port === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`export target ${e.host} needs a ${e.transport} port between 1 and 65535`);
  }
  return `not (host ${e.host} and ${e.transport} port ${port})${e.transport === 'udp' ? icmpErrorClause(e.host, 17, port) : ''}`;
}

/**
 * ` and not (...)` for the ICMP errors the collector host sends back about our own exports
 * (port or protocol unreachable while it is down): captured, they would be exported, answered
 * again, and so on. The quoted header is our own datagram, so its layout is known: an IPv4
 * header of 20 bytes (protocol at icmp[17], UDP destination port at icmp[30:2]); an IPv6
 * header of 40 (next header at ip6[54], UDP destination port at ip6[90:2]). Only for
 * address literals: a host name may lack the other family, which pcap_compile refuses.
 */
function icmpErrorClause(host: string, proto: number, port: number | undefined): string {
  if (IPV4_RE.test(host)) return ` and not (src host ${host} and icmp and icmp[17] == ${proto}${port === undefined ? '' : ` and icmp[30:2] == ${port}`})`;
  if (host.includes(':')) return ` and not (src host ${host} and icmp6 and ip6[54] == ${proto}${port === undefined ? '' : ` and ip6[90:2] == ${port}`})`;
  return '';
}

/**
 * The filter a capture compiles: the user's filter (parenthesised, so its `or`s stay
 * inside) ANDed with one exclusion clause per export target. Undefined when there is
 * neither (capture everything).
 */
export function captureFilter(userFilter: string | undefined, exclude: readonly ExportEndpoint[] = []): string | undefined {
  const user = userFilter === undefined || userFilter.trim() === '' ? undefined : userFilter.trim();
  const clauses = exclude.map(exclusionClause);
  if (clauses.length === 0) return user;
  return [...(user === undefined ? [] : [`(${user})`]), ...clauses].join(' and ');
}
