/**
 * Synthetic but protocol-correct traffic for demos, tests and benchmarks: complete TCP
 * connections (handshake, HTTP/1.1 request and response split at the MSS, FIN close)
 * between pod-like addresses, optionally some of them inside VXLAN, and UDP datagrams.
 * Deterministic for a given seed: no clock, no randomness source but the seed.
 *
 * Every frame is a fresh Buffer the consumer owns (this is a fixture generator, not a hot path).
 */
import { Buffer } from 'node:buffer';
import { prng } from './prng.js';
import { emitEthernet, ETHERNET_HEADER_LEN } from '../wire/ethernet.js';
import { emitIpv4, IPV4_MIN_HEADER_LEN } from '../wire/ipv4.js';
import { emitTcp, TCP_MIN_HEADER_LEN } from '../wire/tcp.js';
import { emitUdp, UDP_HEADER_LEN } from '../wire/udp.js';
import { emitVxlan, VXLAN_HEADER_LEN, VXLAN_PORT } from '../wire/vxlan.js';

export interface SynthFrame {
  tsSec: number;
  tsNsec: number;
  data: Buffer;
}

export interface SynthOptions {
  /** Number of TCP connections. */
  connections: number;
  /** Requests per connection (keep-alive). Default 1. */
  requestsPerConnection?: number;
  /** Response body bytes per request. Default 2000. */
  responseBytes?: number;
  /** Connections open at the same time (their packets interleave). Default 4. */
  concurrency?: number;
  /** One UDP datagram after every this many TCP frames (0 = none). Default 0. */
  udpEvery?: number;
  /** Every this-many-th connection is carried in VXLAN with VNI 42 (0 = none). Default 0. */
  vxlanEvery?: number;
  /** First timestamp, seconds since the epoch. Default 1_700_000_000. */
  startSec?: number;
  seed?: number;
  mss?: number;
}

const IP_TCP = 6;
const IP_UDP = 17;
const TCP_SYN = 0x02;
const TCP_ACK = 0x10;
const TCP_PSH = 0x08;
const TCP_FIN = 0x01;


interface Endpoint {
  mac: string;
  ip: string;
  port: number;
}

/** Builds Ethernet/IPv4/TCP around `payload`, optionally wrapped in Ethernet/IPv4/UDP/VXLAN. */
export function buildTcpFrame(
  src: Endpoint,
  dst: Endpoint,
  seg: { seq: number; ack: number; flags: number; window?: number; ipId?: number },
  payload: Buffer,
  vxlan?: { vni: number; outerSrc: string; outerDst: string },
): Buffer {
  const innerLen = ETHERNET_HEADER_LEN + IPV4_MIN_HEADER_LEN + TCP_MIN_HEADER_LEN + payload.length;
  const outer = vxlan ? ETHERNET_HEADER_LEN + IPV4_MIN_HEADER_LEN + UDP_HEADER_LEN + VXLAN_HEADER_LEN : 0;
  const buf = Buffer.alloc(outer + innerLen);
  let off = 0;
  if (vxlan) {
    off = emitEthernet({ dst: '02:00:00:00:fe:02', src: '02:00:00:00:fe:01', etherType: 0x0800 }, buf, 0);
    off = emitIpv4({ tos: 0, totalLength: buf.length - ETHERNET_HEADER_LEN, id: 0, flags: 2, fragOffset: 0, ttl: 64, proto: IP_UDP, src: vxlan.outerSrc, dst: vxlan.outerDst }, buf, off);
    const udpOff = off;
    off += UDP_HEADER_LEN;
    off = emitVxlan({ flags: 0x08, vni: vxlan.vni }, buf, off);
    emitUdp({ sport: 49152 + (src.port % 16384), dport: VXLAN_PORT, length: buf.length - udpOff, checksum: 0 }, buf, udpOff);
  }
  off = emitEthernet({ dst: dst.mac, src: src.mac, etherType: 0x0800 }, buf, off);
  const ipOff = off;
  off = emitIpv4({ tos: 0, totalLength: IPV4_MIN_HEADER_LEN + TCP_MIN_HEADER_LEN + payload.length, id: seg.ipId ?? 0, flags: 2, fragOffset: 0, ttl: 64, proto: IP_TCP, src: src.ip, dst: dst.ip }, buf, off);
  const tcpOff = off;
  payload.copy(buf, tcpOff + TCP_MIN_HEADER_LEN);
  emitTcp({ sport: src.port, dport: dst.port, seq: seg.seq >>> 0, ack: seg.ack >>> 0, flags: seg.flags, window: seg.window ?? 64240, urgent: 0 }, buf, tcpOff, { ipOffset: ipOff });
  return buf;
}

/** Builds Ethernet/IPv4/UDP around `payload`. */
export function buildUdpFrame(src: Endpoint, dst: Endpoint, payload: Buffer): Buffer {
  const buf = Buffer.alloc(ETHERNET_HEADER_LEN + IPV4_MIN_HEADER_LEN + UDP_HEADER_LEN + payload.length);
  let off = emitEthernet({ dst: dst.mac, src: src.mac, etherType: 0x0800 }, buf, 0);
  const ipOff = off;
  off = emitIpv4({ tos: 0, totalLength: buf.length - ETHERNET_HEADER_LEN, id: 0, flags: 2, fragOffset: 0, ttl: 64, proto: IP_UDP, src: src.ip, dst: dst.ip }, buf, off);
  payload.copy(buf, off + UDP_HEADER_LEN);
  emitUdp({ sport: src.port, dport: dst.port, length: UDP_HEADER_LEN + payload.length }, buf, off, { ipOffset: ipOff });
  return buf;
}

interface Conn {
  frames: Array<{ fromClient: boolean; seg: { seq: number; ack: number; flags: number }; payload: Buffer }>;
  next: number;
  client: Endpoint;
  server: Endpoint;
  vxlan: boolean;
}

function httpExchange(rand: () => number, i: number, r: number, bodyBytes: number): { req: Buffer; resp: Buffer } {
  const path = `/api/items/${i}/${r}?q=${Math.floor(rand() * 1e6)}`;
  const req = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: shop.default.svc\r\nUser-Agent: podspan-synth\r\nAccept: */*\r\n\r\n`);
  const body = Buffer.alloc(bodyBytes);
  for (let k = 0; k < bodyBytes; k++) body[k] = 0x61 + ((i + r + k) % 26);
  const head = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${bodyBytes}\r\n\r\n`);
  return { req, resp: Buffer.concat([head, body]) };
}

function planConnection(rand: () => number, i: number, opts: Required<Omit<SynthOptions, 'seed' | 'startSec'>>): Conn {
  const client: Endpoint = { mac: '0a:58:0a:f4:00:0b', ip: `10.244.${1 + (i % 4)}.${11 + (i % 200)}`, port: 32768 + (i % 28000) };
  const server: Endpoint = { mac: '0a:58:0a:f4:00:05', ip: '10.244.0.5', port: 8080 };
  // ISNs anywhere in sequence space, wrap-around included.
  let cseq = Math.floor(rand() * 0x100000000) >>> 0;
  let sseq = Math.floor(rand() * 0x100000000) >>> 0;
  const frames: Conn['frames'] = [];
  const empty = Buffer.alloc(0);
  frames.push({ fromClient: true, seg: { seq: cseq, ack: 0, flags: TCP_SYN }, payload: empty });
  frames.push({ fromClient: false, seg: { seq: sseq, ack: (cseq + 1) >>> 0, flags: TCP_SYN | TCP_ACK }, payload: empty });
  cseq = (cseq + 1) >>> 0;
  sseq = (sseq + 1) >>> 0;
  frames.push({ fromClient: true, seg: { seq: cseq, ack: sseq, flags: TCP_ACK }, payload: empty });
  for (let r = 0; r < opts.requestsPerConnection; r++) {
    const { req, resp } = httpExchange(rand, i, r, opts.responseBytes);
    frames.push({ fromClient: true, seg: { seq: cseq, ack: sseq, flags: TCP_ACK | TCP_PSH }, payload: req });
    cseq = (cseq + req.length) >>> 0;
    for (let o = 0; o < resp.length; o += opts.mss) {
      const part = resp.subarray(o, Math.min(resp.length, o + opts.mss));
      const last = o + opts.mss >= resp.length;
      frames.push({ fromClient: false, seg: { seq: sseq, ack: cseq, flags: TCP_ACK | (last ? TCP_PSH : 0) }, payload: part });
      sseq = (sseq + part.length) >>> 0;
      if (!last && (o / opts.mss) % 2 === 1) frames.push({ fromClient: true, seg: { seq: cseq, ack: sseq, flags: TCP_ACK }, payload: empty });
    }
    frames.push({ fromClient: true, seg: { seq: cseq, ack: sseq, flags: TCP_ACK }, payload: empty });
  }
  frames.push({ fromClient: true, seg: { seq: cseq, ack: sseq, flags: TCP_FIN | TCP_ACK }, payload: empty });
  frames.push({ fromClient: false, seg: { seq: sseq, ack: (cseq + 1) >>> 0, flags: TCP_FIN | TCP_ACK }, payload: empty });
  frames.push({ fromClient: true, seg: { seq: (cseq + 1) >>> 0, ack: (sseq + 1) >>> 0, flags: TCP_ACK }, payload: empty });
  return { frames, next: 0, client, server, vxlan: opts.vxlanEvery > 0 && i % opts.vxlanEvery === opts.vxlanEvery - 1 };
}

/** Yields the frames of `opts.connections` connections, interleaved `concurrency` at a time, in time order. */
export function* synthTraffic(opts: SynthOptions): Generator<SynthFrame> {
  const full = {
    connections: opts.connections,
    requestsPerConnection: opts.requestsPerConnection ?? 1,
    responseBytes: opts.responseBytes ?? 2000,
    concurrency: Math.max(1, opts.concurrency ?? 4),
    udpEvery: opts.udpEvery ?? 0,
    vxlanEvery: opts.vxlanEvery ?? 0,
    mss: opts.mss ?? 1448,
  };
  const rand = prng(opts.seed ?? 1);
  let tsSec = opts.startSec ?? 1_700_000_000;
  let tsNsec = 0;
  const tick = (): void => {
    tsNsec += 1000 + Math.floor(rand() * 50_000);
    if (tsNsec >= 1e9) {
      tsSec += 1;
      tsNsec -= 1e9;
    }
  };
  const active: Conn[] = [];
  let started = 0;
  let sent = 0;
  let ipId = 1;
  while (started < full.connections || active.length > 0) {
    while (active.length < full.concurrency && started < full.connections) active.push(planConnection(rand, started++, full));
    const k = Math.floor(rand() * active.length);
    const c = active[k]!;
    const f = c.frames[c.next++]!;
    const [s, d] = f.fromClient ? [c.client, c.server] : [c.server, c.client];
    const vx = c.vxlan ? { vni: 42, outerSrc: '192.168.10.1', outerDst: '192.168.10.2' } : undefined;
    tick();
    yield { tsSec, tsNsec, data: buildTcpFrame(s, d, { ...f.seg, ipId: ipId++ & 0xffff }, f.payload, vx) };
    if (c.next === c.frames.length) active.splice(k, 1);
    sent++;
    if (full.udpEvery > 0 && sent % full.udpEvery === 0) {
      tick();
      const q = Buffer.from(`synthetic datagram ${sent}`);
      yield { tsSec, tsNsec, data: buildUdpFrame({ mac: '0a:58:0a:f4:00:0b', ip: '10.244.1.11', port: 40000 + (sent % 1000) }, { mac: '0a:58:0a:f4:00:02', ip: '10.96.0.10', port: 53 }, q) };
    }
  }
}
