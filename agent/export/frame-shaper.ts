/**
 * What every tunnel exporter (vxlan, gre, erspan) does to a captured frame before it is
 * encapsulated, from the URL's query parameters:
 *
 *   oversize=segment|truncate  a frame longer than its link header + mtu: cut into frames
 *                              that fit, as GSO or a NIC would (packet/segment/), or cut to
 *                              link header + mtu; default segment
 *   mtu=N                      the tunnel's path MTU for the inner IP packets; default 1500
 *   truncate=N                 every exported frame cut to N bytes (like AWS VPC Traffic
 *                              Mirroring's PacketLength); default off
 *
 * Counters (per captured frame, in the exporter's counters): `export_truncated` (one or more
 * of its frames sent cut), `export_segmented` (split into segments or fragments);
 * `export_segments` counts the frames segmentation produced that the kernel accepted.
 */
import { PLAN, SEGMENT_MAX_MTU, SEGMENT_MIN_MTU, Segmenter } from '../../packet/segment/segmenter.js';
import { ETHERNET_HEADER_LEN } from '../../packet/wire/ethernet.js';

/** Default inner IP MTU: an Ethernet path. */
export const DEFAULT_EXPORT_MTU = 1500;
/** The query parameters frame shaping reads. */
export const SHAPE_PARAMS = ['oversize', 'mtu', 'truncate'] as const;
/** Smallest truncate=N: an Ethernet header. */
export const MIN_TRUNCATE = ETHERNET_HEADER_LEN;

export interface ShapeOptions {
  oversize: 'segment' | 'truncate';
  /** Inner IP MTU. */
  mtu: number;
  /** Cut every frame to this many bytes; undefined = no cut. */
  truncate: number | undefined;
}

/** Counters frame shaping adds to an exporter's. */
export interface ShapeCounters {
  export_truncated: number;
  export_segmented: number;
  export_segments: number;
}

function intParam(url: string, name: string, text: string, min: number, max: number): number {
  if (!/^[0-9]+$/.test(text) || Number(text) < min || Number(text) > max) throw new RangeError(`export target "${url}": ${name} wants an integer ${min}..${max}, got "${text}"`);
  return Number(text);
}

/** Reads oversize, mtu and truncate from `u`'s query. Throws RangeError with a message for the user. */
export function parseShapeParams(url: string, u: URL): ShapeOptions {
  const oversize = u.searchParams.get('oversize') ?? 'segment';
  if (oversize !== 'segment' && oversize !== 'truncate') throw new RangeError(`export target "${url}": oversize wants segment or truncate, got "${oversize}"`);
  const mtuText = u.searchParams.get('mtu');
  const mtu = mtuText === null ? DEFAULT_EXPORT_MTU : intParam(url, 'mtu', mtuText, SEGMENT_MIN_MTU, SEGMENT_MAX_MTU);
  const truncText = u.searchParams.get('truncate');
  const truncate = truncText === null ? undefined : intParam(url, 'truncate', truncText, MIN_TRUNCATE, 262144);
  return { oversize, mtu, truncate };
}

/**
 * Plans the frames one captured frame becomes. One per exporter; state is valid until the
 * next begin(). Does not allocate for frames that fit (the common case); segmenting writes
 * into one scratch buffer owned here.
 */
export class FrameShaper {
  readonly opts: ShapeOptions;
  /** Largest inner frame the transport carries (a datagram's limit). */
  readonly maxFrame: number;
  /** Frames to send for the current frame. */
  count: number;
  /** True when the frame is sent as (a prefix of) itself: send `data[off, off + directLen)`. */
  direct: boolean;
  directLen: number;
  /** Whether any frame of the current frame is sent cut (count it as export_truncated). */
  truncated: boolean;
  /** Whether the current frame was split (count it as export_segmented). */
  segmented: boolean;
  /** Segments are written here by write(); valid until the next write(). */
  readonly scratch: Buffer;
  private readonly segmenter: Segmenter;
  private readonly mtu: number;
  private frame: Buffer;

  constructor(opts: ShapeOptions, maxFrame: number) {
    this.opts = opts;
    this.maxFrame = maxFrame;
    // The transport's own limit caps the MTU (write() cuts the rare VLAN-tagged segment
    // that would still be longer).
    this.mtu = Math.max(SEGMENT_MIN_MTU, Math.min(opts.mtu, maxFrame - ETHERNET_HEADER_LEN));
    this.count = 1;
    this.direct = true;
    this.directLen = 0;
    this.truncated = false;
    this.segmented = false;
    this.segmenter = new Segmenter();
    // Segments are at most link header (Ethernet, two VLAN tags) + mtu.
    this.scratch = Buffer.alloc(this.mtu + ETHERNET_HEADER_LEN + 8);
    this.frame = this.scratch;
  }

  /** Plans `data[off, off + capLen)` (wire length `wireLen`). Returns the number of frames to send. */
  begin(data: Buffer, off: number, capLen: number, wireLen: number): number {
    const cut = this.opts.truncate;
    this.count = 1;
    this.direct = true;
    this.segmented = false;
    this.truncated = false;
    if (capLen <= ETHERNET_HEADER_LEN + this.mtu) {
      // Fits (no parsing); only truncate=N can cut it.
      this.directLen = cut !== undefined && capLen > cut ? cut : capLen;
      this.truncated = this.directLen < capLen;
      return 1;
    }
    const frame = data.subarray(off, off + capLen);
    const s = this.segmenter;
    const plan = s.planFrame(frame, capLen, wireLen, this.mtu);
    if (plan === PLAN.FITS || plan === PLAN.TRUNCATE || this.opts.oversize === 'truncate') {
      let len = plan === PLAN.FITS ? capLen : s.truncateLen;
      if (len > this.maxFrame) len = this.maxFrame;
      if (cut !== undefined && len > cut) len = cut;
      this.directLen = len;
      this.truncated = len < capLen;
      return 1;
    }
    this.frame = frame;
    this.direct = false;
    this.segmented = true;
    this.count = s.count;
    if (cut !== undefined && s.frameLen(0) > cut) this.truncated = true;
    return s.count;
  }

  /**
   * Writes frame `index` of a segmented frame into `scratch` and returns its length to send
   * (cut to truncate=N). Valid until the next write().
   */
  write(index: number): number {
    let len = this.segmenter.write(this.frame, index, this.scratch, 0);
    const cut = this.opts.truncate;
    if (cut !== undefined && len > cut) len = cut;
    if (len > this.maxFrame) {
      len = this.maxFrame;
      this.truncated = true;
    }
    return len;
  }
}
