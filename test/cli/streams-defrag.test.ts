import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { PcapWriter } from '../../packet/capfile/pcap-writer.js';
import { buildTcpFrame } from '../../packet/synth/traffic.js';
import { emitIpv4 } from '../../packet/wire/ipv4.js';
import { CORPUS_DIR, requireCorpus } from '../helpers/corpus.js';
import { podspan, run } from '../helpers/run.js';

const dir = mkdtempSync(join(tmpdir(), 'podspan-defrag-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** Splits an Ethernet/IPv4 frame's IP payload into fragments of `size` bytes (a multiple of 8), last one first. */
function fragment(frame: Buffer, size: number): Buffer[] {
  const ip = frame.subarray(14);
  const ihl = (ip[0]! & 0x0f) * 4;
  const payload = ip.subarray(ihl);
  const out: Buffer[] = [];
  for (let off = 0; off < payload.length; off += size) {
    const part = payload.subarray(off, Math.min(payload.length, off + size));
    const f = Buffer.alloc(14 + 20 + part.length);
    frame.copy(f, 0, 0, 14);
    const more = off + size < payload.length;
    emitIpv4({ tos: 0, totalLength: 20 + part.length, id: 4242, flags: more ? 1 : 0, fragOffset: off / 8, ttl: 64, proto: 6, src: '10.244.1.7', dst: '10.244.0.5' }, f, 14);
    part.copy(f, 34);
    out.push(f);
  }
  return out.reverse();
}

t.test('a TCP segment split into IPv4 fragments (arriving out of order) is reassembled into the stream', async (t) => {
  const c = { mac: '0a:58:0a:f4:00:0b', ip: '10.244.1.7', port: 40001 };
  const s = { mac: '0a:58:0a:f4:00:05', ip: '10.244.0.5', port: 8080 };
  const body = Buffer.from('ABCDEFGH'.repeat(400));
  const frames = [
    buildTcpFrame(c, s, { seq: 100, ack: 0, flags: 0x02 }, Buffer.alloc(0)),
    buildTcpFrame(s, c, { seq: 900, ack: 101, flags: 0x12 }, Buffer.alloc(0)),
    buildTcpFrame(c, s, { seq: 101, ack: 901, flags: 0x10 }, Buffer.alloc(0)),
    ...fragment(buildTcpFrame(c, s, { seq: 101, ack: 901, flags: 0x18 }, body), 1480),
    buildTcpFrame(s, c, { seq: 901, ack: 101 + body.length, flags: 0x10 }, Buffer.alloc(0)),
  ];
  const w = new PcapWriter({ linkType: 1, snapLen: 65535 });
  const parts = [w.header()];
  frames.forEach((f, i) => parts.push(...w.record({ tsSec: 1_700_000_000, tsNsec: i * 1000, capLen: f.length, wireLen: f.length, data: f })));
  const file = join(dir, 'frag.pcap');
  writeFileSync(file, Buffer.concat(parts));
  const r = await podspan(['streams', '--json', '-o', join(dir, 'out'), file]);
  t.equal(r.code, 0, r.stderr);
  const conn = JSON.parse(r.stdout.trim()) as { c2s: { bytes: number; gapBytes: number; file: string } };
  t.equal(conn.c2s.bytes, body.length);
  t.equal(conn.c2s.gapBytes, 0);
  t.ok(readFileSync(conn.c2s.file).equals(body), 'the reassembled bytes');
  t.match(r.stderr, /3 IP fragments, 1 datagrams reassembled/);
});

t.test('fragmented SYNs from the Suricata corpus open their connection', async (t) => {
  if (!requireCorpus(t)) return;
  for (const f of ['bug-6887-defrag-ipv4-tcp-syn/frag-ip-tcp-syn.pcap', 'bug-6887-defrag-eth-vlan-ipv4-tcp-syn/frag-eth-vlan-ip-tcp-syn.pcap']) {
    const r = await podspan(['streams', '--json', '-o', join(dir, 'c'), join(CORPUS_DIR, 'OISF+suricata-verify', 'tests', 'defrag', f)]);
    t.equal(r.code, 0);
    const conn = JSON.parse(r.stdout.trim()) as { client: string; server: string; midStream: boolean };
    t.same([conn.client, conn.server, conn.midStream], ['1.1.1.1:12345', '2.2.2.2:8080', false], f);
  }
});

t.test('IPv6-fragmented TCP from the Suricata corpus (Ethernet/VLAN, raw IPv6, PPP) is reassembled to the bytes tshark follows', async (t) => {
  if (!requireCorpus(t)) return;
  for (const f of ['bug-6887-defrag-ipv6-tcp/frag-ip-tcp.pcap', 'bug-6887-defrag-eth-vlan-ipv6-tcp/frag-eth-vlan-ipv6-tcp.pcap', 'bug-6887-defrag-ppp-ipv6-tcp/frag-ppp-ipv6-tcp.pcap']) {
    const file = join(CORPUS_DIR, 'OISF+suricata-verify', 'tests', 'defrag', f);
    const out = join(dir, `v6-${f.split('/')[0]}`);
    const r = await podspan(['streams', '--json', '-o', out, file]);
    t.equal(r.code, 0, r.stderr);
    const conn = JSON.parse(r.stdout.trim()) as { client: string; server: string; c2s: { bytes: number; gapBytes: number; file: string } };
    // The oracle: tshark's own reassembly of the same file (defragmented by Wireshark).
    const follow = await run('tshark', ['-n', '-q', '-r', file, '-z', 'follow,tcp,raw,0']);
    const hex = follow.stdout.split('\n').filter((l) => /^[0-9a-f]+$/.test(l)).join('');
    t.ok(hex.length > 0, `${f}: tshark follows the stream`);
    t.same([conn.client, conn.server, conn.c2s.bytes, conn.c2s.gapBytes], ['[::1]:12345', '[::1]:8080', hex.length / 2, 0], f);
    t.equal(readFileSync(conn.c2s.file).toString('hex'), hex, `${f}: the bytes tshark follows`);
    t.match(r.stderr, /3 IP fragments, 1 datagrams reassembled/);
  }
});
