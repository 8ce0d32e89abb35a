/**
 * Ethernet II framing, IEEE 802.3 clause 3.2 / RFC 894; EtherType registry (IEEE RA).
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                  Destination MAC (6 octets)                   |
 * +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                               |                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
 * |                     Source MAC (6 octets)                     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   EtherType / 802.3 length    |   payload ...
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * A type/length value below 0x0600 is an IEEE 802.3 length; an 802.2 LLC header follows
 * (IEEE 802.3 clause 3.2.6).
 */

export const ETHERNET_OFF = { DST: 0, SRC: 6, ETHER_TYPE: 12 } as const;
export const ETHERNET_HEADER_LEN = 14;
export const MAC_LEN = 6;
/** Values from here up are EtherTypes; below 1536 the field is an 802.3 length. */
export const ETHERTYPE_MIN = 0x0600;

/** EtherTypes (and GRE/Geneve protocol types, which share the registry). */
export const ETHERTYPE = {
  IPV4: 0x0800,
  ARP: 0x0806,
  /** Transparent Ethernet Bridging: an Ethernet frame follows (GRE, Geneve). */
  TEB: 0x6558,
  /** ERSPAN type III, GRE protocol type. */
  ERSPAN_III: 0x22eb,
  RARP: 0x8035,
  /** 802.1Q C-tag. */
  VLAN: 0x8100,
  IPV6: 0x86dd,
  /** PPP directly over GRE (PPTP, RFC 2637). */
  PPP: 0x880b,
  PPPOE_DISCOVERY: 0x8863,
  PPPOE_SESSION: 0x8864,
  /** WCCP redirect header over GRE. */
  WCCP: 0x883e,
  /** 802.1ad S-tag. */
  QINQ: 0x88a8,
  /** ERSPAN type I/II, GRE protocol type. */
  ERSPAN_II: 0x88be,
  /** Cisco MetaData (SGT), "cmd" in Wireshark. */
  CISCO_METADATA: 0x8909,
  /** Ethernet configuration testing protocol ("loop"). */
  LOOPBACK: 0x9000,
  /** Pre-standard QinQ S-tag. */
  QINQ_OLD: 0x9100,
} as const;

/** Plain Ethernet II header, for building frames and for tests. MACs as "aa:bb:cc:dd:ee:ff". */
export interface EthernetHeader {
  dst: string;
  src: string;
  etherType: number;
}

/**
 * Reads an Ethernet header at a fixed offset of a Buffer. Binding does not copy or check:
 * the caller has checked that ETHERNET_HEADER_LEN bytes are present.
 */
export class EthernetView {
  buf: Buffer = Buffer.alloc(0);
  off = 0;

  bind(buf: Buffer, off: number): this {
    this.buf = buf;
    this.off = off;
    return this;
  }

  get etherType(): number {
    return this.buf.readUInt16BE(this.off + ETHERNET_OFF.ETHER_TYPE);
  }

  /** Builds the plain header (allocates; for tests and tools, not per packet). */
  toHeader(): EthernetHeader {
    return {
      dst: formatMac(this.buf, this.off + ETHERNET_OFF.DST),
      src: formatMac(this.buf, this.off + ETHERNET_OFF.SRC),
      etherType: this.etherType,
    };
  }
}

/** Writes a 14-byte Ethernet II header at `off`; returns the offset after it. */
export function emitEthernet(h: EthernetHeader, buf: Buffer, off: number): number {
  writeMac(h.dst, buf, off + ETHERNET_OFF.DST);
  writeMac(h.src, buf, off + ETHERNET_OFF.SRC);
  buf.writeUInt16BE(h.etherType, off + ETHERNET_OFF.ETHER_TYPE);
  return off + ETHERNET_HEADER_LEN;
}

/** "aa:bb:cc:dd:ee:ff" of the 6 bytes at `off` (allocates; output edge only). */
export function formatMac(buf: Buffer, off: number): string {
  let s = '';
  for (let i = 0; i < MAC_LEN; i++) {
    const b = buf.readUInt8(off + i);
    s += (i === 0 ? '' : ':') + (b < 16 ? '0' : '') + b.toString(16);
  }
  return s;
}

/** Writes "aa:bb:cc:dd:ee:ff" (or with '-') at `off`; returns off + 6. Throws TypeError on bad text. */
export function writeMac(text: string, buf: Buffer, off: number): number {
  const parts = text.split(/[:-]/);
  if (parts.length !== MAC_LEN || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new TypeError(`not a MAC address: ${JSON.stringify(text)}`);
  }
  for (let i = 0; i < MAC_LEN; i++) buf.writeUInt8(parseInt(parts[i]!, 16), off + i);
  return off + MAC_LEN;
}
