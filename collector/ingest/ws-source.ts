/**
 * Mirror sources for the WebSocket ingest: one per (agent, captured interface, pod). The
 * source becomes one pcapng interface (IDB) named after the agent's interface and
 * described with the pod it mirrors:
 *
 *   if_name        "node-1/veth1a2b"
 *   if_description "pod default/web-0 10.77.60.2 on veth1a2b, agent node-1 (node node-1) over ws"
 *
 * `--split-by pod` keys on the pod (namespace/name, else its IP, else agent/interface);
 * `--split-by source` on the agent.
 *
 * The sources go into the collector's SourceTable (its indexes must stay dense and shared
 * with the other ingests), under the same cap.
 */
import type { WireInterface } from '../../proto/envelope.js';
import type { Source, SourceKind, SourceTable } from './source.js';

/** Source kind of the WebSocket ingest (after SOURCE_KIND's VXLAN 1, GRE 2, ERSPAN 3). */
export const SOURCE_KIND_WS = 4 as SourceKind;

/** Builds and registers ws sources, one per distinct (agent, interface, pod). */
export class WsSourceTable {
  private readonly table: SourceTable;
  private readonly byKey = new Map<string, Source>();

  constructor(table: SourceTable) {
    this.table = table;
  }

  /** The source for an interface an agent described; undefined when the table is full. */
  source(agent: string, node: string, w: WireInterface): Source | undefined {
    const key = `${agent}\u0000${w.name}\u0000${w.podIp}\u0000${w.podNamespace}\u0000${w.podName}`;
    const s = this.byKey.get(key);
    if (s !== undefined) return s;
    const t = this.table;
    if (t.all.length >= t.maxSources) return undefined;
    const pod = w.podName !== '' ? `${w.podNamespace === '' ? '' : `${w.podNamespace}/`}${w.podName}` : '';
    const podText = pod !== '' ? `pod ${pod}${w.podIp === '' ? '' : ` ${w.podIp}`} on ${w.name}` : w.podIp !== '' ? `pod ${w.podIp} on ${w.name}` : w.name;
    const created: Source = {
      index: t.all.length,
      kind: SOURCE_KIND_WS,
      id: w.id,
      hasId: true,
      version: 0,
      address: agent,
      name: `${agent}/${w.name}`,
      description: `${podText}, agent ${agent}${node === '' || node === agent ? '' : ` (node ${node})`} over ws`,
      podKey: pod !== '' ? `pod-${pod}` : w.podIp !== '' ? `pod-${w.podIp}` : `ws-${agent}-${w.name}`,
      sourceKey: `ws-${agent}`,
      frames: 0,
    };
    t.all.push(created);
    t.onNew?.(created);
    this.byKey.set(key, created);
    return created;
  }
}
