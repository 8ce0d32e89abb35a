/**
 * Test helper: read any recorded layer's header into its plain object with the wire views,
 * and write it back with the matching emitter. Used by the golden-frame generator and tests.
 */
import { LAYER } from '../../../packet/decode/layers.js';
import { ArpView, emitArp, type ArpHeader } from '../../../packet/wire/arp.js';
import { CiscoMetadataView, emitCiscoMetadata, type CiscoMetadataHeader } from '../../../packet/wire/cisco-metadata.js';
import { emitErspan2, emitErspan3, ErspanView, type Erspan2Header, type Erspan3Header } from '../../../packet/wire/erspan.js';
import { emitEthernet, EthernetView, type EthernetHeader } from '../../../packet/wire/ethernet.js';
import { emitGeneve, GeneveView, type GeneveHeader } from '../../../packet/wire/geneve.js';
import { emitGre, GreView, type GreHeader } from '../../../packet/wire/gre.js';
import { emitIcmp, IcmpView, type IcmpHeader } from '../../../packet/wire/icmp.js';
import { emitIcmpv6 } from '../../../packet/wire/icmpv6.js';
import { emitIpv4, Ipv4View, type Ipv4Header } from '../../../packet/wire/ipv4.js';
import { emitIpv6, Ipv6View, type Ipv6Header } from '../../../packet/wire/ipv6.js';
import { emitNull, nullFamilyIpVersion, type NullHeader } from '../../../packet/wire/null.js';
import { emitPpp, PppView, type PppHeader } from '../../../packet/wire/ppp.js';
import { emitPppoe, PppoeView, type PppoeHeader } from '../../../packet/wire/pppoe.js';
import { emitSll, SllView, type SllHeader } from '../../../packet/wire/sll.js';
import { emitSll2, Sll2View, type Sll2Header } from '../../../packet/wire/sll2.js';
import { emitTcp, TcpView, type TcpHeader } from '../../../packet/wire/tcp.js';
import { emitTeredo, readTeredo, teredoIndicatorsLen, type TeredoHeader } from '../../../packet/wire/teredo.js';
import { emitUdp, UdpView, type UdpHeader } from '../../../packet/wire/udp.js';
import { emitVlan, VlanView, type VlanHeader } from '../../../packet/wire/vlan.js';
import { emitVxlan, VxlanView, type VxlanHeader } from '../../../packet/wire/vxlan.js';

export type AnyHeader = object;

/** Reads the header of `layer` at `off` (`end` bounds variable parts such as Teredo indicators). */
export function readLayer(layer: number, buf: Buffer, off: number, end: number): AnyHeader {
  switch (layer) {
    case LAYER.ETH:
      return new EthernetView().bind(buf, off).toHeader();
    case LAYER.VLAN:
      return new VlanView().bind(buf, off).toHeader();
    case LAYER.SLL:
      return new SllView().bind(buf, off).toHeader();
    case LAYER.SLL2:
      return new Sll2View().bind(buf, off).toHeader();
    case LAYER.NULL: {
      const le = nullFamilyIpVersion(buf.readUInt32LE(off)) !== 0;
      return { family: le ? buf.readUInt32LE(off) : buf.readUInt32BE(off), littleEndian: le } satisfies NullHeader;
    }
    case LAYER.PPP:
      return new PppView().read(buf, off, end - off).toHeader();
    case LAYER.PPPOE:
      return new PppoeView().bind(buf, off).toHeader();
    case LAYER.ARP:
      return new ArpView().bind(buf, off).toHeader();
    case LAYER.CMD:
      return new CiscoMetadataView().bind(buf, off).toHeader();
    case LAYER.IPV4:
      return new Ipv4View().bind(buf, off).toHeader();
    case LAYER.IPV6:
      return new Ipv6View().bind(buf, off).toHeader();
    case LAYER.TCP:
      return new TcpView().bind(buf, off).toHeader();
    case LAYER.UDP:
      return new UdpView().bind(buf, off).toHeader();
    case LAYER.ICMP:
    case LAYER.ICMPV6:
      return new IcmpView().bind(buf, off).toHeader();
    case LAYER.VXLAN:
      return new VxlanView().bind(buf, off).toHeader();
    case LAYER.GRE:
      return new GreView().bind(buf, off).toHeader();
    case LAYER.GENEVE:
      return new GeneveView().bind(buf, off).toHeader();
    case LAYER.TEREDO:
      return readTeredo(buf, off, teredoIndicatorsLen(buf, off, end - off));
    case LAYER.ERSPAN: {
      if (end - off < 8) return {};
      const v = new ErspanView().bind(buf, off);
      // Type I has no header: the Ethernet frame starts here (its first nibble is a MAC's).
      if (v.version === 1) return v.toHeader2();
      if (v.version === 2) return v.toHeader3();
      return {};
    }
    default:
      throw new Error(`no reader for layer ${layer}`);
  }
}

/** Writes `h` as `layer` at `off`; returns the offset after it. ERSPAN type I writes nothing. */
export function emitLayer(layer: number, h: AnyHeader, buf: Buffer, off: number): number {
  switch (layer) {
    case LAYER.ETH:
      return emitEthernet(h as EthernetHeader, buf, off);
    case LAYER.VLAN:
      return emitVlan(h as VlanHeader, buf, off);
    case LAYER.SLL:
      return emitSll(h as SllHeader, buf, off);
    case LAYER.SLL2:
      return emitSll2(h as Sll2Header, buf, off);
    case LAYER.NULL:
      return emitNull(h as NullHeader, buf, off);
    case LAYER.PPP:
      return emitPpp(h as PppHeader, buf, off);
    case LAYER.PPPOE:
      return emitPppoe(h as PppoeHeader, buf, off);
    case LAYER.ARP:
      return emitArp(h as ArpHeader, buf, off);
    case LAYER.CMD:
      return emitCiscoMetadata(h as CiscoMetadataHeader, buf, off);
    case LAYER.IPV4:
      return emitIpv4(h as Ipv4Header, buf, off);
    case LAYER.IPV6:
      return emitIpv6(h as Ipv6Header, buf, off);
    case LAYER.TCP:
      return emitTcp(h as TcpHeader, buf, off);
    case LAYER.UDP:
      return emitUdp(h as UdpHeader, buf, off);
    case LAYER.ICMP:
      return emitIcmp(h as IcmpHeader, buf, off);
    case LAYER.ICMPV6:
      return emitIcmpv6(h as IcmpHeader, buf, off);
    case LAYER.VXLAN:
      return emitVxlan(h as VxlanHeader, buf, off);
    case LAYER.GRE:
      return emitGre(h as GreHeader, buf, off);
    case LAYER.GENEVE:
      return emitGeneve(h as GeneveHeader, buf, off);
    case LAYER.TEREDO:
      return emitTeredo(h as TeredoHeader, buf, off);
    case LAYER.ERSPAN: {
      const e = h as Partial<Erspan2Header & Erspan3Header>;
      if (e.version === 1) return emitErspan2(h as Erspan2Header, buf, off);
      if (e.version === 2) return emitErspan3(h as Erspan3Header, buf, off);
      return off;
    }
    default:
      throw new Error(`no emitter for layer ${layer}`);
  }
}
