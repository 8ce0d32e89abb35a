/**
 * Writes the regression inputs that came from bugs found by fuzzing before the harness could
 * save them itself, so the committed files are reproducible:
 *   node dist/test/fuzz/gen-regressions.js
 * - ipv6-jumbo-short.bin: an IPv6 jumbo payload option claiming fewer bytes than its own
 *   extension header (the decoder once reported a negative ipPayloadLen).
 * - vxlan-nest-deep.bin: VXLAN inside VXLAN 20 deep (the nesting cap must stop it).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/repo.js';
import { PcapWriter } from '../../packet/capfile/pcap-writer.js';
import { emitEthernet } from '../../packet/wire/ethernet.js';
import { emitIpv6, emitIpv6JumboHbh } from '../../packet/wire/ipv6.js';
import { emitIpv4 } from '../../packet/wire/ipv4.js';
import { emitUdp } from '../../packet/wire/udp.js';
import { emitVxlan } from '../../packet/wire/vxlan.js';

function pcap(frames: Buffer[]): Buffer {
  const w = new PcapWriter({ linkType: 1, snapLen: 262144, nanosecond: true });
  const parts = [w.header()];
  frames.forEach((f, i) => parts.push(...w.record({ tsSec: 1_700_000_000 + i, tsNsec: 0, capLen: f.length, wireLen: f.length, data: f })));
  return Buffer.concat(parts);
}

function jumboShort(): Buffer {
  const b = Buffer.alloc(14 + 40 + 8 + 8 + 16);
  let off = emitEthernet({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', etherType: 0x86dd }, b, 0);
  off = emitIpv6({ trafficClass: 0, flowLabel: 0, payloadLength: 0, nextHeader: 0, hopLimit: 64, src: '2001:db8::1', dst: '2001:db8::2' }, b, off);
  off = emitIpv6JumboHbh(17, 4, b, off);
  emitUdp({ sport: 1, dport: 2, length: 0, checksum: 0 }, b, off);
  return b;
}

function vxlanDeep(depth: number): Buffer {
  const layer = 14 + 20 + 8 + 8;
  const b = Buffer.alloc(layer * depth + 14 + 20 + 8);
  let off = 0;
  for (let i = 0; i < depth; i++) {
    const rest = b.length - off;
    off = emitEthernet({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', etherType: 0x0800 }, b, off);
    off = emitIpv4({ tos: 0, totalLength: rest - 14, id: i, flags: 0, fragOffset: 0, ttl: 64, proto: 17, src: '10.0.0.1', dst: '10.0.0.2' }, b, off);
    off = emitUdp({ sport: 40000, dport: 4789, length: rest - 14 - 20, checksum: 0 }, b, off);
    off = emitVxlan({ flags: 0x08, vni: i }, b, off);
  }
  off = emitEthernet({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', etherType: 0x0800 }, b, off);
  off = emitIpv4({ tos: 0, totalLength: 28, id: 0, flags: 0, fragOffset: 0, ttl: 64, proto: 17, src: '10.0.0.1', dst: '10.0.0.2' }, b, off);
  emitUdp({ sport: 1, dport: 2, length: 8, checksum: 0 }, b, off);
  return b;
}

const dir = join(REPO_ROOT, 'test', 'fuzz', 'regressions');
writeFileSync(join(dir, 'ipv6-jumbo-short.bin'), pcap([jumboShort()]));
writeFileSync(join(dir, 'vxlan-nest-deep.bin'), pcap([vxlanDeep(20)]));
console.log(`wrote regression inputs to ${dir}`);
