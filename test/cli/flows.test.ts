import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { podspan, run } from '../helpers/run.js';
import { CORPUS_DIR, requireCorpus } from '../helpers/corpus.js';
import { writeSynthPcap } from '../helpers/synth-file.js';

t.test('flows lists every conversation once, oriented client -> server, with all packets counted', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'podspan-flows-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'synth.pcap');
  const records = writeSynthPcap(file, { connections: 30, requestsPerConnection: 2, concurrency: 6, seed: 4 });
  const r = await podspan(['flows', '--json', file]);
  t.equal(r.code, 0, r.stderr);
  const flows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { proto: string; client: string; server: string; state: string; c2s: { packets: number }; s2c: { packets: number } });
  t.equal(flows.length, 30);
  t.ok(flows.every((f) => f.proto === 'tcp' && f.server === '10.244.0.5:8080' && f.state === 'closed'), 'clients connect to the server and close');
  t.equal(flows.reduce((n, f) => n + f.c2s.packets + f.s2c.packets, 0), records, 'every packet in one conversation');
  const text = await podspan(['flows', file]);
  t.equal(text.stdout.trim().split('\n').length, 31, 'a header and one line per conversation');
});

t.test('--max-flows: conversations past the cap are not tracked, and every packet is still accounted for on stderr', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'podspan-flows-cap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'synth.pcap');
  const records = writeSynthPcap(file, { connections: 30, requestsPerConnection: 2, concurrency: 6, seed: 4 });
  const r = await podspan(['flows', '--json', '--max-flows', '10', file]);
  t.equal(r.code, 0, r.stderr);
  const flows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { c2s: { packets: number }; s2c: { packets: number } });
  t.equal(flows.length, 10, 'the first 10 conversations');
  const m = /podspan: (\d+) packets \(\d+ bytes\) of conversations beyond the first 10 were not tracked: raise --max-flows/.exec(r.stderr);
  t.ok(m, r.stderr);
  const tracked = flows.reduce((n, f) => n + f.c2s.packets + f.s2c.packets, 0);
  t.equal(tracked + Number(m?.[1]), records, 'tracked + untracked packets == all packets');
  const bad = await podspan(['flows', '--max-flows', '0', file]);
  t.equal(bad.code, 2, 'a usage error');
  t.match(bad.stderr, /--max-flows wants a positive whole number/);
});

/** tshark's conversation table: "A:port <-> B:port  framesBtoA bytes  framesAtoB bytes ..." per TCP and UDP conversation. */
async function tsharkConversations(file: string): Promise<Map<string, { aToB: [number, number | undefined]; bToA: [number, number | undefined] }>> {
  const r = await run('tshark', ['-r', file, '-q', '-z', 'conv,tcp', '-z', 'conv,udp']);
  const out = new Map<string, { aToB: [number, number | undefined]; bToA: [number, number | undefined] }>();
  let proto = '';
  for (const line of r.stdout.split('\n')) {
    const h = /^(TCP|UDP) Conversations/.exec(line);
    if (h !== null) proto = h[1]!.toLowerCase();
    const m = /^(\S+)\s+<->\s+(\S+)\s+(\d+) (\d+) (bytes|kB|MB)\s+(\d+) (\d+) (bytes|kB|MB)/.exec(line);
    if (m === null) continue;
    const exact = (n: string, unit: string): number | undefined => (unit === 'bytes' ? Number(n) : undefined);
    out.set(`${proto} ${m[1]} ${m[2]}`, { bToA: [Number(m[3]), exact(m[4]!, m[5]!)], aToB: [Number(m[6]), exact(m[7]!, m[8]!)] });
  }
  return out;
}

t.test('flows counts as tshark\'s conversation table, fragmented datagrams included (corpus)', async (t) => {
  if (!requireCorpus(t)) return;
  const files = [
    'the-tcpdump-group+tcpdump/tests/afs.pcap',
    'the-tcpdump-group+tcpdump/tests/dns_tcp.pcap',
    'OISF+suricata-verify/tests/defrag/bug-6887-defrag-ipv4-tcp-syn/frag-ip-tcp-syn.pcap',
    'OISF+suricata-verify/tests/defrag/bug-6887-defrag-eth-vlan-ipv4-tcp-syn/frag-eth-vlan-ip-tcp-syn.pcap',
    'OISF+suricata-verify/tests/defrag/bug-6887-defrag-ipv6-tcp/frag-ip-tcp.pcap',
    'OISF+suricata-verify/tests/defrag/bug-6887-defrag-eth-vlan-ipv6-tcp/frag-eth-vlan-ipv6-tcp.pcap',
  ];
  for (const rel of files) {
    const file = join(CORPUS_DIR, rel);
    const oracle = await tsharkConversations(file);
    const r = await podspan(['flows', '--json', file]);
    t.equal(r.code, 0, `${rel}: ${r.stderr}`);
    const mine = r.stdout.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { proto: string; client: string; server: string; c2s: { packets: number; bytes: number }; s2c: { packets: number; bytes: number } });
    t.equal(mine.length, oracle.size, `${rel}: ${oracle.size} conversations`);
    for (const f of mine) {
      const plain = (e: string): string => e.replace(/^\[(.*)\]:/, '$1:');
      const [c, s] = [plain(f.client), plain(f.server)];
      const ab = oracle.get(`${f.proto} ${c} ${s}`);
      const ba = oracle.get(`${f.proto} ${s} ${c}`);
      const o = ab ?? (ba === undefined ? undefined : { aToB: ba.bToA, bToA: ba.aToB });
      if (o === undefined) {
        t.fail(`${rel}: ${f.proto} ${c} -> ${s} is not in tshark's table`);
        continue;
      }
      t.same([f.c2s.packets, f.s2c.packets], [o.aToB[0], o.bToA[0]], `${rel}: ${f.proto} ${c} -> ${s} frames each way`);
      if (o.aToB[1] !== undefined) t.equal(f.c2s.bytes, o.aToB[1], `${rel}: client bytes`);
      if (o.bToA[1] !== undefined) t.equal(f.s2c.bytes, o.bToA[1], `${rel}: server bytes`);
    }
  }
});
