/**
 * Shared shapes of the pcap and pcapng codecs.
 *
 * Timestamps are an exact (tsSec, tsNsec) pair: tsSec is whole seconds since the epoch
 * (a safe integer; pcapng can exceed 2^32), tsNsec is 0..999_999_999, except for a
 * nanosecond pcap whose record claims ts_nsec >= 1e9 (tcpdump prints "(invalid ns)"):
 * the raw value is kept and `tsInvalid` is set, never normalised silently.
 */

/** File formats the codecs read and write. */
export const CAPFILE_FORMAT = { PCAP: 'pcap', PCAPNG: 'pcapng' } as const;
export type CapfileFormat = (typeof CAPFILE_FORMAT)[keyof typeof CAPFILE_FORMAT];

/** One interface of a capture: the pcap file header, or one pcapng IDB. */
export interface CaptureInterface {
  /** pcapng interface id within its section; 0 for pcap. */
  id: number;
  /** Index of the pcapng section (SHB) it belongs to; 0 for pcap. */
  section: number;
  linkType: number;
  snapLen: number;
  /**
   * Timestamp resolution as a power: 10^-tsResolPower seconds when tsResolBinary is false,
   * else 2^-tsResolPower (pcapng if_tsresol). pcap: 6 (µs magic) or 9 (ns magic).
   */
  tsResolPower: number;
  tsResolBinary: boolean;
  /** if_tsoffset (pcapng), seconds added to every timestamp; 0 when absent. */
  tsOffsetSec: number;
  name: string | undefined;
  description: string | undefined;
  /** Original header fields for an exact pcap round trip. */
  pcapVersionMajor: number;
  pcapVersionMinor: number;
  bigEndian: boolean;
  /** pcap header `thiszone` (GMT offset, written as 0 by every modern tool; never applied). */
  pcapThisZone?: number | undefined;
  /** pcap header `sigfigs` (always 0 in practice). */
  pcapSigFigs?: number | undefined;
  /**
   * The pcap header's whole 32-bit link-type field, for an exact copy. Above the link type:
   * bits 16-25 are reserved (zero, or the file is refused), bit 26 says an FCS length is
   * present in bits 28-31, bit 27 is unused; some files set bits 27-31 without bit 26.
   * Undefined for pcapng.
   */
  pcapLinkTypeField?: number | undefined;
  /**
   * Length of the FCS at the end of every frame, in bytes, when the file says so: the pcap
   * link-type field's FCS bits (LT_FCS_LENGTH, when bit 26 is set) or pcapng if_fcslen.
   */
  fcsLen?: number | undefined;
}

/**
 * One captured packet. The reader reuses one record object and `data` is a view into the
 * reader's buffer: both are valid only until the next call to `next()`/`push()`. Copy what
 * must outlive that.
 */
export interface PacketRecord {
  /** 1-based record number in the file. */
  n: number;
  iface: CaptureInterface;
  tsSec: number;
  tsNsec: number;
  tsInvalid: boolean;
  capLen: number;
  wireLen: number;
  data: Buffer;
  /** opt_comment values of an EPB, or empty. */
  comments: string[];
  /** epb_flags when present, else undefined. */
  flags: number | undefined;
}

/** Interface statistics (pcapng ISB), as read or as to be written. */
export interface InterfaceStats {
  ifaceId: number;
  tsSec: number;
  tsNsec: number;
  /** isb_ifrecv: packets received by the capture (kernel's count). */
  ifRecv: bigint | undefined;
  /** isb_ifdrop: dropped by the interface/kernel. */
  ifDrop: bigint | undefined;
  /** isb_filteraccept */
  filterAccept: bigint | undefined;
  /** isb_osdrop */
  osDrop: bigint | undefined;
  /** isb_usrdeliv */
  usrDeliv: bigint | undefined;
  comments: string[];
  /** Section (SHB index) of the interface; set by the reader, ignored by the writer. */
  section?: number | undefined;
  /** isb_starttime, in the interface's resolution converted to (sec, nsec). */
  startTsSec?: number | undefined;
  startTsNsec?: number | undefined;
  /** isb_endtime */
  endTsSec?: number | undefined;
  endTsNsec?: number | undefined;
}

/** A pcapng Section Header Block, as read (`CapfileReader.onSection`). */
export interface SectionInfo {
  /** 0-based index of the section in the file. */
  index: number;
  bigEndian: boolean;
  versionMajor: number;
  versionMinor: number;
  /** Section length in bytes, or -1n when not given (the usual case). */
  sectionLength: bigint;
  hardware: string | undefined;
  os: string | undefined;
  userAppl: string | undefined;
  comments: string[];
}
