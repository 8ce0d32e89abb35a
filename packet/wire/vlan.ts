/**
 * IEEE 802.1Q VLAN tag (C-tag, TPID 0x8100) and IEEE 802.1ad service tag (S-tag, TPID 0x88a8;
 * 0x9100 is the pre-standard S-tag TPID still sent by some switches). IEEE 802.1Q-2022 §9.6.
 *
 * The TPID is the EtherType field of the header before the tag; this view covers what follows
 * it: the Tag Control Information and the next EtherType (4 octets).
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | PCP |D|         VLAN ID       |      EtherType (next)         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * D = DEI (drop eligible indicator, 802.1Q) / CFI in older texts.
 */
import { ETHERTYPE } from './ethernet.js';

export const VLAN_OFF = { TCI: 0, ETHER_TYPE: 2 } as const;
export const VLAN_TAG_LEN = 4;
/** Most tags the decoder follows in one stack (802.1ad needs 2; more is abuse). */
export const VLAN_MAX_TAGS = 8;

/** True for the TPIDs the decoder treats as a VLAN tag. */
export function isVlanTpid(etherType: number): boolean {
  return etherType === ETHERTYPE.VLAN || etherType === ETHERTYPE.QINQ || etherType === ETHERTYPE.QINQ_OLD;
}

/** Plain tag, for building frames and for tests. */
export interface VlanHeader {
  /** Priority code point, 3 bits. */
  pcp: number;
  /** Drop eligible indicator, 1 bit. */
  dei: number;
  /** VLAN identifier, 12 bits. */
  vid: number;
  /** EtherType of what follows the tag. */
  etherType: number;
}

/** Reads a tag's TCI and next EtherType; the caller has checked VLAN_TAG_LEN bytes. */
export class VlanView {
  buf: Buffer = Buffer.alloc(0);
  off = 0;

  bind(buf: Buffer, off: number): this {
    this.buf = buf;
    this.off = off;
    return this;
  }

  get tci(): number {
    return this.buf.readUInt16BE(this.off + VLAN_OFF.TCI);
  }
  get pcp(): number {
    return this.tci >>> 13;
  }
  get dei(): number {
    return (this.tci >>> 12) & 1;
  }
  get vid(): number {
    return this.tci & 0x0fff;
  }
  get etherType(): number {
    return this.buf.readUInt16BE(this.off + VLAN_OFF.ETHER_TYPE);
  }

  toHeader(): VlanHeader {
    return { pcp: this.pcp, dei: this.dei, vid: this.vid, etherType: this.etherType };
  }
}

/** Writes TCI + next EtherType (4 bytes) at `off`; returns the offset after them. */
export function emitVlan(h: VlanHeader, buf: Buffer, off: number): number {
  buf.writeUInt16BE(((h.pcp & 7) << 13) | ((h.dei & 1) << 12) | (h.vid & 0x0fff), off + VLAN_OFF.TCI);
  buf.writeUInt16BE(h.etherType, off + VLAN_OFF.ETHER_TYPE);
  return off + VLAN_TAG_LEN;
}
