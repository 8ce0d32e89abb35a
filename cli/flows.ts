import { Parser } from '../packet/decode/parser.js';
import { formatIPv4, formatIPv6 } from '../packet/wire/ip-addr.js';
import { forEachRecord } from './input.js';
import { ByteOutput } from './byte-output.js';
import { FragmentFeed } from '../packet/reassembly/from-parser.js';

const TCP = 6;
const UDP = 17;
const F_FIN = 0x01;
const F_SYN = 0x02;
const F_RST = 0x04;
const F_ACK = 0x10;
const TCP_UDP: ReadonlySet<number> = new Set([TCP, UDP]);

interface Side {
  packets: number;
  bytes: number;
}

interface Flow {
  proto: 'tcp' | 'udp';
  client: string;
  server: string;
  /** Endpoint string of the side that is the client, to orient later packets. */
  clientKey: string;
  c2s: Side;
  s2c: Side;
  startSec: number;
  startNsec: number;
  endSec: number;
  endNsec: number;
  synSeen: boolean;
  synAckSeen: boolean;
  finC2s: boolean;
  finS2c: boolean;
  rst: boolean;
  midStream: boolean;
  closed: boolean;
}

function tcpState(f: Flow): string {
  if (f.rst) return 'reset';
  if (f.finC2s && f.finS2c) return 'closed';
  if (f.finC2s || f.finS2c) return 'closing';
  if (f.midStream) return 'established (picked up mid-stream)';
  if (f.synSeen && f.synAckSeen) return 'established';
  if (f.synSeen) return 'syn_sent';
  return 'established';
}

function ts(sec: number, nsec: number): string {
  return `${sec}.${String(nsec).padStart(9, '0')}`;
}

/**
 * Conversations held at once by default. They are printed sorted by start, as tshark's
 * conversation table is, so all are held to the end: about 600 bytes each (measured on 450k),
 * so 1M is about 600 MB; tshark needed about three times as much per conversation.
 */
export const DEFAULT_MAX_FLOWS = 1_000_000;

/**
 * `podspan flows FILE [--json] [--max-flows N]`: TCP and UDP conversations with packets and bytes (whole
 * frames, as tshark's conversation table counts them) each way, start, end and TCP state.
 * The client is the side that sent the first SYN (TCP) or, without one, the side with the
 * higher port; for UDP, the sender of the first datagram. A SYN after a closed or reset TCP
 * conversation starts a new one (port reuse). Past `maxFlows` conversations, packets of new
 * ones are not tracked but counted, and stderr says how many: the heap is never exhausted.
 */
export async function runFlows(file: string, opts: { json: boolean; maxFlows?: number }): Promise<number> {
  const parser = new Parser();
  const flows = new Map<string, Flow>();
  const done: Flow[] = [];
  const maxFlows = opts.maxFlows ?? DEFAULT_MAX_FLOWS;
  let untrackedPackets = 0;
  let untrackedBytes = 0;
  // Fragments of TCP and UDP datagrams are put back together to find their ports. As in
  // tshark's conversation table, a reassembled datagram counts once, as the frame that
  // completed it (its length, its time); stderr says how many fragment frames that folded.
  const frags = new FragmentFeed(TCP_UDP);
  let fragmentFrames = 0;
  let datagrams = 0;
  /** Counts one frame of `bytes` at sec/nsec from src to dst. */
  const account = (
    v: 4 | 6, addrs: Buffer, srcOff: number, dstOff: number, l4: number, sport: number, dport: number, flags: number,
    bytes: number, sec: number, nsec: number,
  ): void => {
    const fmt = v === 4 ? formatIPv4 : formatIPv6;
    const wrap = (a: string): string => (v === 4 ? a : `[${a}]`);
    const src = `${wrap(fmt(addrs, srcOff))}:${sport}`;
    const dst = `${wrap(fmt(addrs, dstOff))}:${dport}`;
    const proto = l4 === TCP ? 'tcp' : 'udp';
    const key = `${proto} ${src < dst ? src + ' ' + dst : dst + ' ' + src}`;
    let f = flows.get(key);
    const isSyn = (flags & (F_SYN | F_ACK)) === F_SYN;
    if (f && proto === 'tcp' && isSyn && (f.rst || (f.finC2s && f.finS2c))) {
      done.push(f);
      f = undefined;
    }
    if (!f) {
      if (flows.size + done.length >= maxFlows) {
        untrackedPackets++;
        untrackedBytes += bytes;
        return;
      }
      let clientIsSrc = true;
      if (proto === 'tcp' && !isSyn) {
        if ((flags & (F_SYN | F_ACK)) === (F_SYN | F_ACK)) clientIsSrc = false;
        else clientIsSrc = sport > dport || (sport === dport && src < dst);
      }
      f = {
        proto,
        client: clientIsSrc ? src : dst,
        server: clientIsSrc ? dst : src,
        clientKey: clientIsSrc ? src : dst,
        c2s: { packets: 0, bytes: 0 },
        s2c: { packets: 0, bytes: 0 },
        startSec: sec,
        startNsec: nsec,
        endSec: sec,
        endNsec: nsec,
        synSeen: false,
        synAckSeen: false,
        finC2s: false,
        finS2c: false,
        rst: false,
        midStream: proto === 'tcp' && (flags & F_SYN) === 0,
        closed: false,
      };
      flows.set(key, f);
    }
    const c2s = src === f.clientKey;
    const side = c2s ? f.c2s : f.s2c;
    side.packets++;
    side.bytes += bytes;
    if (sec > f.endSec || (sec === f.endSec && nsec > f.endNsec)) {
      f.endSec = sec;
      f.endNsec = nsec;
    }
    if (proto === 'tcp') {
      if (isSyn) f.synSeen = true;
      if ((flags & (F_SYN | F_ACK)) === (F_SYN | F_ACK)) f.synAckSeen = true;
      if (flags & F_FIN) {
        if (c2s) f.finC2s = true;
        else f.finS2c = true;
      }
      if (flags & F_RST) f.rst = true;
    }
  };
  await forEachRecord(file, (rec) => {
    parser.decode(rec.data, rec.iface.linkType, rec.wireLen);
    if (parser.ipVersion === 0) return undefined;
    const v = parser.ipVersion === 4 ? 4 : 6;
    if (parser.isFragment) {
      fragmentFrames++;
      if (!frags.add(parser, rec.tsSec, rec.tsNsec)) return undefined;
      const l4 = frags.l4;
      const p = frags.proto;
      if (l4.length < (p === TCP ? 14 : 4)) return undefined;
      datagrams++;
      const flags = p === TCP ? l4.readUInt8(13) : 0;
      account(v, parser.data, parser.ipSrcOffset, parser.ipDstOffset, p, l4.readUInt16BE(0), l4.readUInt16BE(2), flags, rec.wireLen, rec.tsSec, rec.tsNsec);
      return undefined;
    }
    if (parser.l4Proto !== TCP && parser.l4Proto !== UDP) return undefined;
    const flags = parser.l4Proto === TCP ? parser.tcpFlags : 0;
    account(v, parser.data, parser.ipSrcOffset, parser.ipDstOffset, parser.l4Proto, parser.sport, parser.dport, flags, rec.wireLen, rec.tsSec, rec.tsNsec);
    return undefined;
  });
  frags.defrag.flushAll();
  const all = [...done, ...flows.values()].sort((a, b) => a.startSec - b.startSec || a.startNsec - b.startNsec);
  const out = new ByteOutput();
  if (!opts.json) {
    await out.line(`${'proto'.padEnd(5)} ${'client'.padEnd(24)} ${'server'.padEnd(24)} ${'c2s pkts/bytes'.padStart(18)} ${'s2c pkts/bytes'.padStart(18)}  ${'duration'.padStart(12)}  state`);
  }
  for (const f of all) {
    const state = f.proto === 'tcp' ? tcpState(f) : 'n/a';
    let line: string;
    if (opts.json) {
      line = JSON.stringify({
        proto: f.proto, client: f.client, server: f.server,
        c2s: f.c2s, s2c: f.s2c,
        start: ts(f.startSec, f.startNsec), end: ts(f.endSec, f.endNsec), state,
      });
    } else {
      const dur = (f.endSec - f.startSec) + (f.endNsec - f.startNsec) / 1e9;
      line = `${f.proto.padEnd(5)} ${f.client.padEnd(24)} ${f.server.padEnd(24)} ${`${f.c2s.packets}/${f.c2s.bytes}`.padStart(18)} ${`${f.s2c.packets}/${f.s2c.bytes}`.padStart(18)}  ${dur.toFixed(6).padStart(12)}  ${state}`;
    }
    const p = out.line(line);
    if (p) await p;
  }
  await out.flush();
  if (fragmentFrames > 0) {
    const none = fragmentFrames - frags.defrag.counters.deliveredFragments;
    process.stderr.write(
      `podspan: ${fragmentFrames} IP fragment frames: ${datagrams} TCP/UDP datagrams reassembled, each counted once as the frame that completed it (as tshark does)` +
        `${none > 0 ? `; ${none} fragment frames are in no conversation (not TCP/UDP, duplicates, or of datagrams never completed)` : ''}\n`,
    );
  }
  if (untrackedPackets > 0) {
    process.stderr.write(`podspan: ${untrackedPackets} packets (${untrackedBytes} bytes) of conversations beyond the first ${maxFlows} were not tracked: raise --max-flows (about 600 bytes of memory each)\n`);
  }
  return 0;
}
