import { DECODE_STATUS, DECODE_STATUS_NAMES } from '../packet/decode/status.js';
import { LAYER, LAYER_NAMES } from '../packet/decode/layers.js';
import type { Parser } from '../packet/decode/parser.js';
import type { PacketRecord } from '../packet/capfile/types.js';
import { formatIPv4, formatIPv6, tcpFlagsString } from '../packet/wire/ip-addr.js';

const IPPROTO_NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6', 47: 'gre', 132: 'sctp' };
const LAYER_JSON = LAYER_NAMES.map((n) => JSON.stringify(n));
const STATUS_JSON = DECODE_STATUS_NAMES.map((n) => JSON.stringify(n));

/** Seconds with nine decimals, as a string: exact, never through a float. */
export function formatTs(rec: PacketRecord): string {
  // A nanosecond pcap may claim ts_nsec >= 1e9; show the raw value rather than carry it into seconds.
  const ns = rec.tsNsec < 1e9 ? String(rec.tsNsec).padStart(9, '0') : String(rec.tsNsec);
  return `${rec.tsSec}.${ns}`;
}

function src(p: Parser): string {
  return p.ipVersion === 4 ? formatIPv4(p.data, p.ipSrcOffset) : formatIPv6(p.data, p.ipSrcOffset);
}
function dst(p: Parser): string {
  return p.ipVersion === 4 ? formatIPv4(p.data, p.ipDstOffset) : formatIPv6(p.data, p.ipDstOffset);
}

function hasPorts(p: Parser): boolean {
  return p.portsValid;
}

function tunnelJson(p: Parser): string {
  if (p.tunnelCount === 0) return '[]';
  const parts: string[] = [];
  for (let i = 0; i < p.tunnelCount; i++) {
    const t = p.tunnels[i]!;
    const type = LAYER_NAMES[t.type] ?? String(t.type);
    let s = `{"type":"${type}"`;
    if (t.type === LAYER.VXLAN || t.type === LAYER.GENEVE) s += `,"vni":${t.id}`;
    else if (t.type === LAYER.GRE) {
      if (t.hasId) s += `,"key":${t.id}`;
      s += `,"version":${t.version}`;
    } else if (t.type === LAYER.ERSPAN) {
      if (t.hasId) s += `,"session":${t.id}`;
      s += `,"version":${t.version}`;
    }
    parts.push(s + '}');
  }
  return '[' + parts.join(',') + ']';
}

/** One JSON object (as a string) for `podspan read --json`; fields per ARCHITECTURE.md. */
export function formatJson(rec: PacketRecord, p: Parser): string {
  let layers = '';
  for (let i = 0; i < p.layerCount; i++) layers += (i ? ',' : '') + LAYER_JSON[p.layers[i]!];
  let s = `{"n":${rec.n},"ts":"${formatTs(rec)}","caplen":${rec.capLen},"len":${rec.wireLen},"layers":[${layers}]`;
  if (p.ipVersion !== 0) {
    const proto = IPPROTO_NAMES[p.ipProto];
    s += `,"src":"${src(p)}","dst":"${dst(p)}","proto":${proto ? `"${proto}"` : p.ipProto}`;
  } else {
    s += ',"src":null,"dst":null,"proto":null';
  }
  if (p.ipVersion !== 0 && hasPorts(p)) s += `,"sport":${p.sport},"dport":${p.dport}`;
  else s += ',"sport":null,"dport":null';
  if (p.ipVersion !== 0 && p.l4Proto === 6) {
    s += `,"tcpFlags":"${tcpFlagsString(p.tcpFlags)}","seq":${p.seq},"ack":${p.ack}`;
  } else {
    s += ',"tcpFlags":null,"seq":null,"ack":null';
  }
  s += `,"payloadLen":${p.ipVersion !== 0 && p.l4Proto !== 0 ? p.payloadLen : 'null'}`;
  s += `,"tunnels":${tunnelJson(p)},"status":${STATUS_JSON[p.status] ?? '"unknown"'}}`;
  return s;
}

function two(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

/** Time of day in UTC with nanoseconds, as `tcpdump -nn --nano` prints it (tcpdump uses local time; podspan always UTC). */
export function formatTimeOfDay(rec: PacketRecord): string {
  const daySec = rec.tsSec % 86400;
  const h = Math.floor(daySec / 3600);
  const m = Math.floor((daySec % 3600) / 60);
  const sec = daySec % 60;
  const ns = rec.tsNsec < 1e9 ? String(rec.tsNsec).padStart(9, '0') : String(rec.tsNsec);
  return `${two(h)}:${two(m)}:${two(sec)}.${ns}`;
}

function tunnelPrefix(p: Parser): string {
  let s = '';
  for (let i = 0; i < p.tunnelCount; i++) {
    const t = p.tunnels[i]!;
    if (t.type === LAYER.VXLAN) s += `VXLAN, vni ${t.id}: `;
    else if (t.type === LAYER.GENEVE) s += `Geneve, vni ${t.id}: `;
    else if (t.type === LAYER.GRE) s += t.hasId ? `GREv${t.version}, key=0x${t.id.toString(16)}: ` : `GREv${t.version}: `;
    else if (t.type === LAYER.ERSPAN) s += `ERSPAN ${['', 'I', 'II', 'III'][t.version] ?? t.version}${t.hasId ? `, session ${t.id}` : ''}: `;
    else s += `${(LAYER_NAMES[t.type] ?? '?').toUpperCase()}: `;
  }
  return s;
}

/** One tcpdump `-nn`-like line for people. */
export function formatText(rec: PacketRecord, p: Parser): string {
  let s = formatTimeOfDay(rec) + ' ' + tunnelPrefix(p);
  if (p.ipVersion !== 0) {
    const fam = p.ipVersion === 4 ? 'IP' : 'IP6';
    if (hasPorts(p)) {
      s += `${fam} ${src(p)}.${p.sport} > ${dst(p)}.${p.dport}: `;
      if (p.l4Proto === 6) {
        s += `Flags [${tcpFlagsString(p.tcpFlags)}], seq ${p.seq}`;
        if (p.tcpFlags & 0x10) s += `, ack ${p.ack}`;
        s += `, length ${p.payloadLen}`;
      } else if (p.l4Proto === 17) {
        s += `UDP, length ${p.payloadLen}`;
      } else {
        s += `${IPPROTO_NAMES[p.ipProto] ?? p.ipProto}, header not decoded`;
      }
    } else if (p.l4Proto === 1 || p.l4Proto === 58) {
      s += `${fam} ${src(p)} > ${dst(p)}: ${p.l4Proto === 1 ? 'ICMP' : 'ICMP6'} type ${p.icmpType} code ${p.icmpCode}, length ${p.payloadLen}`;
    } else {
      const name = IPPROTO_NAMES[p.ipProto] ?? `ip-proto-${p.ipProto}`;
      s += `${fam} ${src(p)} > ${dst(p)}: ${name}${p.isFragment ? ' (frag)' : ''}, length ${p.ipPayloadLen}`;
    }
  } else {
    const last = p.layerCount > 0 ? LAYER_NAMES[p.layers[p.layerCount - 1]!] ?? '?' : 'unknown';
    s += `${last === 'arp' ? 'ARP' : last}, length ${rec.wireLen}`;
  }
  if (p.status === DECODE_STATUS.TRUNCATED) s += ' [|truncated]';
  else if (p.status === DECODE_STATUS.MALFORMED) s += ' [malformed]';
  else if (p.status === DECODE_STATUS.CONTAINED) s += ' [contained]';
  return s;
}
