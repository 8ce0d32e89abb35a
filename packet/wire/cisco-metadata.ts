/**
 * Cisco MetaData ("cmd", EtherType 0x8909): carries a Security Group Tag (Cisco TrustSec)
 * between the Ethernet/GRE header and the payload. No RFC; layout as Wireshark's packet-cmd.c
 * and tcpdump decode it (fixed 8 octets including the next EtherType).
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |    Version    |    Length     |       Option (len|type)       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |              SGT              |       EtherType (next)        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * Inside GRE (protocol type 0x8909) the next EtherType comes first instead
 * (Wireshark dissect_cmd_gre; seen in tcpdump's various_gre.pcap):
 * ```
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |       EtherType (next)        |    Version    |    Length     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |       Option (len|type)       |              SGT              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 */

export const CMD_OFF = { VERSION: 0, LENGTH: 1, OPTION: 2, SGT: 4, ETHER_TYPE: 6 } as const;
/** Offsets of the GRE form. */
export const CMD_GRE_OFF = { ETHER_TYPE: 0, VERSION: 2, LENGTH: 3, OPTION: 4, SGT: 6 } as const;
export const CMD_HEADER_LEN = 8;

/** Plain header, for building frames and for tests. */
export interface CiscoMetadataHeader {
  version: number;
  length: number;
  option: number;
  sgt: number;
  etherType: number;
}

/** Reads a cmd header; the caller has checked CMD_HEADER_LEN bytes. */
export class CiscoMetadataView {
  buf: Buffer = Buffer.alloc(0);
  off = 0;
  bind(buf: Buffer, off: number): this {
    this.buf = buf;
    this.off = off;
    return this;
  }
  get sgt(): number {
    return this.buf.readUInt16BE(this.off + CMD_OFF.SGT);
  }
  get etherType(): number {
    return this.buf.readUInt16BE(this.off + CMD_OFF.ETHER_TYPE);
  }
  toHeader(): CiscoMetadataHeader {
    return {
      version: this.buf.readUInt8(this.off + CMD_OFF.VERSION),
      length: this.buf.readUInt8(this.off + CMD_OFF.LENGTH),
      option: this.buf.readUInt16BE(this.off + CMD_OFF.OPTION),
      sgt: this.sgt,
      etherType: this.etherType,
    };
  }
}

/** Writes the 8-byte cmd header at `off`; returns the offset after it. */
export function emitCiscoMetadata(h: CiscoMetadataHeader, buf: Buffer, off: number): number {
  buf.writeUInt8(h.version, off + CMD_OFF.VERSION);
  buf.writeUInt8(h.length, off + CMD_OFF.LENGTH);
  buf.writeUInt16BE(h.option, off + CMD_OFF.OPTION);
  buf.writeUInt16BE(h.sgt, off + CMD_OFF.SGT);
  buf.writeUInt16BE(h.etherType, off + CMD_OFF.ETHER_TYPE);
  return off + CMD_HEADER_LEN;
}
