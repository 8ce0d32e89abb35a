import { DECODE_STATUS, DECODE_STATUS_NAMES } from '../packet/decode/status.js';
import { LAYER, LAYER_NAMES } from '../packet/decode/layers.js';
import type { Parser } from '../packet/decode/parser.js';
import type { PacketRecord } from '../packet/capfile/types.js';
import { formatIPv4, formatIPv6, tcpFlagsString } from '../packet/wire/ip-addr.js';
import type { ByteOutput } from './byte-output.js';

const IPPROTO_NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6', 47: 'gre', 132: 'sctp' };

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

const B = (s: string): Buffer => Buffer.from(s, 'latin1');
const J_N = B('{"n":');
const J_TS = B(',"ts":"');
const J_CAPLEN = B('","caplen":');
const J_LEN = B(',"len":');
const J_LAYERS = B(',"layers":[');
const J_SRC = B('],"src":"');
const J_DST = B('","dst":"');
const J_PROTO = B('","proto":');
const J_NOIP = B('],"src":null,"dst":null,"proto":null');
const J_PORTS = B(',"sport":');
const J_DPORT = B(',"dport":');
const J_NOPORTS = B(',"sport":null,"dport":null');
const J_ACK = B(',"ack":');
const J_NOTCP = B(',"tcpFlags":null,"seq":null,"ack":null');
const J_PAYLOAD = B(',"payloadLen":');
const J_NULL = B('null');
const J_TUNNELS = B(',"tunnels":');
const J_STATUS = B(',"status":');
const J_END = B('}\n');
const LAYER_BYTES = LAYER_NAMES.map((n) => B(JSON.stringify(n)));
const STATUS_BYTES = DECODE_STATUS_NAMES.map((n) => B(JSON.stringify(n)));
const PROTO_BYTES: Array<Buffer | undefined> = [];
for (const [k, v] of Object.entries(IPPROTO_NAMES)) PROTO_BYTES[Number(k)] = B(JSON.stringify(v));
// Constant runs merged into single pieces for the common cases (fewer copies per packet).
const FLAG_SEQ_BYTES: Buffer[] = [];
for (let f = 0; f < 512; f++) FLAG_SEQ_BYTES.push(B(`,"tcpFlags":"${tcpFlagsString(f)}","seq":`));
const PROTO_PORTS_BYTES: Array<Buffer | undefined> = [];
for (const [k, v] of Object.entries(IPPROTO_NAMES)) PROTO_PORTS_BYTES[Number(k)] = B(`${JSON.stringify(v)},"sport":`);
const TAIL_NO_TUNNEL = DECODE_STATUS_NAMES.map((n) => B(`,"tunnels":[],"status":${JSON.stringify(n)}}\n`));

/** `,"layers":[...]` for stacks of up to 6 layers, cached by stack (a few distinct stacks make up nearly all traffic). */
const layerCache = new Map<number, Buffer>();
const LAYER_CACHE_MAX = 4096;

function layersJson(p: Parser): Buffer {
  let key = p.layerCount;
  const cacheable = p.layerCount <= 6;
  if (cacheable) for (let i = 0; i < p.layerCount; i++) key = key * 32 + (p.layers[i]! & 31);
  const hit = cacheable ? layerCache.get(key) : undefined;
  if (hit) return hit;
  const parts: Buffer[] = [J_LAYERS];
  for (let i = 0; i < p.layerCount; i++) {
    if (i) parts.push(B(','));
    parts.push(LAYER_BYTES[p.layers[i]!]!);
  }
  const b = Buffer.concat(parts);
  if (cacheable && layerCache.size < LAYER_CACHE_MAX) layerCache.set(key, b);
  return b;
}

/**
 * Writes one JSON object and its newline for `podspan read --json` (fields per
 * ARCHITECTURE.md) straight into `out`'s buffer. Does not allocate for IPv4 packets.
 */
export function writeJson(out: ByteOutput, rec: PacketRecord, p: Parser): void {
  out.bytes(J_N);
  out.uint(rec.n);
  out.bytes(J_TS);
  out.uint(rec.tsSec);
  out.byte(46);
  if (rec.tsNsec < 1e9) out.nine(rec.tsNsec);
  else out.uint(rec.tsNsec); // a ns pcap's invalid ts_nsec, shown raw
  out.bytes(J_CAPLEN);
  out.uint(rec.capLen);
  out.bytes(J_LEN);
  out.uint(rec.wireLen);
  out.bytes(layersJson(p));
  const ip = p.ipVersion !== 0;
  if (ip) {
    out.bytes(J_SRC);
    if (p.ipVersion === 4) out.ipv4(p.data, p.ipSrcOffset);
    else out.ascii(formatIPv6(p.data, p.ipSrcOffset));
    out.bytes(J_DST);
    if (p.ipVersion === 4) out.ipv4(p.data, p.ipDstOffset);
    else out.ascii(formatIPv6(p.data, p.ipDstOffset));
    out.bytes(J_PROTO);
    const withPorts = p.portsValid ? PROTO_PORTS_BYTES[p.ipProto] : undefined;
    if (withPorts) {
      out.bytes(withPorts);
      out.uint(p.sport);
      out.bytes(J_DPORT);
      out.uint(p.dport);
    } else {
      const name = PROTO_BYTES[p.ipProto];
      if (name) out.bytes(name);
      else out.uint(p.ipProto);
      if (p.portsValid) {
        out.bytes(J_PORTS);
        out.uint(p.sport);
        out.bytes(J_DPORT);
        out.uint(p.dport);
      } else {
        out.bytes(J_NOPORTS);
      }
    }
  } else {
    out.bytes(J_NOIP);
    out.bytes(J_NOPORTS);
  }
  if (ip && p.l4Proto === 6) {
    out.bytes(FLAG_SEQ_BYTES[p.tcpFlags & 0x1ff]!);
    out.uint(p.seq);
    out.bytes(J_ACK);
    out.uint(p.ack);
  } else {
    out.bytes(J_NOTCP);
  }
  out.bytes(J_PAYLOAD);
  if (ip && p.l4Proto !== 0) out.uint(p.payloadLen);
  else out.bytes(J_NULL);
  const tail = p.tunnelCount === 0 ? TAIL_NO_TUNNEL[p.status] : undefined;
  if (tail) {
    out.bytes(tail);
    return;
  }
  out.bytes(J_TUNNELS);
  out.ascii(tunnelJson(p));
  out.bytes(J_STATUS);
  out.bytes(STATUS_BYTES[p.status] ?? J_NULL);
  out.bytes(J_END);
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
      // The length of the whole ICMP message, header included, as tcpdump prints it.
      s += `${fam} ${src(p)} > ${dst(p)}: ${p.l4Proto === 1 ? 'ICMP' : 'ICMP6'} type ${p.icmpType} code ${p.icmpCode}, length ${p.ipPayloadLen}`;
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
