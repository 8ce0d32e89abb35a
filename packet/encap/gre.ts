/**
 * GRE encapsulation (RFC 2784 / RFC 2890) for mirrored frames sent on a raw IP socket
 * (IPPROTO_GRE: the kernel adds the IP header). A template is built once per exporter;
 * per packet only the sequence number is patched in place, without allocation.
 */
import { ETHERTYPE } from '../wire/ethernet.js';
import { emitGre, greFixedHeaderLen, GRE_FLAG, GRE_OFF } from '../wire/gre.js';

/** Options for a GRE template. */
export interface GreEncapOptions {
  /** GRE protocol type; default 0x6558 (transparent Ethernet bridging: the frame follows as is). */
  protocol?: number;
  /** RFC 2890 key (e.g. a tunnel or session id). */
  key?: number;
  /** Carry an RFC 2890 sequence number, set per packet with setSeq(). */
  seq?: boolean;
}

/**
 * A GRE header to send in front of each frame: `[template.header, frame]`. setSeq() rewrites
 * the header in place, so send (or copy) it before the next setSeq().
 */
export class GreTemplate {
  readonly header: Buffer;
  /** Offset of the sequence number in `header`, or -1. */
  readonly seqOffset: number;

  constructor(opts: GreEncapOptions = {}) {
    const protocol = opts.protocol ?? ETHERTYPE.TEB;
    const h = { version: 0, protocol, ...(opts.key !== undefined ? { key: opts.key } : {}), ...(opts.seq === true ? { seq: 0 } : {}) };
    let flags = 0;
    if (opts.key !== undefined) flags |= GRE_FLAG.KEY;
    if (opts.seq === true) flags |= GRE_FLAG.SEQ;
    this.header = Buffer.alloc(greFixedHeaderLen(flags));
    emitGre(h, this.header, 0);
    this.seqOffset = opts.seq === true ? this.header.length - 4 : -1;
  }

  /** Sets the sequence number (mod 2^32). Does not allocate. */
  setSeq(seq: number): void {
    if (this.seqOffset >= 0) this.header.writeUInt32BE(seq >>> 0, this.seqOffset);
  }

  get protocol(): number {
    return this.header.readUInt16BE(GRE_OFF.PROTOCOL);
  }
}

/** A new GRE header (allocates): the one-off form of GreTemplate. */
export function buildGreHeader(opts: GreEncapOptions = {}): Buffer {
  return new GreTemplate(opts).header;
}
