import { writeFileSync } from 'node:fs';
import { PcapWriter } from '../../packet/capfile/pcap-writer.js';
import { synthTraffic, type SynthOptions } from '../../packet/synth/traffic.js';

/** Writes a nanosecond Ethernet pcap of synthetic traffic; returns the record count. */
export function writeSynthPcap(path: string, opts: SynthOptions): number {
  const w = new PcapWriter({ linkType: 1, snapLen: 262144, nanosecond: true });
  const parts: Buffer[] = [w.header()];
  let n = 0;
  for (const f of synthTraffic(opts)) {
    parts.push(...w.record({ tsSec: f.tsSec, tsNsec: f.tsNsec, capLen: f.data.length, wireLen: f.data.length, data: f.data }));
    n++;
  }
  writeFileSync(path, Buffer.concat(parts));
  return n;
}
