/**
 * IP protocol / IPv6 Next Header numbers, IANA "Assigned Internet Protocol Numbers"
 * (https://www.iana.org/assignments/protocol-numbers), the ones the decoder knows.
 */
export const IP_PROTO = {
  /** IPv6 Hop-by-Hop Options, RFC 8200 §4.3. */
  HOPOPTS: 0,
  ICMP: 1,
  /** IPv4 in IP, RFC 2003. */
  IPIP: 4,
  TCP: 6,
  UDP: 17,
  /** IPv6 in IP, RFC 4213 §3.5 (also 6in6, RFC 2473). */
  IPV6: 41,
  ROUTING: 43,
  FRAGMENT: 44,
  GRE: 47,
  ESP: 50,
  AH: 51,
  ICMPV6: 58,
  /** IPv6 No Next Header, RFC 8200 §4.7. */
  NONE: 59,
  DSTOPTS: 60,
  MOBILITY: 135,
  HIP: 139,
  SHIM6: 140,
} as const;
