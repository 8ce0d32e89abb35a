/**
 * pcap/pcapng link-layer header types: the LINKTYPE_ registry,
 * https://www.tcpdump.org/linktypes.html (draft-ietf-opsawg-pcaplinktype).
 * Only the ones the decoder understands; a DLT_ value that differs from its LINKTYPE_
 * value on some platform is listed too (RAW is 12 or 14 in old BSD savefiles).
 */
export const LINKTYPE = {
  /** BSD loopback: 4-byte address family in the capturing host's byte order. */
  NULL: 0,
  ETHERNET: 1,
  /** PPP, RFC 1661, with optional HDLC address/control 0xff03. */
  PPP: 9,
  /** DLT_RAW on most BSDs. */
  RAW_BSD12: 12,
  /** DLT_RAW on OpenBSD. */
  RAW_BSD14: 14,
  /** PPP in HDLC-like framing, RFC 1662. */
  PPP_HDLC: 50,
  /** Raw IPv4 or IPv6, told apart by the version nibble. */
  RAW: 101,
  /** OpenBSD loopback: 4-byte address family, network byte order. */
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;
