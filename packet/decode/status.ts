/**
 * Outcome of decoding one frame, in Wireshark's categories:
 * - OK: every header up to the last known protocol was decoded.
 * - TRUNCATED: the capture was cut by snaplen (capLen < wireLen) before a header could be read
 *   in full. Not an error: the frame on the wire was fine.
 * - MALFORMED: a header claims more than was on the wire (IPv4 total length beyond the frame,
 *   IHL < 5, TCP data offset < 5 or beyond its segment, an unterminated GRE routing list).
 * - CONTAINED: an inner length exceeds the outer one while staying within the frame (a UDP
 *   length beyond its IP payload, a tunnelled IP packet longer than its carrier).
 * - UNSUPPORTED: decoding stopped at a protocol the decoder does not know, or at a nesting
 *   cap (VLAN stack, extension headers, maxLayers). Not an error; the layers so far are kept.
 */
export const DECODE_STATUS = { OK: 0, TRUNCATED: 1, MALFORMED: 2, CONTAINED: 3, UNSUPPORTED: 4 } as const;
export type DecodeStatus = (typeof DECODE_STATUS)[keyof typeof DECODE_STATUS];

/** Index by DECODE_STATUS value. */
export const DECODE_STATUS_NAMES: readonly string[] = ['ok', 'truncated', 'malformed', 'contained', 'unsupported'];
