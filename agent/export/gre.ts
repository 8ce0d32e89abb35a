/**
 * The agent's GRE exporter (`--to gre://H?key=N`): every captured frame goes out as one GRE
 * packet (IP protocol 47) to H, protocol type 0x6558 (transparent Ethernet bridging, the
 * frame follows as is), as a Linux gretap device sends it:
 *
 *   [GRE: flags/version, 0x6558, (key)] [Ethernet frame]          (RFC 2784, RFC 2890)
 *
 * Linux gretap (net/ipv4/ip_gre.c, include/net/gre.h gre_build_header): the K bit and key
 * only when the device has an output key (`ip link add ... type gretap key N`); no checksum
 * and no sequence number unless `ocsum` / `oseq` were asked for, so neither is sent here.
 * The key is optional: gre://H sends the 4-byte header.
 *
 * Sending: a raw IPv4 socket from the native addon (the kernel adds the IP header), one
 * sendmsg() per packet gathering [GRE header, frame] (no concatenation). sendmsg on a raw
 * socket copies into the kernel before it returns, so frames are sent straight from the
 * capture batch, uncopied, and nothing is queued here: a full socket send buffer
 * (EAGAIN/ENOBUFS) is a drop counted `export_queue_full`. The socket is send-only (a filter
 * keeps received GRE out of its queue).
 *
 * Oversize frames, mtu and truncation: frame-shaper.ts (query parameters oversize, mtu,
 * truncate). The largest inner frame is 65535 - 20 (IP) - the GRE header.
 */
import { lookup } from 'node:dns/promises';

import { CAPTURE_META, CAPTURE_META_COLS, IP_PROTO, RawIpSocket } from '../../native/index.js';
import { GreTemplate } from '../../packet/encap/gre.js';
import { IPV4_MIN_HEADER_LEN } from '../../packet/wire/ipv4.js';
import type { ExportEndpoint } from '../exclude.js';
import type { ExportBatchInput, ExportCounters, Exporter, ExporterKind, ExportSource } from './exporter.js';
import { FrameShaper, parseShapeParams, SHAPE_PARAMS, type ShapeCounters, type ShapeOptions } from './frame-shaper.js';

/** Largest IPv4 payload: 65535 - 20. */
export const RAW_IPV4_MAX_PAYLOAD = 65535 - IPV4_MIN_HEADER_LEN;

/** Reasons a frame was not exported (same names as the VXLAN exporter's). */
export const GRE_EXPORT_DROP_REASONS = ['export_queue_full', 'export_send_error'] as const;

export interface GreExportCounters extends ExportCounters, ShapeCounters {
  /** Frames whose every packet the kernel accepted. */
  exported: number;
  export_queue_full: number;
  export_send_error: number;
}

/** What a GRE-family exporter puts in front of each frame, patched per packet. */
export interface GreEncap {
  /** The header sent in front of every frame; prepare() rewrites it in place. */
  readonly header: Buffer;
  /**
   * Patches the header for the next packet: `frame[off, off + len)` is what is sent (the
   * frame or a segment), `truncated` whether it was cut, (tsSec, tsNsec) its capture time.
   */
  prepare(frame: Buffer, off: number, len: number, truncated: boolean, tsSec: number, tsNsec: number, source: ExportSource): void;
}

export interface GreTarget {
  url: string;
  host: string;
  /** RFC 2890 key; undefined = no K bit. */
  key: number | undefined;
  shape: ShapeOptions;
}

/** Splits gre:// or erspan:// URLs: host (IPv4 or a name), no port, path, user or fragment; only `allowed` query keys. */
export function parseRawUrl(url: string, scheme: string, form: string, allowed: readonly string[]): { u: URL; host: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RangeError(`export target "${url}" is not a URL`);
  }
  if (u.protocol !== scheme) throw new RangeError(`export target "${url}" is not ${scheme}//`);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new RangeError(`export target "${url}" has no host`);
  if (host.includes(':')) throw new RangeError(`export target "${url}": GRE export is IPv4 only (raw IPv4 socket); give an IPv4 address or name`);
  if (u.port !== '') throw new RangeError(`export target "${url}": GRE has no ports; expected ${form}`);
  if ((u.pathname !== '' && u.pathname !== '/') || u.username !== '' || u.password !== '' || u.hash !== '') throw new RangeError(`export target "${url}": expected ${form}`);
  for (const k of u.searchParams.keys()) if (!allowed.includes(k)) throw new RangeError(`export target "${url}": unknown parameter "${k}" (${allowed.join(', ')})`);
  return { u, host };
}

/** An unsigned 32-bit integer parameter. */
export function u32Param(url: string, name: string, text: string, max = 0xffffffff): number {
  if (!/^[0-9]+$/.test(text) || Number(text) > max) throw new RangeError(`export target "${url}": ${name} wants an integer 0..${max}, got "${text}"`);
  return Number(text);
}

const GRE_PARAMS = ['key', ...SHAPE_PARAMS];
const GRE_FORM = 'gre://HOST[?key=N][&oversize=segment|truncate][&mtu=N][&truncate=N]';

/** Parses `gre://H[?key=N]` with the frame-shaping parameters. Throws RangeError with a message for the user. */
export function parseGreUrl(url: string): GreTarget {
  const { u, host } = parseRawUrl(url, 'gre:', GRE_FORM, GRE_PARAMS);
  const keyText = u.searchParams.get('key');
  return { url, host, key: keyText === null ? undefined : u32Param(url, 'key', keyText), shape: parseShapeParams(url, u) };
}

export function greEndpoint(t: { host: string }): ExportEndpoint {
  return { host: t.host, transport: 'gre' };
}

/** Resolves `host` to one IPv4 address. */
export async function resolveIpv4(host: string): Promise<string> {
  const { address } = await lookup(host, { family: 4 });
  return address;
}

/**
 * Sends frames as GRE packets on a raw socket; the encapsulation (plain GRE, ERSPAN II/III)
 * is the `encap` given. Shared by gre:// and erspan://.
 */
export class GreFamilyExporter implements Exporter {
  readonly url: string;
  readonly counters: GreExportCounters;
  readonly dropReasons: readonly string[] = GRE_EXPORT_DROP_REASONS;
  readonly ethernetOnly = true;
  /** Destination, dotted quad. */
  readonly address: string;
  private readonly encap: GreEncap;
  private readonly socket: RawIpSocket;
  private readonly shaper: FrameShaper;
  private readonly bufs: Buffer[];
  private closed: boolean;

  constructor(url: string, shape: ShapeOptions, encap: GreEncap, socket: RawIpSocket, address: string) {
    this.url = url;
    this.encap = encap;
    this.socket = socket;
    this.address = address;
    this.shaper = new FrameShaper(shape, RAW_IPV4_MAX_PAYLOAD - encap.header.length);
    this.bufs = [encap.header, encap.header];
    this.closed = false;
    this.counters = { exported: 0, export_truncated: 0, export_segmented: 0, export_segments: 0, export_queue_full: 0, export_send_error: 0 };
  }

  /** Opens a send-only raw GRE socket in the agent's namespace. Rejects with the native error (no CAP_NET_RAW…). */
  static openSocket(): RawIpSocket {
    return RawIpSocket.open(IP_PROTO.GRE, { sendOnly: true });
  }

  /** Sends rows [0, n) of `batch`; nothing is kept after return. */
  exportBatch(batch: ExportBatchInput, n: number, source: ExportSource): void {
    const { data, meta } = batch;
    for (let i = 0; i < n; i++) {
      const r = i * CAPTURE_META_COLS;
      this.exportFrame(data, meta[r + CAPTURE_META.OFFSET]!, meta[r + CAPTURE_META.CAP_LEN]!, meta[r + CAPTURE_META.WIRE_LEN]!, meta[r + CAPTURE_META.TS_SEC]!, meta[r + CAPTURE_META.TS_NSEC]!, source);
    }
  }

  /** Sends `data[off, off + capLen)` (wire length `wireLen`, captured at tsSec.tsNsec). */
  exportFrame(data: Buffer, off: number, capLen: number, wireLen: number, tsSec: number, tsNsec: number, source: ExportSource): void {
    if (this.closed) return;
    const s = this.shaper;
    const count = s.begin(data, off, capLen, wireLen);
    if (s.direct) {
      this.encap.prepare(data, off, s.directLen, s.truncated, tsSec, tsNsec, source);
      const r = this.sendOne(data, off, s.directLen);
      if (r === 0) {
        this.counters.exported++;
        if (s.truncated) this.counters.export_truncated++;
      } else if (r === 1) this.counters.export_queue_full++;
      else this.counters.export_send_error++;
      return;
    }
    this.counters.export_segmented++;
    let worst = 0;
    for (let i = 0; i < count; i++) {
      const len = s.write(i);
      this.encap.prepare(s.scratch, 0, len, s.truncated, tsSec, tsNsec, source);
      const r = this.sendOne(s.scratch, 0, len);
      if (r === 0) this.counters.export_segments++;
      else if (r > worst) worst = r;
    }
    if (worst === 0) {
      this.counters.exported++;
      if (s.truncated) this.counters.export_truncated++;
    } else if (worst === 1) this.counters.export_queue_full++;
    else this.counters.export_send_error++;
  }

  /** Sends [header, buf[off, off + len)]: 0 sent, 1 send buffer full, 2 error. Does not allocate. */
  private sendOne(buf: Buffer, off: number, len: number): number {
    this.bufs[1] = buf;
    try {
      return this.socket.send(this.bufs, this.address, off, len) ? 0 : 1;
    } catch {
      return 2;
    }
  }

  /** Closes the socket (nothing is queued here). Idempotent; never rejects. */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.socket.close();
    }
    return Promise.resolve();
  }
}

/** Plain GRE, transparent Ethernet bridging, optional key: nothing changes per packet. */
export class GretapEncap implements GreEncap {
  readonly header: Buffer;
  constructor(key: number | undefined) {
    this.header = new GreTemplate(key === undefined ? {} : { key }).header;
  }
  prepare(): void {
    /* fixed header */
  }
}

export async function openGreExporter(t: GreTarget): Promise<GreFamilyExporter> {
  const address = await resolveIpv4(t.host);
  return new GreFamilyExporter(t.url, t.shape, new GretapEncap(t.key), GreFamilyExporter.openSocket(), address);
}

export const GRE_EXPORTER: ExporterKind<GreTarget> = {
  schemes: ['gre:'],
  usage: 'gre://HOST[?key=N]',
  parse: parseGreUrl,
  endpoint: greEndpoint,
  open: openGreExporter,
};
