/**
 * The agent's ERSPAN exporter (`--to erspan://H?session=N&version=2|3`): every captured
 * frame goes out as GRE (IP protocol 47) to H with an ERSPAN header, as a Linux erspan
 * device sends it (net/ipv4/ip_gre.c erspan_xmit, include/net/erspan.h):
 *
 *   type II  (version=2, Linux erspan_ver 1): [GRE S bit, 0x88BE, seq] [ERSPAN II, 8 bytes]
 *   type III (version=3, Linux erspan_ver 2): [GRE S bit, 0x22EB, seq] [ERSPAN III, 12 bytes]
 *
 * What Linux puts in the headers, and so do we:
 * - GRE: only the S bit (no key: erspan_xmit clears TUNNEL_KEY; the session id is the
 *   device's key); the sequence number starts at 0 and increments per packet sent
 *   (atomic_fetch_inc(&tunnel->o_seqno)); segments each take one.
 * - Ver 1 (II) / 2 (III); Session ID = session (10 bits).
 * - VLAN = the VID of the mirrored frame's 802.1Q tag, if it has one (the tag stays in the
 *   frame); type II En = 3 ("VLAN tag preserved in frame") then, else 0.
 * - COS = the mirrored packet's IP precedence: tos_to_cos(tos) = tos >> 5. (Linux passes
 *   is_ipv4 = true for IPv6 too and reads byte 1 of the IPv6 header; we take the IPv6
 *   traffic class, as the is_ipv4 = false branch intends.) 0 for non-IP frames.
 * - T = the frame was truncated (oversize=truncate, truncate=N, a frame cut by the snap
 *   length and too long for the tunnel), as erspan_xmit sets it when it trims to the MTU.
 * - type II Index (20 bits): index=N, default the mirrored interface's ifindex (Linux: the
 *   device's `erspan IDX`, default 0).
 * - type III: Timestamp = the frame's capture time in units of 100 µs (Gra = 0, the only
 *   granularity Linux sends; Linux uses the send time, ktime_get_real() / 100 µs), 32 bits,
 *   wrapping every ~4.97 days; BSO = 1 (short) under 60 bytes, 2 (oversized) over 1514,
 *   else 0 (erspan_detect_bso); SGT 0; P = 1; FT = 0 (Ethernet); Hw ID = hwid=N (6 bits,
 *   default 0); D = dir=ingress|egress (default ingress); O = 0.
 *
 * Sending, oversize frames and counters: as the GRE exporter (gre.ts, frame-shaper.ts).
 */
import { ErspanTemplate } from '../../packet/encap/erspan.js';
import { ETHERNET_OFF, ETHERTYPE } from '../../packet/wire/ethernet.js';
import type { ExporterKind, ExportSource } from './exporter.js';
import { parseShapeParams, SHAPE_PARAMS, type ShapeOptions } from './frame-shaper.js';
import { GreFamilyExporter, greEndpoint, parseRawUrl, resolveIpv4, u32Param, type GreEncap } from './gre.js';

/** 100 µs in ns: the unit of a Gra 0 timestamp. */
const GRA0_UNIT_NS = 100_000;
/** erspan_detect_bso: ETH_ZLEN and ETH_FRAME_LEN. */
const ETH_ZLEN = 60;
const ETH_FRAME_LEN = 1514;
const BSO = { NOERROR: 0, SHORT: 1, OVERSIZED: 2 } as const;
/** Type II En: VLAN tag preserved in the frame. */
const EN_INFRAME = 3;

export interface ErspanTarget {
  url: string;
  host: string;
  version: 2 | 3;
  session: number;
  /** Type II index; undefined = the mirrored interface's ifindex. */
  index: number | undefined;
  hwId: number;
  direction: 0 | 1;
  shape: ShapeOptions;
}

const ERSPAN_PARAMS = ['session', 'version', 'index', 'hwid', 'dir', ...SHAPE_PARAMS];
const ERSPAN_FORM = 'erspan://HOST?session=N&version=2|3[&index=N][&hwid=N][&dir=ingress|egress][&oversize=segment|truncate][&mtu=N][&truncate=N]';

/** Parses `erspan://H?session=N&version=2|3`. Throws RangeError with a message for the user. */
export function parseErspanUrl(url: string): ErspanTarget {
  const { u, host } = parseRawUrl(url, 'erspan:', ERSPAN_FORM, ERSPAN_PARAMS);
  const sessionText = u.searchParams.get('session');
  if (sessionText === null) throw new RangeError(`export target "${url}": say which session: ${ERSPAN_FORM}`);
  const session = u32Param(url, 'session', sessionText, 1023);
  const versionText = u.searchParams.get('version') ?? '2';
  if (versionText !== '2' && versionText !== '3') throw new RangeError(`export target "${url}": version wants 2 (ERSPAN type II) or 3 (type III), got "${versionText}"`);
  const version = versionText === '2' ? 2 : 3;
  const indexText = u.searchParams.get('index');
  if (indexText !== null && version !== 2) throw new RangeError(`export target "${url}": index is a type II field (version=2)`);
  const hwText = u.searchParams.get('hwid');
  const dirText = u.searchParams.get('dir');
  if ((hwText !== null || dirText !== null) && version !== 3) throw new RangeError(`export target "${url}": hwid and dir are type III fields (version=3)`);
  if (dirText !== null && dirText !== 'ingress' && dirText !== 'egress') throw new RangeError(`export target "${url}": dir wants ingress or egress, got "${dirText}"`);
  return {
    url,
    host,
    version,
    session,
    index: indexText === null ? undefined : u32Param(url, 'index', indexText, 0xfffff),
    hwId: hwText === null ? 0 : u32Param(url, 'hwid', hwText, 63),
    direction: dirText === 'egress' ? 1 : 0,
    shape: parseShapeParams(url, u),
  };
}

/** ERSPAN II/III header, patched per packet. */
export class ErspanEncap implements GreEncap {
  readonly header: Buffer;
  private readonly tpl: ErspanTemplate;
  private readonly version: 2 | 3;
  private readonly index: number | undefined;
  private seq: number;

  constructor(t: Pick<ErspanTarget, 'version' | 'session' | 'index' | 'hwId' | 'direction'>) {
    this.version = t.version;
    this.index = t.index;
    this.tpl = new ErspanTemplate({ version: t.version, sessionId: t.session, hwId: t.hwId, direction: t.direction, gra: 0, p: 1 });
    this.header = this.tpl.header;
    this.seq = 0;
    if (t.index !== undefined) this.tpl.setIndex(t.index);
  }

  prepare(frame: Buffer, off: number, len: number, truncated: boolean, tsSec: number, tsNsec: number, source: ExportSource): void {
    const tpl = this.tpl;
    tpl.setSeq(this.seq);
    this.seq = (this.seq + 1) >>> 0;
    tpl.setTruncated(truncated);
    let vlan = 0;
    let tagged = false;
    let cos = 0;
    if (len >= 14) {
      let type = frame.readUInt16BE(off + ETHERNET_OFF.ETHER_TYPE);
      let l3 = off + 14;
      if (type === ETHERTYPE.VLAN && len >= 18) {
        vlan = frame.readUInt16BE(off + 14) & 0x0fff;
        tagged = true;
        type = frame.readUInt16BE(off + 16);
        l3 += 4;
      }
      if (l3 + 2 <= off + len) {
        // tos_to_cos: (tos >> 2) >> 3, the IP precedence.
        if (type === ETHERTYPE.IPV4) cos = frame.readUInt8(l3 + 1) >>> 5;
        else if (type === ETHERTYPE.IPV6) cos = (frame.readUInt16BE(l3) >>> 4) >>> 5 & 7;
      }
    }
    if (this.version === 2) {
      tpl.setFrameInfo(vlan, cos, tagged ? EN_INFRAME : 0);
      if (this.index === undefined) tpl.setIndex(source.ifindex ?? 0);
    } else {
      tpl.setFrameInfo(vlan, cos, len < ETH_ZLEN ? BSO.SHORT : len > ETH_FRAME_LEN ? BSO.OVERSIZED : BSO.NOERROR);
      // 100 µs units, mod 2^32: tsSec·10^4 stays exact in a double.
      tpl.setTimestamp((tsSec * 10_000 + Math.floor(tsNsec / GRA0_UNIT_NS)) % 0x100000000);
    }
  }
}

export async function openErspanExporter(t: ErspanTarget): Promise<GreFamilyExporter> {
  const address = await resolveIpv4(t.host);
  return new GreFamilyExporter(t.url, t.shape, new ErspanEncap(t), GreFamilyExporter.openSocket(), address);
}

export const ERSPAN_EXPORTER: ExporterKind<ErspanTarget> = {
  schemes: ['erspan:'],
  usage: 'erspan://HOST?session=N&version=2|3',
  parse: parseErspanUrl,
  endpoint: greEndpoint,
  open: openErspanExporter,
};
