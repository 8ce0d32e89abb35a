/**
 * Layer identifiers reported by the Parser, in decode order in `Parser.layers`. Small
 * integers so that a layer chain is a Uint8Array; names are Wireshark's protocol filter
 * names where one exists.
 */
export const LAYER = {
  ETH: 0,
  VLAN: 1,
  SLL: 2,
  SLL2: 3,
  /** LINKTYPE_NULL and LINKTYPE_LOOP. */
  NULL: 4,
  PPP: 5,
  ARP: 6,
  IPV4: 7,
  IPV6: 8,
  TCP: 9,
  UDP: 10,
  ICMP: 11,
  ICMPV6: 12,
  VXLAN: 13,
  GRE: 14,
  /** ERSPAN of any type (I has no header of its own but is still a layer). */
  ERSPAN: 15,
  GENEVE: 16,
  TEREDO: 17,
  /** 802.2 LLC after an 802.3 length field; decoding stops there (unsupported). */
  LLC: 18,
  /** Cisco MetaData (EtherType 0x8909). */
  CMD: 19,
  /** PPPoE session stage. */
  PPPOE: 20,
  /** WCCP redirect header inside GRE. */
  WCCP: 21,
} as const;
export type Layer = (typeof LAYER)[keyof typeof LAYER];

/** Index by LAYER value. */
export const LAYER_NAMES: readonly string[] = [
  'eth',
  'vlan',
  'sll',
  'sll2',
  'null',
  'ppp',
  'arp',
  'ipv4',
  'ipv6',
  'tcp',
  'udp',
  'icmp',
  'icmpv6',
  'vxlan',
  'gre',
  'erspan',
  'geneve',
  'teredo',
  'llc',
  'cmd',
  'pppoe',
  'wccp',
];
