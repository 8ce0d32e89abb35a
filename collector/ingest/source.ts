/**
 * Mirror sources: one per (tunnel type, id, sender). A source becomes one pcapng interface
 * (IDB) in every file its frames go to, named and described from these fields, e.g.
 * if_name "vxlan-vni42-10.0.0.5", if_description "vxlan vni 42 from 10.0.0.5".
 *
 * Sources are created on the first frame and kept for the collector's lifetime; the table
 * is capped (hostile peers spraying VNIs or spoofed addresses must not grow memory): past
 * the cap, frames of new sources are dropped and counted `too_many_sources` by the ingest.
 */

/** Tunnel types a source can use. */
export const SOURCE_KIND = {
  VXLAN: 1,
  /** GRE transparent Ethernet bridging (protocol type 0x6558). */
  GRE: 2,
  /** ERSPAN types I, II, III (GRE protocol types 0x88be, 0x22eb). */
  ERSPAN: 3,
} as const;
export type SourceKind = (typeof SOURCE_KIND)[keyof typeof SOURCE_KIND];

export const DEFAULT_MAX_SOURCES = 4096;

/** One mirror source. Fixed at creation except the counters. */
export interface Source {
  /** 0-based, dense: usable as an array index. */
  readonly index: number;
  readonly kind: SourceKind;
  /** VNI, GRE key or ERSPAN session id; 0 when `hasId` is false. */
  readonly id: number;
  /** False for GRE without a key and ERSPAN type I. */
  readonly hasId: boolean;
  /** ERSPAN type (1, 2, 3); 0 for VXLAN and GRE. */
  readonly version: number;
  /** Sender address as text (IPv4 dotted quad, or IPv6 for a VXLAN listener on ::). */
  readonly address: string;
  /** if_name: "vxlan-vni42-10.0.0.5", "gre-key7-10.0.0.5", "erspan2-session100-10.0.0.5". */
  readonly name: string;
  /** if_description: "vxlan vni 42 from 10.0.0.5". */
  readonly description: string;
  /** Split key for --split-by pod: the tunnel and its id, "vxlan-vni42" (the mirrored pod's tunnel). */
  readonly podKey: string;
  /** Split key for --split-by source: the sender address. */
  readonly sourceKey: string;
  /** Frames the ingest delivered from this source. */
  frames: number;
}

function idPart(kind: SourceKind, id: number, hasId: boolean, version: number): { name: string; text: string } {
  switch (kind) {
    case SOURCE_KIND.VXLAN:
      return { name: `vxlan-vni${id}`, text: `vxlan vni ${id}` };
    case SOURCE_KIND.GRE:
      return hasId ? { name: `gre-key${id}`, text: `gre (transparent ethernet bridging) key ${id}` } : { name: 'gre-nokey', text: 'gre (transparent ethernet bridging) without key' };
    default:
      return hasId ? { name: `erspan${version}-session${id}`, text: `erspan type ${version === 1 ? 'I' : version === 2 ? 'II' : 'III'} session ${id}` } : { name: `erspan${version}`, text: `erspan type I` };
  }
}

/**
 * Sources by sender and tunnel id. Lookups on the hot path do not allocate once the
 * source exists (VXLAN senders are keyed by the address string node:dgram already made;
 * GRE senders by the 32-bit address number).
 */
export class SourceTable {
  readonly maxSources: number;
  readonly all: Source[] = [];
  private readonly vxlan = new Map<string, Map<number, Source>>();
  private readonly gre = new Map<number, Map<number, Source>>();
  /** Called when a source is created (e.g. to update the metrics' source count). */
  onNew: ((s: Source) => void) | undefined = undefined;

  constructor(maxSources: number = DEFAULT_MAX_SOURCES) {
    this.maxSources = maxSources;
  }

  /** The VXLAN source for (sender, VNI), created on first use; undefined when the table is full. */
  vxlanSource(address: string, vni: number): Source | undefined {
    let byId = this.vxlan.get(address);
    const s = byId?.get(vni);
    if (s !== undefined) return s;
    if (this.all.length >= this.maxSources) return undefined;
    if (byId === undefined) {
      byId = new Map();
      this.vxlan.set(address, byId);
    }
    const created = this.create(SOURCE_KIND.VXLAN, vni, true, 0, address);
    byId.set(vni, created);
    return created;
  }

  /**
   * The GRE/ERSPAN source for (sender as a host-order uint32, kind, id), created on first
   * use; undefined when the table is full.
   */
  greSource(addr: number, kind: SourceKind, id: number, hasId: boolean, version: number): Source | undefined {
    let byId = this.gre.get(addr);
    // kind (2 bits) · version (2 bits) · hasId (1 bit) · id (32 bits): exact below 2^53.
    const code = ((kind * 4 + version) * 2 + (hasId ? 1 : 0)) * 0x100000000 + (id >>> 0);
    const s = byId?.get(code);
    if (s !== undefined) return s;
    if (this.all.length >= this.maxSources) return undefined;
    if (byId === undefined) {
      byId = new Map();
      this.gre.set(addr, byId);
    }
    const address = `${addr >>> 24}.${(addr >>> 16) & 0xff}.${(addr >>> 8) & 0xff}.${addr & 0xff}`;
    const created = this.create(kind, id, hasId, version, address);
    byId.set(code, created);
    return created;
  }

  private create(kind: SourceKind, id: number, hasId: boolean, version: number, address: string): Source {
    const p = idPart(kind, id, hasId, version);
    const s: Source = {
      index: this.all.length,
      kind,
      id: hasId ? id : 0,
      hasId,
      version,
      address,
      name: `${p.name}-${address}`,
      description: `${p.text} from ${address}`,
      podKey: p.name,
      sourceKey: address,
      frames: 0,
    };
    this.all.push(s);
    this.onNew?.(s);
    return s;
  }
}
