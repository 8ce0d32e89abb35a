import { writeFileSync } from 'node:fs';
import { PcapWriter } from '../../packet/capfile/pcap-writer.js';
import { buildTcpFrame } from '../../packet/synth/traffic.js';

const SYN = 0x02;
const ACK = 0x10;

export type HostileKind = 'half-open' | 'holes' | 'ooo-flood';

/**
 * Captures meant to exhaust a reassembler: `half-open` = SYNs from `n` distinct client ports
 * that never complete; `holes` = one connection whose every other 1000-byte segment is
 * missing and never acknowledged; `ooo-flood` = `n` connections each sending data far ahead
 * of a hole at its start. Returns the number of records written.
 */
export function writeHostilePcap(path: string, kind: HostileKind, n: number): number {
  const w = new PcapWriter({ linkType: 1, snapLen: 262144, nanosecond: true });
  const parts: Buffer[] = [w.header()];
  let ts = 0;
  const push = (f: Buffer): void => {
    ts++;
    parts.push(...w.record({ tsSec: 1_700_000_000 + Math.floor(ts / 100000), tsNsec: (ts % 100000) * 1000, capLen: f.length, wireLen: f.length, data: f }));
  };
  const server = { mac: '0a:58:0a:f4:00:05', ip: '10.244.0.5', port: 8080 };
  const client = (i: number): { mac: string; ip: string; port: number } => ({ mac: '0a:58:0a:f4:00:0b', ip: `10.244.${1 + ((i >> 16) & 0xff)}.${1 + ((i >> 8) & 0xff) % 250}`, port: 1024 + (i & 0xffff) % 60000 });
  const payload = Buffer.alloc(1000, 0x41);
  if (kind === 'half-open') {
    for (let i = 0; i < n; i++) push(buildTcpFrame(client(i), server, { seq: i * 7919, ack: 0, flags: SYN }, Buffer.alloc(0)));
  } else if (kind === 'holes') {
    const c = client(1);
    push(buildTcpFrame(c, server, { seq: 1000, ack: 0, flags: SYN }, Buffer.alloc(0)));
    push(buildTcpFrame(server, c, { seq: 5000, ack: 1001, flags: SYN | ACK, window: 65535 }, Buffer.alloc(0)));
    for (let i = 0; i < n; i++) push(buildTcpFrame(c, server, { seq: 1001 + (2 * i + 1) * 1000, ack: 5001, flags: ACK }, payload));
  } else {
    for (let i = 0; i < n; i++) {
      const c = client(i);
      push(buildTcpFrame(c, server, { seq: 1000, ack: 0, flags: SYN }, Buffer.alloc(0)));
      push(buildTcpFrame(server, c, { seq: 5000, ack: 1001, flags: SYN | ACK, window: 65535 }, Buffer.alloc(0)));
      for (let k = 1; k <= 40; k++) push(buildTcpFrame(c, server, { seq: 1001 + k * 1000, ack: 5001, flags: ACK }, payload));
    }
  }
  writeFileSync(path, Buffer.concat(parts));
  return ts;
}
