/**
 * The layer-chain decoder: one frame in, flat fields out, no allocation.
 *
 * A Parser owns preallocated result fields and reuses them for every frame (gopacket's
 * DecodingLayerParser, Hubble's reusable packet). decode() walks the headers from the link
 * layer inwards as a state machine over small integer "next" codes, checks each header's
 * length once before reading it, and stops at the first header it cannot or need not decode.
 *
 * Lengths. Three ends bound every read:
 * - capLen = data.length, the bytes present;
 * - wire = max(wireLen, capLen), the frame as it was on the wire;
 * - limit, the end claimed by the innermost length field seen so far (IPv4 total length, IPv6
 *   payload length, UDP length, PPTP payload length, PPPoE length); starts at wire.
 * A header that runs past `limit` is MALFORMED; one within `limit` but past capLen is TRUNCATED.
 * A length field that claims past `limit` is CONTAINED when the claim still fits the frame,
 * else MALFORMED. In a first fragment a transport header cut by the fragment's end is not an
 * error (OK, no transport fields): the rest is in the next fragment.
 *
 * Which layers are recorded: a layer is appended to `layers` once its header (options and
 * extension headers included) is present and its header-length field is sane. When its
 * total-length claim then disagrees with the container, the layer is kept and decoding stops
 * with MALFORMED or CONTAINED. A truncated or malformed header is not recorded; `stopLayer`
 * names it.
 */
import { CMD_GRE_OFF, CMD_HEADER_LEN, CMD_OFF } from '../wire/cisco-metadata.js';
import { ERSPAN_FT, ERSPAN_II_HEADER_LEN, ERSPAN_III_FLAG_O, ERSPAN_III_HEADER_LEN, ERSPAN_III_PLATFORM_LEN, ERSPAN_OFF, ERSPAN_SESSION_MASK, ERSPAN_VERSION } from '../wire/erspan.js';
import { ETHERNET_HEADER_LEN, ETHERNET_OFF, ETHERTYPE, ETHERTYPE_MIN } from '../wire/ethernet.js';
import { GENEVE_HEADER_LEN, GENEVE_OFF, GENEVE_PORT } from '../wire/geneve.js';
import { GRE_BASE_HEADER_LEN, GRE_FLAG, GRE_OFF, greFixedHeaderLen, greRoutingLen } from '../wire/gre.js';
import { ICMP_HEADER_LEN, ICMP_OFF } from '../wire/icmp.js';
import { IP_PROTO } from '../wire/ip-proto.js';
import { IPV4_FRAG_MASK, IPV4_MIN_HEADER_LEN, IPV4_OFF } from '../wire/ipv4.js';
import { IPV6_EXT_OFF, IPV6_FRAGMENT_HEADER_LEN, IPV6_HEADER_LEN, IPV6_MAX_EXT_HEADERS, IPV6_OFF, ipv6FindJumbo } from '../wire/ipv6.js';
import { LINKTYPE } from '../wire/link-type.js';
import { NULL_HEADER_LEN, nullIpVersion } from '../wire/null.js';
import { PPP_ADDRESS_CONTROL, PPP_PROTO } from '../wire/ppp.js';
import { PPPOE_HEADER_LEN, PPPOE_OFF } from '../wire/pppoe.js';
import { SLL_HEADER_LEN, SLL_OFF } from '../wire/sll.js';
import { SLL2_HEADER_LEN, SLL2_OFF } from '../wire/sll2.js';
import { TCP_MIN_HEADER_LEN, TCP_OFF, TCP_OPT, findTcpOption } from '../wire/tcp.js';
import { TEREDO_PORT, teredoIndicatorsLen } from '../wire/teredo.js';
import { UDP_HEADER_LEN, UDP_OFF } from '../wire/udp.js';
import { VLAN_MAX_TAGS, VLAN_OFF, VLAN_TAG_LEN } from '../wire/vlan.js';
import { VXLAN_FLAG_I, VXLAN_HEADER_LEN, VXLAN_OFF, VXLAN_PORT, VXLAN_PORT_LINUX } from '../wire/vxlan.js';
import { LAYER } from './layers.js';
import { DECODE_STATUS } from './status.js';
import { TunnelSlot } from './tunnel.js';

export { TunnelSlot } from './tunnel.js';

/** Parser configuration; fixed for the Parser's lifetime. */
export interface ParserOptions {
  /** UDP destination ports decoded as VXLAN. Default [4789, 8472]. */
  vxlanPorts?: readonly number[];
  /** UDP destination ports decoded as Geneve. Default [6081]. */
  genevePorts?: readonly number[];
  /** Most layers recorded per frame, which also caps tunnel nesting. Default 16, 1..255. */
  maxLayers?: number;
  /** Most VLAN ids recorded in `vlanIds` per frame. Default 8. */
  maxVlanIds?: number;
}

export const PARSER_DEFAULT_MAX_LAYERS = 16;

const PORT_VXLAN = 1;
const PORT_GENEVE = 2;

/** What to decode next at `this.off` (internal state-machine codes). */
const N = {
  STOP: 0,
  ETH: 1,
  /** Dispatch on `this.etherType`. */
  ETHERTYPE: 2,
  VLAN: 3,
  /** IPv4 or IPv6 by the version nibble. */
  IP_ANY: 4,
  IPV4: 5,
  IPV6: 6,
  /** Dispatch on `this.nextProto` after an IP header. */
  IP_PROTO: 7,
  PPP: 8,
  SLL: 9,
  SLL2: 10,
  NULL: 11,
  ARP: 12,
  LLC: 13,
  CMD: 14,
  PPPOE: 15,
  GRE: 16,
  UDP: 17,
  TCP: 18,
  ICMP: 19,
  ICMPV6: 20,
  VXLAN: 21,
  GENEVE: 22,
  TEREDO: 23,
  ERSPAN_I: 24,
  ERSPAN_II: 25,
  ERSPAN_III: 26,
  WCCP: 27,
  /** IPv4 AH to skip. */
  AH: 28,
  /** Cisco MetaData in its GRE form (EtherType first). */
  CMD_GRE: 29,
} as const;

const S_OK = DECODE_STATUS.OK;
const S_TRUNCATED = DECODE_STATUS.TRUNCATED;
const S_MALFORMED = DECODE_STATUS.MALFORMED;
const S_CONTAINED = DECODE_STATUS.CONTAINED;
const S_UNSUPPORTED = DECODE_STATUS.UNSUPPORTED;

const EMPTY = Buffer.alloc(0);

function checkPorts(name: string, ports: readonly number[]): void {
  for (const p of ports) {
    if (!Number.isInteger(p) || p < 0 || p > 0xffff) throw new RangeError(`ParserOptions.${name}: ${p} is not a UDP port`);
  }
}

/**
 * Decodes frames into flat fields. Create one per pipeline (not per packet); not re-entrant.
 * All result fields are owned by the Parser and valid until the next decode().
 */
export class Parser {
  /** DECODE_STATUS of the last decode(). */
  status: number = S_OK;
  /** LAYER whose header stopped decoding with TRUNCATED, MALFORMED or CONTAINED (or hit a cap); -1 otherwise. */
  stopLayer = -1;
  layerCount = 0;
  /** LAYER values in decode order; entries past layerCount are stale. */
  readonly layers: Uint8Array;
  /** Offset in `data` of each recorded layer's header, parallel to `layers`. */
  readonly layerOffsets: Uint32Array;
  tunnelCount = 0;
  /** Encapsulations passed through, outermost first; entries past tunnelCount are stale. */
  readonly tunnels: TunnelSlot[];
  vlanCount = 0;
  /** VLAN ids of every tag decoded, outermost first; entries past vlanCount are stale. */
  readonly vlanIds: Uint16Array;

  /** Innermost IP layer: 4 or 6, 0 when none was decoded. */
  ipVersion = 0;
  ipOffset = 0;
  ipSrcOffset = 0;
  ipDstOffset = 0;
  /** Protocol after the IPv6 extension headers / IPv4 AH. */
  ipProto = 0;
  /** IPv4 MF or offset != 0; IPv6 fragment header with M or offset != 0. */
  isFragment = false;
  /** Offset in `data` of the innermost IPv6 packet's Fragment header; 0 when it has none (RFC 8200 §4.5). */
  ipv6FragOffset = 0;
  /** Bytes after the IP header and extension headers claimed by the IP length (or the rest of the frame under TSO / BIG TCP with length 0). */
  ipPayloadLen = 0;

  /** Transport of the innermost IP (0 fields when none). */
  l4Proto = 0;
  l4Offset = 0;
  sport = 0;
  dport = 0;
  /**
   * sport/dport hold the innermost TCP or UDP ports. True whenever l4Proto is TCP/UDP, and
   * also when decoding stopped (malformed IP length, bad TCP data offset) but the two port
   * fields were captured: Wireshark shows those ports too.
   */
  portsValid = false;
  /** TCP window field as on the wire (unscaled). */
  tcpWindow = 0;
  /** Window-scale option's shift count on a SYN segment; -1 when absent or not a SYN. */
  tcpWscale = -1;
  /** TCP flag octet, AE (former NS) as bit 8. */
  tcpFlags = 0;
  /** Raw 32-bit sequence number (>>> 0). */
  seq = 0;
  ack = 0;
  icmpType = 0;
  icmpCode = 0;
  payloadOffset = 0;
  /** L4 payload length per the IP/UDP lengths; may exceed what was captured. */
  payloadLen = 0;

  /** The frame last decoded (not copied). */
  data: Buffer = EMPTY;
  capLen = 0;
  wireLen = 0;

  // Decoder state, reset by decode().
  private readonly maxLayers: number;
  private readonly portKind: Uint8Array;
  private off = 0;
  private limit = 0;
  private wire = 0;
  private etherType = 0;
  private nextProto = 0;
  private vlanDepth = 0;
  private extCount = 0;

  constructor(opts: ParserOptions = {}) {
    const maxLayers = opts.maxLayers ?? PARSER_DEFAULT_MAX_LAYERS;
    if (!Number.isInteger(maxLayers) || maxLayers < 1 || maxLayers > 255) {
      throw new RangeError(`ParserOptions.maxLayers must be an integer 1..255, got ${maxLayers}`);
    }
    const maxVlanIds = opts.maxVlanIds ?? VLAN_MAX_TAGS;
    if (!Number.isInteger(maxVlanIds) || maxVlanIds < 0 || maxVlanIds > 255) {
      throw new RangeError(`ParserOptions.maxVlanIds must be an integer 0..255, got ${maxVlanIds}`);
    }
    const vxlanPorts = opts.vxlanPorts ?? [VXLAN_PORT, VXLAN_PORT_LINUX];
    const genevePorts = opts.genevePorts ?? [GENEVE_PORT];
    checkPorts('vxlanPorts', vxlanPorts);
    checkPorts('genevePorts', genevePorts);
    this.portKind = new Uint8Array(65536);
    for (const p of vxlanPorts) this.portKind[p] = PORT_VXLAN;
    for (const p of genevePorts) {
      if (this.portKind[p] === PORT_VXLAN) throw new RangeError(`ParserOptions: port ${p} is both a VXLAN and a Geneve port`);
      this.portKind[p] = PORT_GENEVE;
    }
    this.maxLayers = maxLayers;
    this.layers = new Uint8Array(maxLayers);
    this.layerOffsets = new Uint32Array(maxLayers);
    this.tunnels = [];
    for (let i = 0; i < maxLayers; i++) this.tunnels.push(new TunnelSlot());
    this.vlanIds = new Uint16Array(maxVlanIds);
  }

  /**
   * Decodes one frame of link type `linkType` (LINKTYPE_ value) whose original length was
   * `wireLen`. Returns the status (also in `status`). Does not allocate and never throws on
   * input; results are valid until the next decode(). `data` is kept by reference.
   */
  decode(data: Buffer, linkType: number, wireLen: number): number {
    const capLen = data.length;
    this.data = data;
    this.capLen = capLen;
    this.wireLen = wireLen;
    this.wire = wireLen > capLen ? wireLen : capLen;
    this.limit = this.wire;
    this.off = 0;
    this.status = S_OK;
    this.stopLayer = -1;
    this.layerCount = 0;
    this.tunnelCount = 0;
    this.vlanCount = 0;
    this.vlanDepth = 0;
    this.extCount = 0;
    this.etherType = 0;
    this.nextProto = 0;
    this.ipVersion = 0;
    this.ipOffset = 0;
    this.ipSrcOffset = 0;
    this.ipDstOffset = 0;
    this.ipProto = 0;
    this.isFragment = false;
    this.ipv6FragOffset = 0;
    this.ipPayloadLen = 0;
    this.resetL4();

    let next: number;
    switch (linkType) {
      case LINKTYPE.ETHERNET:
        next = N.ETH;
        break;
      case LINKTYPE.RAW:
      case LINKTYPE.RAW_BSD12:
      case LINKTYPE.RAW_BSD14:
        next = N.IP_ANY;
        break;
      case LINKTYPE.IPV4:
      case LINKTYPE.IPV6:
        // Dispatched on the version nibble as Wireshark does: a LINKTYPE_IPV4 file may carry
        // IPv6 (tcpdump's LINKTYPE_IPV4_invalid.pcap); tcpdump refuses it, tshark decodes it.
        next = N.IP_ANY;
        break;
      case LINKTYPE.LINUX_SLL:
        next = N.SLL;
        break;
      case LINKTYPE.LINUX_SLL2:
        next = N.SLL2;
        break;
      case LINKTYPE.NULL:
      case LINKTYPE.LOOP:
        next = N.NULL;
        break;
      case LINKTYPE.PPP:
      case LINKTYPE.PPP_HDLC:
        next = N.PPP;
        break;
      default:
        return this.finish(S_UNSUPPORTED, -1);
    }

    // Every step either records a layer or stops, except the two dispatch steps and AH
    // (itself capped by extCount), so this bound is never reached on any input.
    const guard = 4 * this.maxLayers + 2 * IPV6_MAX_EXT_HEADERS + 8;
    for (let i = 0; i < guard && next !== N.STOP; i++) {
      switch (next) {
        case N.ETH:
          next = this.eth();
          break;
        case N.ETHERTYPE:
          next = this.dispatchEtherType();
          break;
        case N.VLAN:
          next = this.vlan();
          break;
        case N.IP_ANY:
          next = this.ipAny();
          break;
        case N.IPV4:
          next = this.ipv4();
          break;
        case N.IPV6:
          next = this.ipv6();
          break;
        case N.IP_PROTO:
          next = this.dispatchIpProto();
          break;
        case N.AH:
          next = this.ah();
          break;
        case N.TCP:
          next = this.tcp();
          break;
        case N.UDP:
          next = this.udp();
          break;
        case N.ICMP:
          next = this.icmp(LAYER.ICMP, IP_PROTO.ICMP);
          break;
        case N.ICMPV6:
          next = this.icmp(LAYER.ICMPV6, IP_PROTO.ICMPV6);
          break;
        case N.PPP:
          next = this.ppp();
          break;
        case N.SLL:
          next = this.sll();
          break;
        case N.SLL2:
          next = this.sll2();
          break;
        case N.NULL:
          next = this.nullLoop();
          break;
        case N.ARP:
          next = this.arp();
          break;
        case N.LLC:
          next = this.llc();
          break;
        case N.CMD:
          next = this.cmd(CMD_OFF.ETHER_TYPE);
          break;
        case N.CMD_GRE:
          next = this.cmd(CMD_GRE_OFF.ETHER_TYPE);
          break;
        case N.PPPOE:
          next = this.pppoe();
          break;
        case N.GRE:
          next = this.gre();
          break;
        case N.VXLAN:
          next = this.vxlan();
          break;
        case N.GENEVE:
          next = this.geneve();
          break;
        case N.TEREDO:
          next = this.teredo();
          break;
        case N.ERSPAN_I:
          next = this.erspan1();
          break;
        case N.ERSPAN_II:
          next = this.erspan2();
          break;
        case N.ERSPAN_III:
          next = this.erspan3();
          break;
        case N.WCCP:
          next = this.wccp();
          break;
        default:
          next = this.stop(S_UNSUPPORTED, -1);
      }
    }
    if (next !== N.STOP) this.stop(S_UNSUPPORTED, -1);
    return this.status;
  }

  // ---- helpers ---------------------------------------------------------------------------

  private resetL4(): void {
    this.portsValid = false;
    this.tcpWindow = 0;
    this.tcpWscale = -1;
    this.l4Proto = 0;
    this.l4Offset = 0;
    this.sport = 0;
    this.dport = 0;
    this.tcpFlags = 0;
    this.seq = 0;
    this.ack = 0;
    this.icmpType = 0;
    this.icmpCode = 0;
    this.payloadOffset = 0;
    this.payloadLen = 0;
  }

  private finish(status: number, layer: number): number {
    this.status = status;
    this.stopLayer = layer;
    return status;
  }

  private stop(status: number, layer: number): number {
    this.status = status;
    this.stopLayer = layer;
    return N.STOP;
  }

  /** 0 when [.., end) may be read; else why not: MALFORMED past the claimed end, TRUNCATED past the capture. */
  private short(end: number): number {
    if (end > this.limit) return S_MALFORMED;
    if (end > this.capLen) return S_TRUNCATED;
    return 0;
  }

  /** Status for a length field that claims an end past `limit`. */
  private claim(end: number): number {
    return end <= this.wire ? S_CONTAINED : S_MALFORMED;
  }

  private push(layer: number, off: number): boolean {
    if (this.layerCount >= this.maxLayers) return false;
    this.layerOffsets[this.layerCount] = off;
    this.layers[this.layerCount++] = layer;
    return true;
  }

  private pushTunnel(type: number, id: number, hasId: boolean, version: number, innerOffset: number): boolean {
    const slot = this.tunnels[this.tunnelCount];
    if (slot === undefined) return false;
    slot.set(type, id, hasId, version, innerOffset);
    this.tunnelCount++;
    return true;
  }

  // ---- link layers -----------------------------------------------------------------------

  private eth(): number {
    const off = this.off;
    const s = this.short(off + ETHERNET_HEADER_LEN);
    if (s !== 0) return this.stop(s, LAYER.ETH);
    if (!this.push(LAYER.ETH, off)) return this.stop(S_UNSUPPORTED, LAYER.ETH);
    const type = this.data.readUInt16BE(off + ETHERNET_OFF.ETHER_TYPE);
    this.off = off + ETHERNET_HEADER_LEN;
    this.vlanDepth = 0;
    if (type < ETHERTYPE_MIN) return N.LLC; // IEEE 802.3 length field
    this.etherType = type;
    return N.ETHERTYPE;
  }

  private dispatchEtherType(): number {
    switch (this.etherType) {
      case ETHERTYPE.IPV4:
        return N.IPV4;
      case ETHERTYPE.IPV6:
        return N.IPV6;
      case ETHERTYPE.ARP:
      case ETHERTYPE.RARP:
        return N.ARP;
      case ETHERTYPE.VLAN:
      case ETHERTYPE.QINQ:
      case ETHERTYPE.QINQ_OLD:
        return N.VLAN;
      case ETHERTYPE.TEB:
        return N.ETH;
      case ETHERTYPE.PPP:
        return N.PPP;
      case ETHERTYPE.PPPOE_SESSION:
        return N.PPPOE;
      case ETHERTYPE.CISCO_METADATA:
        return N.CMD;
      default:
        return this.stop(S_UNSUPPORTED, -1);
    }
  }

  private vlan(): number {
    const off = this.off;
    if (++this.vlanDepth > VLAN_MAX_TAGS) return this.stop(S_UNSUPPORTED, LAYER.VLAN);
    const s = this.short(off + VLAN_TAG_LEN);
    if (s !== 0) return this.stop(s, LAYER.VLAN);
    if (!this.push(LAYER.VLAN, off)) return this.stop(S_UNSUPPORTED, LAYER.VLAN);
    const d = this.data;
    if (this.vlanCount < this.vlanIds.length) this.vlanIds[this.vlanCount++] = d.readUInt16BE(off + VLAN_OFF.TCI) & 0x0fff;
    const type = d.readUInt16BE(off + VLAN_OFF.ETHER_TYPE);
    this.off = off + VLAN_TAG_LEN;
    if (type < ETHERTYPE_MIN) return N.LLC;
    this.etherType = type;
    return N.ETHERTYPE;
  }

  private llc(): number {
    // 802.2 LLC: DSAP, SSAP, control. Recorded so the chain shows where decoding stopped.
    const s = this.short(this.off + 3);
    if (s !== 0) return this.stop(s, LAYER.LLC);
    if (!this.push(LAYER.LLC, this.off)) return this.stop(S_UNSUPPORTED, LAYER.LLC);
    return this.stop(S_UNSUPPORTED, -1);
  }

  private arp(): number {
    const off = this.off;
    let s = this.short(off + 8);
    if (s !== 0) return this.stop(s, LAYER.ARP);
    const d = this.data;
    const len = 8 + 2 * (d.readUInt8(off + 4) + d.readUInt8(off + 5));
    s = this.short(off + len);
    if (s !== 0) return this.stop(s, LAYER.ARP);
    if (!this.push(LAYER.ARP, off)) return this.stop(S_UNSUPPORTED, LAYER.ARP);
    return this.stop(S_OK, -1);
  }

  private cmd(etherTypeAt: number): number {
    const off = this.off;
    const s = this.short(off + CMD_HEADER_LEN);
    if (s !== 0) return this.stop(s, LAYER.CMD);
    if (!this.push(LAYER.CMD, off)) return this.stop(S_UNSUPPORTED, LAYER.CMD);
    this.etherType = this.data.readUInt16BE(off + etherTypeAt);
    this.off = off + CMD_HEADER_LEN;
    return N.ETHERTYPE;
  }

  private sll(): number {
    const off = this.off;
    const s = this.short(off + SLL_HEADER_LEN);
    if (s !== 0) return this.stop(s, LAYER.SLL);
    if (!this.push(LAYER.SLL, off)) return this.stop(S_UNSUPPORTED, LAYER.SLL);
    const proto = this.data.readUInt16BE(off + SLL_OFF.PROTOCOL);
    this.off = off + SLL_HEADER_LEN;
    // Values below 0x0600 name Linux framings (ETH_P_802_2, ETH_P_802_3, CAN, ...).
    if (proto < ETHERTYPE_MIN) return this.stop(S_UNSUPPORTED, -1);
    this.etherType = proto;
    return N.ETHERTYPE;
  }

  private sll2(): number {
    const off = this.off;
    const s = this.short(off + SLL2_HEADER_LEN);
    if (s !== 0) return this.stop(s, LAYER.SLL2);
    if (!this.push(LAYER.SLL2, off)) return this.stop(S_UNSUPPORTED, LAYER.SLL2);
    const proto = this.data.readUInt16BE(off + SLL2_OFF.PROTOCOL);
    this.off = off + SLL2_HEADER_LEN;
    if (proto < ETHERTYPE_MIN) return this.stop(S_UNSUPPORTED, -1);
    this.etherType = proto;
    return N.ETHERTYPE;
  }

  private nullLoop(): number {
    const off = this.off;
    const s = this.short(off + NULL_HEADER_LEN);
    if (s !== 0) return this.stop(s, LAYER.NULL);
    if (!this.push(LAYER.NULL, off)) return this.stop(S_UNSUPPORTED, LAYER.NULL);
    const v = nullIpVersion(this.data, off);
    this.off = off + NULL_HEADER_LEN;
    if (v === 4) return N.IPV4;
    if (v === 6) return N.IPV6;
    return this.stop(S_UNSUPPORTED, -1);
  }

  private ppp(): number {
    const off = this.off;
    let p = off;
    // Address/control 0xff03 is optional (ACFC); the protocol field is 1 octet when odd (PFC,
    // RFC 1661 §6.5). Two octets are needed either way: protocol + at least one payload octet.
    let s = this.short(p + 2);
    if (s !== 0) return this.stop(s, LAYER.PPP);
    const d = this.data;
    if (d.readUInt16BE(p) === PPP_ADDRESS_CONTROL) {
      p += 2;
      s = this.short(p + 2);
      if (s !== 0) return this.stop(s, LAYER.PPP);
    }
    let proto = d.readUInt8(p);
    if ((proto & 1) === 1) p += 1;
    else {
      proto = d.readUInt16BE(p);
      p += 2;
    }
    if (!this.push(LAYER.PPP, off)) return this.stop(S_UNSUPPORTED, LAYER.PPP);
    this.off = p;
    if (proto === PPP_PROTO.IPV4) return N.IPV4;
    if (proto === PPP_PROTO.IPV6) return N.IPV6;
    return this.stop(S_UNSUPPORTED, -1);
  }

  private pppoe(): number {
    const off = this.off;
    const s = this.short(off + PPPOE_HEADER_LEN);
    if (s !== 0) return this.stop(s, LAYER.PPPOE);
    const d = this.data;
    // Version 1, type 1, code 0 (session data), RFC 2516 §4 and §6.
    if (d.readUInt8(off + PPPOE_OFF.VER_TYPE) !== 0x11 || d.readUInt8(off + PPPOE_OFF.CODE) !== 0) return this.stop(S_UNSUPPORTED, -1);
    if (!this.push(LAYER.PPPOE, off)) return this.stop(S_UNSUPPORTED, LAYER.PPPOE);
    const end = off + PPPOE_HEADER_LEN + d.readUInt16BE(off + PPPOE_OFF.LENGTH);
    if (end > this.limit) return this.stop(this.claim(end), LAYER.PPPOE);
    this.limit = end;
    this.off = off + PPPOE_HEADER_LEN;
    return N.PPP;
  }

  // ---- IP --------------------------------------------------------------------------------

  private ipAny(): number {
    const s = this.short(this.off + 1);
    if (s !== 0) return this.stop(s, -1);
    const v = this.data.readUInt8(this.off) >>> 4;
    if (v === 4) return N.IPV4;
    if (v === 6) return N.IPV6;
    return this.stop(S_UNSUPPORTED, -1);
  }

  private ipv4(): number {
    const off = this.off;
    let s = this.short(off + IPV4_MIN_HEADER_LEN);
    if (s !== 0) return this.stop(s, LAYER.IPV4);
    const d = this.data;
    const b0 = d.readUInt8(off);
    if (b0 >>> 4 !== 4) return this.stop(S_MALFORMED, LAYER.IPV4);
    const hl = (b0 & 0x0f) * 4;
    if (hl < IPV4_MIN_HEADER_LEN) return this.stop(S_MALFORMED, LAYER.IPV4);
    s = this.short(off + hl);
    if (s !== 0) return this.stop(s, LAYER.IPV4);
    if (!this.push(LAYER.IPV4, off)) return this.stop(S_UNSUPPORTED, LAYER.IPV4);

    const total = d.readUInt16BE(off + IPV4_OFF.TOTAL_LEN);
    const ff = d.readUInt16BE(off + IPV4_OFF.FLAGS_FRAG);
    const proto = d.readUInt8(off + IPV4_OFF.PROTO);
    this.ipVersion = 4;
    this.ipOffset = off;
    this.ipSrcOffset = off + IPV4_OFF.SRC;
    this.ipDstOffset = off + IPV4_OFF.DST;
    this.ipProto = proto;
    this.isFragment = (ff & (IPV4_FRAG_MASK.MF | IPV4_FRAG_MASK.OFFSET)) !== 0;
    this.ipv6FragOffset = 0;
    this.extCount = 0;
    this.resetL4();

    let end: number;
    if (total === 0) {
      // Captured before segmentation (GSO/TSO, BIG TCP): the length is the rest of the frame.
      end = this.limit;
    } else {
      end = off + total;
      if (total < hl) {
        this.ipPayloadLen = 0;
        return this.stop(S_MALFORMED, LAYER.IPV4);
      }
      if (end > this.limit) {
        this.ipPayloadLen = total - hl;
        if ((ff & IPV4_FRAG_MASK.OFFSET) === 0) this.peekPorts(off + hl);
        return this.stop(this.claim(end), LAYER.IPV4);
      }
    }
    this.ipPayloadLen = end - off - hl;
    this.limit = end;
    this.off = off + hl;
    // A non-first fragment carries no transport header.
    if ((ff & IPV4_FRAG_MASK.OFFSET) !== 0) return this.stop(S_OK, -1);
    this.nextProto = proto;
    return N.IP_PROTO;
  }

  private ah(): number {
    // IP Authentication Header, RFC 4302: skipped; its Next Header names the transport.
    const off = this.off;
    const ipLayer = this.ipVersion === 4 ? LAYER.IPV4 : LAYER.IPV6;
    if (++this.extCount > IPV6_MAX_EXT_HEADERS) return this.stop(S_UNSUPPORTED, ipLayer);
    let s = this.short(off + 2);
    if (s !== 0) return this.stop(s, ipLayer);
    const len = (this.data.readUInt8(off + 1) + 2) * 4;
    s = this.short(off + len);
    if (s !== 0) return this.stop(s, ipLayer);
    this.nextProto = this.data.readUInt8(off);
    this.ipProto = this.nextProto;
    this.off = off + len;
    this.ipPayloadLen = this.limit - this.off;
    return N.IP_PROTO;
  }

  private ipv6(): number {
    const off = this.off;
    const s = this.short(off + IPV6_HEADER_LEN);
    if (s !== 0) return this.stop(s, LAYER.IPV6);
    const d = this.data;
    if (d.readUInt8(off) >>> 4 !== 6) return this.stop(S_MALFORMED, LAYER.IPV6);
    if (!this.push(LAYER.IPV6, off)) return this.stop(S_UNSUPPORTED, LAYER.IPV6);

    const plen = d.readUInt16BE(off + IPV6_OFF.PAYLOAD_LEN);
    const nh = d.readUInt8(off + IPV6_OFF.NEXT_HEADER);
    this.ipVersion = 6;
    this.ipOffset = off;
    this.ipSrcOffset = off + IPV6_OFF.SRC;
    this.ipDstOffset = off + IPV6_OFF.DST;
    this.ipProto = nh;
    this.isFragment = false;
    this.ipv6FragOffset = 0;
    this.extCount = 0;
    this.resetL4();

    if (plen !== 0) {
      const end = off + IPV6_HEADER_LEN + plen;
      if (end > this.limit) {
        this.ipPayloadLen = plen;
        return this.stop(this.claim(end), LAYER.IPV6);
      }
      this.limit = end;
    }
    // plen 0: a Jumbo Payload option sets the length below; without one the packet was
    // captured before segmentation (GSO, BIG TCP) and runs to the end of the frame.
    this.off = off + IPV6_HEADER_LEN;
    this.ipPayloadLen = this.limit - this.off;
    return this.ipv6Ext(nh, plen === 0);
  }

  /** Walks IPv6 extension headers from `this.off`, capped at IPV6_MAX_EXT_HEADERS. */
  private ipv6Ext(firstNh: number, zeroLen: boolean): number {
    const d = this.data;
    let nh = firstNh;
    let p = this.off;
    for (;;) {
      if (nh !== IP_PROTO.HOPOPTS && nh !== IP_PROTO.ROUTING && nh !== IP_PROTO.DSTOPTS && nh !== IP_PROTO.FRAGMENT && nh !== IP_PROTO.AH) break;
      if (++this.extCount > IPV6_MAX_EXT_HEADERS) {
        this.off = p;
        return this.stop(S_UNSUPPORTED, LAYER.IPV6);
      }
      let s = this.short(p + 2);
      if (s !== 0) return this.stop(s, LAYER.IPV6);
      let len: number;
      if (nh === IP_PROTO.FRAGMENT) len = IPV6_FRAGMENT_HEADER_LEN;
      else if (nh === IP_PROTO.AH) len = (d.readUInt8(p + 1) + 2) * 4;
      else len = (d.readUInt8(p + 1) + 1) * 8;
      s = this.short(p + len);
      if (s !== 0) return this.stop(s, LAYER.IPV6);
      const cur = nh;
      nh = d.readUInt8(p + IPV6_EXT_OFF.NEXT_HEADER);
      if (cur === IP_PROTO.HOPOPTS && zeroLen && p === this.ipOffset + IPV6_HEADER_LEN) {
        const jumbo = ipv6FindJumbo(d, p + 2, p + len);
        if (jumbo >= 0) {
          const end = this.ipOffset + IPV6_HEADER_LEN + jumbo;
          // A jumbo length that does not even cover this header contradicts itself.
          if (end < p + len) return this.stop(S_MALFORMED, LAYER.IPV6);
          if (end > this.limit) {
            this.ipProto = nh;
            this.ipPayloadLen = jumbo - len;
            return this.stop(this.claim(end), LAYER.IPV6);
          }
          this.limit = end;
        }
      }
      p += len;
      if (cur === IP_PROTO.FRAGMENT) {
        // Payload length 0 says "jumbogram or unsegmented super-packet", neither of which is
        // ever fragmented (RFC 2675 §3): the length of this fragment is unknown.
        if (zeroLen) {
          this.off = p - len;
          return this.stop(S_MALFORMED, LAYER.IPV6);
        }
        const fo = d.readUInt16BE(p - len + IPV6_EXT_OFF.FRAG_OFFSET_M);
        const fragOffset = fo >>> 3;
        // A second Fragment header is not RFC 8200's (§4.1: each header at most once): the packet
        // is a fragment if either says so, and ipv6FragOffset keeps the first, which a
        // defragmenter undoes first.
        if (fragOffset !== 0 || (fo & 1) !== 0) this.isFragment = true;
        if (this.ipv6FragOffset === 0) this.ipv6FragOffset = p - len;
        if (fragOffset !== 0) {
          this.off = p;
          this.ipProto = nh;
          this.ipPayloadLen = this.limit - p;
          return this.stop(S_OK, -1);
        }
      }
    }
    this.off = p;
    this.ipProto = nh;
    this.ipPayloadLen = this.limit - p;
    if (nh === IP_PROTO.NONE) return this.stop(S_OK, -1);
    this.nextProto = nh;
    return N.IP_PROTO;
  }

  private dispatchIpProto(): number {
    const proto = this.nextProto;
    switch (proto) {
      case IP_PROTO.TCP:
        return N.TCP;
      case IP_PROTO.UDP:
        return N.UDP;
      case IP_PROTO.ICMP:
        return N.ICMP;
      case IP_PROTO.ICMPV6:
        return N.ICMPV6;
    }
    // The rest of a fragmented datagram needs reassembly: stop after the transport header.
    if (this.isFragment) return this.stop(S_OK, -1);
    switch (proto) {
      case IP_PROTO.AH:
        return N.AH;
      case IP_PROTO.IPIP:
        return N.IPV4;
      case IP_PROTO.IPV6:
        return N.IPV6;
      case IP_PROTO.GRE:
        return N.GRE;
      default:
        return this.stop(S_UNSUPPORTED, -1);
    }
  }

  // ---- transport -------------------------------------------------------------------------

  /** Reads the ports of a TCP/UDP header at `at` when its first 4 bytes were captured (decoding stopped before it). */
  private peekPorts(at: number): void {
    if ((this.ipProto !== IP_PROTO.TCP && this.ipProto !== IP_PROTO.UDP) || at + 4 > this.data.length) return;
    this.sport = this.data.readUInt16BE(at);
    this.dport = this.data.readUInt16BE(at + 2);
    this.portsValid = true;
  }

  /**
   * Status for a transport header that does not fit: in a first fragment the rest of the
   * header is in the next fragment, which is not an error (OK, no transport decoded).
   */
  private l4Short(s: number, layer: number): number {
    if (s === S_MALFORMED && this.isFragment) return this.stop(S_OK, -1);
    return this.stop(s, layer);
  }

  private tcp(): number {
    const off = this.off;
    let s = this.short(off + TCP_MIN_HEADER_LEN);
    if (s !== 0) {
      this.peekPorts(off);
      return this.l4Short(s, LAYER.TCP);
    }
    const d = this.data;
    const b12 = d.readUInt8(off + TCP_OFF.DOFF);
    const hl = (b12 >>> 4) * 4;
    // Data offset < 5 words, or past the end of the segment: malformed (never truncated).
    if (hl < TCP_MIN_HEADER_LEN || off + hl > this.limit) this.peekPorts(off);
    if (hl < TCP_MIN_HEADER_LEN) return this.stop(S_MALFORMED, LAYER.TCP);
    if (off + hl > this.limit) return this.l4Short(S_MALFORMED, LAYER.TCP);
    s = this.short(off + hl);
    if (s !== 0) {
      this.peekPorts(off);
      return this.stop(s, LAYER.TCP);
    }
    if (!this.push(LAYER.TCP, off)) return this.stop(S_UNSUPPORTED, LAYER.TCP);
    this.l4Proto = IP_PROTO.TCP;
    this.portsValid = true;
    this.l4Offset = off;
    this.sport = d.readUInt16BE(off + TCP_OFF.SPORT);
    this.dport = d.readUInt16BE(off + TCP_OFF.DPORT);
    this.seq = d.readUInt32BE(off + TCP_OFF.SEQ);
    this.ack = d.readUInt32BE(off + TCP_OFF.ACK);
    this.tcpFlags = d.readUInt8(off + TCP_OFF.FLAGS) | ((b12 & 1) << 8);
    this.tcpWindow = d.readUInt16BE(off + TCP_OFF.WINDOW);
    // RFC 7323 §2.2: the option is only meaningful on SYN segments.
    if ((this.tcpFlags & 0x02) !== 0 && hl > TCP_MIN_HEADER_LEN) {
      const w = findTcpOption(d, off, hl, TCP_OPT.WSCALE);
      if (w >= 0 && d.readUInt8(w + 1) === 3) this.tcpWscale = d.readUInt8(w + 2);
    }
    this.payloadOffset = off + hl;
    this.payloadLen = this.limit - off - hl;
    return this.stop(S_OK, -1);
  }

  private udp(): number {
    const off = this.off;
    const s = this.short(off + UDP_HEADER_LEN);
    if (s !== 0) {
      this.peekPorts(off);
      return this.l4Short(s, LAYER.UDP);
    }
    if (!this.push(LAYER.UDP, off)) return this.stop(S_UNSUPPORTED, LAYER.UDP);
    const d = this.data;
    const sport = d.readUInt16BE(off + UDP_OFF.SPORT);
    const dport = d.readUInt16BE(off + UDP_OFF.DPORT);
    let len = d.readUInt16BE(off + UDP_OFF.LENGTH);
    this.l4Proto = IP_PROTO.UDP;
    this.portsValid = true;
    this.l4Offset = off;
    this.sport = sport;
    this.dport = dport;
    this.payloadOffset = off + UDP_HEADER_LEN;
    if (len !== 0 && len < UDP_HEADER_LEN) return this.stop(S_MALFORMED, LAYER.UDP);
    if (this.isFragment) {
      // The UDP length covers the whole datagram, not this fragment.
      this.payloadLen = len === 0 ? this.limit - off - UDP_HEADER_LEN : len - UDP_HEADER_LEN;
      return this.stop(S_OK, -1);
    }
    // Length 0: IPv6 jumbogram (RFC 2675 §4) or a UDP GSO super-packet; use the IP payload.
    if (len === 0) len = this.limit - off;
    this.payloadLen = len - UDP_HEADER_LEN;
    const end = off + len;
    if (end > this.limit) return this.stop(this.claim(end), LAYER.UDP);
    this.limit = end;
    this.off = off + UDP_HEADER_LEN;
    const kind = this.portKind[dport];
    if (kind === PORT_VXLAN) return N.VXLAN;
    if (kind === PORT_GENEVE) return N.GENEVE;
    if (sport === TEREDO_PORT || dport === TEREDO_PORT) return N.TEREDO;
    return this.stop(S_OK, -1);
  }

  private icmp(layer: number, proto: number): number {
    const off = this.off;
    const s = this.short(off + ICMP_HEADER_LEN);
    if (s !== 0) return this.l4Short(s, layer);
    if (!this.push(layer, off)) return this.stop(S_UNSUPPORTED, layer);
    const d = this.data;
    this.l4Proto = proto;
    this.l4Offset = off;
    this.icmpType = d.readUInt8(off + ICMP_OFF.TYPE);
    this.icmpCode = d.readUInt8(off + ICMP_OFF.CODE);
    this.payloadOffset = off + ICMP_HEADER_LEN;
    this.payloadLen = this.limit - off - ICMP_HEADER_LEN;
    // Errors quote an IP header; it is not decoded (it would replace the real addresses).
    return this.stop(S_OK, -1);
  }

  // ---- tunnels ---------------------------------------------------------------------------

  private vxlan(): number {
    const off = this.off;
    const s = this.short(off + VXLAN_HEADER_LEN);
    if (s !== 0) return this.stop(s, LAYER.VXLAN);
    if (!this.push(LAYER.VXLAN, off)) return this.stop(S_UNSUPPORTED, LAYER.VXLAN);
    const d = this.data;
    const iFlag = (d.readUInt8(off + VXLAN_OFF.FLAGS) & VXLAN_FLAG_I) !== 0; // I flag, RFC 7348 §5
    const vni = d.readUInt32BE(off + VXLAN_OFF.VNI) >>> 8;
    if (!this.pushTunnel(LAYER.VXLAN, vni, iFlag, 0, off + VXLAN_HEADER_LEN)) return this.stop(S_UNSUPPORTED, LAYER.VXLAN);
    this.off = off + VXLAN_HEADER_LEN;
    return N.ETH;
  }

  private geneve(): number {
    const off = this.off;
    let s = this.short(off + GENEVE_HEADER_LEN);
    if (s !== 0) return this.stop(s, LAYER.GENEVE);
    const d = this.data;
    const b0 = d.readUInt8(off);
    if (b0 >>> 6 !== 0) return this.stop(S_UNSUPPORTED, -1); // only version 0 is defined (RFC 8926 §3.4)
    const hl = GENEVE_HEADER_LEN + (b0 & 0x3f) * 4;
    s = this.short(off + hl);
    if (s !== 0) return this.stop(s, LAYER.GENEVE);
    if (!this.push(LAYER.GENEVE, off)) return this.stop(S_UNSUPPORTED, LAYER.GENEVE);
    if (!this.pushTunnel(LAYER.GENEVE, d.readUInt32BE(off + GENEVE_OFF.VNI) >>> 8, true, 0, off + hl)) return this.stop(S_UNSUPPORTED, LAYER.GENEVE);
    this.etherType = d.readUInt16BE(off + GENEVE_OFF.PROTOCOL);
    this.off = off + hl;
    this.vlanDepth = 0;
    return N.ETHERTYPE;
  }

  private teredo(): number {
    const off = this.off;
    const readable = (this.capLen < this.limit ? this.capLen : this.limit) - off;
    const n = teredoIndicatorsLen(this.data, off, readable);
    // Only claim Teredo when a whole IPv6 header follows and its length matches the UDP
    // payload exactly; anything else on port 3544 stays plain UDP.
    if (n < 0) return this.stop(S_OK, -1);
    const p = off + n;
    if (p + IPV6_HEADER_LEN > off + readable) return this.stop(S_OK, -1);
    const d = this.data;
    if (d.readUInt8(p) >>> 4 !== 6 || p + IPV6_HEADER_LEN + d.readUInt16BE(p + IPV6_OFF.PAYLOAD_LEN) !== this.limit) return this.stop(S_OK, -1);
    if (!this.push(LAYER.TEREDO, off)) return this.stop(S_UNSUPPORTED, LAYER.TEREDO);
    if (!this.pushTunnel(LAYER.TEREDO, 0, false, 0, p)) return this.stop(S_UNSUPPORTED, LAYER.TEREDO);
    this.off = p;
    return N.IPV6;
  }

  private gre(): number {
    const off = this.off;
    let s = this.short(off + GRE_BASE_HEADER_LEN);
    if (s !== 0) return this.stop(s, LAYER.GRE);
    const d = this.data;
    const fv = d.readUInt16BE(off + GRE_OFF.FLAGS_VER);
    const version = fv & GRE_FLAG.VERSION_MASK;
    const proto = d.readUInt16BE(off + GRE_OFF.PROTOCOL);
    if (version > 1) return this.stop(S_UNSUPPORTED, -1);
    let hl = greFixedHeaderLen(fv);
    s = this.short(off + hl);
    if (s !== 0) return this.stop(s, LAYER.GRE);
    // PPTP's enhanced GRE always carries the key (payload length + call id), RFC 2637 §4.1.
    if (version === 1 && (fv & GRE_FLAG.KEY) === 0) return this.stop(S_MALFORMED, LAYER.GRE);
    const hasCsum = version === 0 ? (fv & (GRE_FLAG.CHECKSUM | GRE_FLAG.ROUTING)) !== 0 : (fv & GRE_FLAG.CHECKSUM) !== 0;
    const keyOff = off + GRE_BASE_HEADER_LEN + (hasCsum ? 4 : 0);
    if (version === 0 && (fv & GRE_FLAG.ROUTING) !== 0) {
      // RFC 1701 source route entries, terminated by a null SRE.
      const readableEnd = this.capLen < this.limit ? this.capLen : this.limit;
      const r = greRoutingLen(d, off + hl, readableEnd - off - hl);
      if (r < 0) return this.stop(readableEnd < this.limit ? S_TRUNCATED : S_MALFORMED, LAYER.GRE);
      hl += r;
    }
    if (!this.push(LAYER.GRE, off)) return this.stop(S_UNSUPPORTED, LAYER.GRE);
    const hasKey = (fv & GRE_FLAG.KEY) !== 0;
    let id = 0;
    if (hasKey) id = version === 1 ? d.readUInt16BE(keyOff + 2) : d.readUInt32BE(keyOff);
    if (!this.pushTunnel(LAYER.GRE, id, hasKey, version, off + hl)) return this.stop(S_UNSUPPORTED, LAYER.GRE);
    this.off = off + hl;
    this.vlanDepth = 0;

    if (version === 1) {
      const end = this.off + d.readUInt16BE(keyOff);
      if (end > this.limit) return this.stop(this.claim(end), LAYER.GRE);
      this.limit = end;
      if (end === this.off) return this.stop(S_OK, -1); // acknowledgment only
      if (proto !== ETHERTYPE.PPP) return this.stop(S_UNSUPPORTED, -1);
      return N.PPP;
    }
    switch (proto) {
      case ETHERTYPE.ERSPAN_II:
        // Type I has no GRE sequence number and no ERSPAN header.
        return (fv & GRE_FLAG.SEQ) !== 0 ? N.ERSPAN_II : N.ERSPAN_I;
      case ETHERTYPE.ERSPAN_III:
        return N.ERSPAN_III;
      case ETHERTYPE.WCCP:
        return N.WCCP;
      case ETHERTYPE.CISCO_METADATA:
        return N.CMD_GRE;
      default:
        this.etherType = proto;
        return N.ETHERTYPE;
    }
  }

  private erspan1(): number {
    const off = this.off;
    if (!this.push(LAYER.ERSPAN, off)) return this.stop(S_UNSUPPORTED, LAYER.ERSPAN);
    if (!this.pushTunnel(LAYER.ERSPAN, 0, false, 1, this.off)) return this.stop(S_UNSUPPORTED, LAYER.ERSPAN);
    return N.ETH;
  }

  private erspan2(): number {
    const off = this.off;
    const s = this.short(off + ERSPAN_II_HEADER_LEN);
    if (s !== 0) return this.stop(s, LAYER.ERSPAN);
    const d = this.data;
    if (d.readUInt8(off) >>> 4 !== ERSPAN_VERSION.II) return this.stop(S_UNSUPPORTED, -1);
    if (!this.push(LAYER.ERSPAN, off)) return this.stop(S_UNSUPPORTED, LAYER.ERSPAN);
    const session = d.readUInt16BE(off + ERSPAN_OFF.COS_SESSION) & ERSPAN_SESSION_MASK;
    if (!this.pushTunnel(LAYER.ERSPAN, session, true, 2, off + ERSPAN_II_HEADER_LEN)) return this.stop(S_UNSUPPORTED, LAYER.ERSPAN);
    this.off = off + ERSPAN_II_HEADER_LEN;
    return N.ETH;
  }

  private erspan3(): number {
    const off = this.off;
    let s = this.short(off + ERSPAN_III_HEADER_LEN);
    if (s !== 0) return this.stop(s, LAYER.ERSPAN);
    const d = this.data;
    if (d.readUInt8(off) >>> 4 !== ERSPAN_VERSION.III) return this.stop(S_UNSUPPORTED, -1);
    const flags = d.readUInt16BE(off + ERSPAN_OFF.III_FLAGS);
    const hl = ERSPAN_III_HEADER_LEN + ((flags & ERSPAN_III_FLAG_O) !== 0 ? ERSPAN_III_PLATFORM_LEN : 0);
    s = this.short(off + hl);
    if (s !== 0) return this.stop(s, LAYER.ERSPAN);
    if (!this.push(LAYER.ERSPAN, off)) return this.stop(S_UNSUPPORTED, LAYER.ERSPAN);
    const session = d.readUInt16BE(off + ERSPAN_OFF.COS_SESSION) & ERSPAN_SESSION_MASK;
    if (!this.pushTunnel(LAYER.ERSPAN, session, true, 3, off + hl)) return this.stop(S_UNSUPPORTED, LAYER.ERSPAN);
    this.off = off + hl;
    if (((flags >>> 10) & 0x1f) !== ERSPAN_FT.ETHERNET) return this.stop(S_UNSUPPORTED, -1);
    return N.ETH;
  }

  private wccp(): number {
    // WCCPv1 puts the IPv4 packet right after GRE; WCCPv2 adds a 4-byte redirect header.
    const off = this.off;
    let s = this.short(off + 1);
    if (s !== 0) return this.stop(s, LAYER.WCCP);
    if (this.data.readUInt8(off) >>> 4 === 4) return N.IPV4;
    s = this.short(off + 4);
    if (s !== 0) return this.stop(s, LAYER.WCCP);
    if (!this.push(LAYER.WCCP, off)) return this.stop(S_UNSUPPORTED, LAYER.WCCP);
    this.off = off + 4;
    return N.IPV4;
  }
}
