/**
 * TCP control bits, RFC 9293 §3.1 (ECE/CWR RFC 3168; AE, formerly NS: RFC 3540 (historic) and Accurate ECN), and their
 * tcpdump rendering. No imports, so the address formatters can re-export it without a cycle.
 */

/** Flag bits as the decoder reports them: the 8 flag bits of octet 13, and AE (formerly NS) as bit 8. */
export const TCP_FLAG = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20, ECE: 0x40, CWR: 0x80, AE: 0x100 } as const;

/** tcpdump's letters, in tcpdump's order (print-tcp.c tcp_flag_values). */
const FLAG_LETTERS: readonly (readonly [number, string])[] = [
  [TCP_FLAG.FIN, 'F'],
  [TCP_FLAG.SYN, 'S'],
  [TCP_FLAG.RST, 'R'],
  [TCP_FLAG.PSH, 'P'],
  [TCP_FLAG.ACK, '.'],
  [TCP_FLAG.URG, 'U'],
  [TCP_FLAG.ECE, 'E'],
  [TCP_FLAG.CWR, 'W'],
  [TCP_FLAG.AE, 'e'],
];

/**
 * Flags as tcpdump prints them inside "Flags [...]": F S R P . U E W, and 'e' for AE
 * (tcpdump 4.99 omits AE; tcpdump master prints 'e'); "none" when no flag is set.
 * Allocates a string: output edge only.
 */
export function tcpFlagsString(flags: number): string {
  let s = '';
  for (const [bit, letter] of FLAG_LETTERS) if ((flags & bit) !== 0) s += letter;
  return s === '' ? 'none' : s;
}

