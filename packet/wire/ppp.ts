/**
 * PPP encapsulation, RFC 1661 §2 with HDLC-like framing, RFC 1662 §3.1 (address 0xff,
 * control 0x03, optional under Address-and-Control-Field-Compression) and Protocol-Field-
 * Compression (RFC 1661 §6.5: a 1-octet protocol when its value is odd in the first octet).
 * Used by LINKTYPE_PPP (9), LINKTYPE_PPP_HDLC (50) and PPTP's enhanced GRE (RFC 2637 §4.1).
 * ```
 * +----------+----------+----------+----------+------------
 * | Address  | Control  |       Protocol      |  Information
 * |   0xff   |   0x03   |   (1 or 2 octets)   |
 * +----------+----------+----------+----------+------------
 *  (address/control optional)
 * ```
 */

export const PPP_OFF = { ADDRESS: 0, CONTROL: 1 } as const;
export const PPP_ADDRESS_CONTROL = 0xff03;
/** Protocol field values (IANA PPP DLL protocol numbers). */
export const PPP_PROTO = { IPV4: 0x0021, IPV6: 0x0057, IPCP: 0x8021, IPV6CP: 0x8057, LCP: 0xc021 } as const;

/** Plain header, for building frames and for tests. */
export interface PppHeader {
  /** Include the 0xff 0x03 address/control octets. */
  addressControl: boolean;
  /** Protocol number; written in 1 octet when `compressProtocol` and the value allows it. */
  protocol: number;
  compressProtocol: boolean;
}

/**
 * Reads the PPP header at `off` with `avail` bytes present. Allocation-free result in the
 * view's fields: `headerLen` 0 when the bytes are too few to read the protocol.
 */
export class PppView {
  headerLen = 0;
  protocol = 0;
  addressControl = false;

  /** Parses at `off`; `avail` is how many bytes may be read. Returns this. */
  read(buf: Buffer, off: number, avail: number): this {
    this.headerLen = 0;
    this.protocol = 0;
    this.addressControl = false;
    let p = off;
    let n = avail;
    if (n >= 2 && buf.readUInt16BE(p) === PPP_ADDRESS_CONTROL) {
      this.addressControl = true;
      p += 2;
      n -= 2;
    }
    if (n < 1) return this;
    const first = buf.readUInt8(p);
    if ((first & 1) === 1) {
      // Protocol-Field-Compression, RFC 1661 §6.5: odd first octet is the whole field.
      this.protocol = first;
      this.headerLen = p + 1 - off;
      return this;
    }
    if (n < 2) return this;
    this.protocol = buf.readUInt16BE(p);
    this.headerLen = p + 2 - off;
    return this;
  }

  toHeader(): PppHeader {
    return { addressControl: this.addressControl, protocol: this.protocol, compressProtocol: this.headerLen - (this.addressControl ? 2 : 0) === 1 };
  }
}

/** Writes the PPP header at `off`; returns the offset after it. */
export function emitPpp(h: PppHeader, buf: Buffer, off: number): number {
  let p = off;
  if (h.addressControl) {
    buf.writeUInt16BE(PPP_ADDRESS_CONTROL, p);
    p += 2;
  }
  if (h.compressProtocol && h.protocol < 0x100 && (h.protocol & 1) === 1) {
    buf.writeUInt8(h.protocol, p);
    return p + 1;
  }
  buf.writeUInt16BE(h.protocol, p);
  return p + 2;
}
