import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { PcapngWriter } from '../packet/capfile/pcapng-writer.js';
import { synthTraffic } from '../packet/synth/traffic.js';
import { Parser } from '../packet/decode/parser.js';
import { LAYER_NAMES } from '../packet/decode/layers.js';
import { DECODE_STATUS_NAMES } from '../packet/decode/status.js';
import { formatIPv4, formatIPv6 } from '../packet/wire/ip-addr.js';
import { forEachRecord } from './input.js';
import { runConvert } from './convert.js';

const LINKTYPE_ETHERNET = 1;

/**
 * `podspan demo`, until the agent lands: generates a capture of pod traffic (HTTP over TCP,
 * some of it inside VXLAN, DNS-like UDP), writes it as pcapng, decodes it back, converts it
 * to pcap, lets tcpdump read the result when installed, and prints a summary.
 */
export async function runDemo(): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'podspan-demo-'));
  const pcapng = join(dir, 'demo.pcapng');
  const pcap = join(dir, 'demo.pcap');

  const w = new PcapngWriter();
  const parts: Buffer[] = [w.sectionHeader({ userAppl: 'podspan demo' })];
  const iface = w.addInterface({ linkType: LINKTYPE_ETHERNET, snapLen: 262144, name: 'veth-demo', description: 'pod default/shop-7d9f 10.244.0.5' });
  parts.push(iface.block);
  let written = 0;
  for (const f of synthTraffic({ connections: 200, requestsPerConnection: 3, responseBytes: 3000, concurrency: 8, udpEvery: 25, vxlanEvery: 10, seed: 7 })) {
    parts.push(...w.packet(iface.id, { tsSec: f.tsSec, tsNsec: f.tsNsec, capLen: f.data.length, wireLen: f.data.length, data: f.data }));
    written++;
  }
  await writeFile(pcapng, parts);

  const parser = new Parser();
  const layerStacks = new Map<string, number>();
  const statuses = new Map<string, number>();
  const convs = new Map<string, { packets: number; bytes: number }>();
  let packets = 0;
  let bytes = 0;
  await forEachRecord(pcapng, (rec) => {
    packets++;
    bytes += rec.wireLen;
    const st = parser.decode(rec.data, rec.iface.linkType, rec.wireLen);
    statuses.set(DECODE_STATUS_NAMES[st] ?? '?', (statuses.get(DECODE_STATUS_NAMES[st] ?? '?') ?? 0) + 1);
    let stack = '';
    for (let i = 0; i < parser.layerCount; i++) stack += (i ? ':' : '') + LAYER_NAMES[parser.layers[i]!];
    layerStacks.set(stack, (layerStacks.get(stack) ?? 0) + 1);
    if (parser.ipVersion !== 0 && (parser.l4Proto === 6 || parser.l4Proto === 17)) {
      const fmt = parser.ipVersion === 4 ? formatIPv4 : formatIPv6;
      const a = `${fmt(parser.data, parser.ipSrcOffset)}:${parser.sport}`;
      const b = `${fmt(parser.data, parser.ipDstOffset)}:${parser.dport}`;
      const key = `${parser.l4Proto === 6 ? 'tcp' : 'udp'} ${a < b ? `${a} <-> ${b}` : `${b} <-> ${a}`}`;
      const c = convs.get(key) ?? { packets: 0, bytes: 0 };
      c.packets++;
      c.bytes += rec.wireLen;
      convs.set(key, c);
    }
    return undefined;
  });
  await runConvert(pcapng, pcap);

  const out: string[] = [];
  out.push('podspan demo: a generated capture of pod traffic, written as pcapng and decoded back');
  out.push('');
  out.push(`  frames written   ${written}`);
  out.push(`  frames decoded   ${packets} (${bytes} bytes on the wire)`);
  out.push(`  decode status    ${[...statuses].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  out.push(`  conversations    ${convs.size}`);
  out.push('  layer stacks:');
  for (const [k, v] of [...layerStacks].sort((x, y) => y[1] - x[1])) out.push(`    ${String(v).padStart(7)}  ${k}`);
  out.push('  busiest conversations:');
  for (const [k, v] of [...convs].sort((x, y) => y[1].bytes - x[1].bytes).slice(0, 5)) out.push(`    ${k}  ${v.packets} packets, ${v.bytes} bytes`);
  const td = spawnSync('tcpdump', ['--count', '-r', pcap], { encoding: 'utf8' });
  const counted = /^(\d+) packets?/m.exec(td.stdout)?.[1];
  if (td.status === 0 && counted !== undefined) out.push(`  tcpdump reads the converted pcap: ${counted} packets`);
  out.push('');
  out.push(`  pcapng: ${pcapng}`);
  out.push(`  pcap:   ${pcap}`);
  out.push(`  try:    node dist/cli/main.js read ${pcapng} -c 5`);
  process.stdout.write(out.join('\n') + '\n');
  return packets === written ? 0 : 1;
}
