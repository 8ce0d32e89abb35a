import t from 'tap';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ErspanEncap, parseErspanUrl } from '../../../agent/export/erspan.js';
import { GreFamilyExporter, GretapEncap, parseGreUrl, type GreEncap } from '../../../agent/export/gre.js';
import type { ShapeOptions } from '../../../agent/export/frame-shaper.js';
import { IP_PROTO, RawIpSocket } from '../../../native/index.js';
import { Segmenter } from '../../../packet/segment/segmenter.js';
import { execFileP, ip, sleep, startTcpdump, tsharkTunnelFrames } from '../../collector/helpers.js';
import { CLI } from '../../helpers/repo.js';
import { pattern, superFrame } from '../../packet/segment/superframes.js';

// podspan's GRE and ERSPAN II/III output, captured by tcpdump on lo of a namespace this test
// creates (gr-<pid>-x), dissected by tshark: the inner frames are the frames given (or their
// MSS-sized segments), and the tunnel headers carry what a Linux gretap / erspan device
// would put there. This kernel has no gretap or erspan device, so no kernel receiver here:
// tshark is the oracle.

const NS = `gr-${process.pid}-x`;
const work = mkdtempSync(join(tmpdir(), 'gr-export-'));
t.teardown(async () => {
  rmSync(work, { recursive: true, force: true });
  if (existsSync(`/var/run/netns/${NS}`)) await ip(['netns', 'del', NS]).catch(() => undefined);
});

const TS_SEC = 1_700_000_000;
const TS_NSEC = 123_456_789;
const SOURCE = { iface: 'veth-pod', ifindex: 77, podIp: '10.1.2.3', podName: undefined, linkType: 1, snapLen: 262144 };

/** Frames with something in them for every header field: TOS, a VLAN tag, IPv6, a short frame, a super-frame. */
function inputs(): Buffer[] {
  const arp = Buffer.alloc(42, 0x11);
  Buffer.from('ffffffffffff020000000001', 'hex').copy(arp, 0);
  arp.writeUInt16BE(0x0806, 12);
  return [
    superFrame({ payload: pattern(100), tos: 0xb8 }),
    superFrame({ payload: pattern(200, 1), vlan: 100 }),
    superFrame({ v6: true, udp: true, payload: pattern(300, 2), tos: 0x60 }),
    arp,
    superFrame({ payload: pattern(5000, 3), flags: 0x19 }),
  ];
}

/** What should come out: each input, a super-frame as its segments. */
function expected(frames: Buffer[], mtu: number, cut?: number): Buffer[] {
  const s = new Segmenter();
  const out: Buffer[] = [];
  for (const f of frames) {
    s.planFrame(f, f.length, f.length, mtu);
    for (let i = 0; i < s.count; i++) {
      const b = Buffer.alloc(s.frameLen(i));
      const n = s.write(f, i, b, 0);
      out.push(cut !== undefined && n > cut ? b.subarray(0, cut) : b.subarray(0, n));
    }
  }
  return out;
}

async function capture(t: { teardown(fn: () => unknown): void }, name: string, encap: GreEncap, shape: ShapeOptions, url: string, frames: Buffer[]): Promise<{ file: string; x: GreFamilyExporter }> {
  const file = join(work, `${name}.pcap`);
  const td = await startTcpdump(t, NS, 'lo', file);
  const x = new GreFamilyExporter(url, shape, encap, RawIpSocket.open(IP_PROTO.GRE, { netns: NS, sendOnly: true }), '127.0.0.1');
  const data = Buffer.concat(frames);
  let off = 0;
  for (const f of frames) {
    x.exportFrame(data, off, f.length, f.length, TS_SEC, TS_NSEC, SOURCE);
    off += f.length;
  }
  await x.close();
  await sleep(300);
  await td.stop();
  return { file, x };
}

async function fields(file: string, names: string[]): Promise<string[][]> {
  const args = ['-r', file, '-T', 'fields', ...names.flatMap((n) => ['-e', n])];
  const { stdout } = await execFileP('tshark', args, { maxBuffer: 64 * 1024 * 1024 });
  return stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
}

/** Second opinion: `podspan read --json` sees the tunnel and an inner Ethernet frame in every packet. */
async function podspanRead(file: string): Promise<Array<{ layers: string[]; tunnels: Array<{ type: string }>; status: string }>> {
  const { stdout } = await execFileP(process.execPath, [CLI, 'read', file, '--json'], { maxBuffer: 64 * 1024 * 1024 });
  return stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { layers: string[]; tunnels: Array<{ type: string }>; status: string });
}

t.before(async () => {
  await ip(['netns', 'add', NS]);
  await ip(['-n', NS, 'link', 'set', 'lo', 'up']);
});

t.test('gre://H?key=N (no gretap device in this kernel: tshark receives): GRE key N, 0x6558, no checksum or sequence as gretap sends, and the original frames', async (t) => {
  const url = 'gre://127.0.0.1?key=3000000000';
  const target = parseGreUrl(url);
  const frames = inputs();
  const { file, x } = await capture(t, 'gre', new GretapEncap(target.key), target.shape, url, frames);
  const want = expected(frames, 1500);
  const got = await tsharkTunnelFrames(file);
  t.equal(got.length, want.length, `${want.length} GRE packets (4 frames + 4 segments)`);
  t.ok(got.every((g) => g.tunnel === 'gre' && g.greProto === '0x6558'), 'GRE, transparent Ethernet bridging');
  t.same(got.map((g) => g.inner?.toString('hex')), want.map((w) => w.toString('hex')), 'inner frames byte for byte, in order');
  const f = await fields(file, ['gre.flags_and_version', 'gre.key', 'gre.sequence_number', 'gre.checksum']);
  t.same([...new Set(f.map((r) => r.join('|')))], ['0x2000|0xb2d05e00||'], 'only the K bit; key 3000000000 (0xb2d05e00); no sequence number, no checksum');
  t.same(x.counters, { exported: 5, export_truncated: 0, export_segmented: 1, export_segments: 4, export_queue_full: 0, export_send_error: 0 });
  const pr = await podspanRead(file);
  t.ok(pr.length === want.length && pr.every((p) => p.layers.filter((l) => l === 'eth').length === 2 && p.layers.includes('gre')), 'podspan read: eth, ipv4, gre, eth… in every packet');
});

t.test('gre://H without key: the 4-byte header', async (t) => {
  const target = parseGreUrl('gre://127.0.0.1');
  const { file } = await capture(t, 'gre-nokey', new GretapEncap(target.key), target.shape, target.url, inputs().slice(0, 2));
  const f = await fields(file, ['gre.flags_and_version', 'gre.key', 'gre.proto']);
  t.same(f, [['0x0000', '', '0x6558'], ['0x0000', '', '0x6558']]);
});

t.test('erspan://H?session=N&version=2 (no erspan device in this kernel: tshark receives): type II as a Linux erspan device (erspan_ver 1) sends it', async (t) => {
  const url = 'erspan://127.0.0.1?session=1001&version=2';
  const target = parseErspanUrl(url);
  const frames = inputs();
  const { file, x } = await capture(t, 'erspan2', new ErspanEncap(target), target.shape, url, frames);
  const want = expected(frames, 1500);
  const got = await tsharkTunnelFrames(file);
  t.equal(got.length, want.length);
  t.ok(got.every((g) => g.tunnel === 'erspan' && g.greProto === '0x88be'));
  t.same(got.map((g) => g.inner?.toString('hex')), want.map((w) => w.toString('hex')), 'inner frames byte for byte, in order');
  const f = await fields(file, ['gre.flags_and_version', 'gre.sequence_number', 'erspan.version', 'erspan.spanid', 'erspan.vlan', 'erspan.cos', 'erspan.encap', 'erspan.truncated', 'erspan.index']);
  t.same(
    f,
    [
      ['0x1000', '0', '1', '1001', '0', '5', '0', '0', '77'],
      ['0x1000', '1', '1', '1001', '100', '0', '3', '0', '77'],
      ['0x1000', '2', '1', '1001', '0', '3', '0', '0', '77'],
      ['0x1000', '3', '1', '1001', '0', '0', '0', '0', '77'],
      ['0x1000', '4', '1', '1001', '0', '0', '0', '0', '77'],
      ['0x1000', '5', '1', '1001', '0', '0', '0', '0', '77'],
      ['0x1000', '6', '1', '1001', '0', '0', '0', '0', '77'],
      ['0x1000', '7', '1', '1001', '0', '0', '0', '0', '77'],
    ],
    'S bit only, sequence 0,1,2… per packet, Ver 1, session, VLAN of the tag with En 3, COS = TOS >> 5, index = ifindex',
  );
  t.equal(x.counters.exported, 5);
  const pr = await podspanRead(file);
  t.ok(pr.length === want.length && pr.every((p) => p.layers.filter((l) => l === 'eth').length === 2 && p.tunnels.some((u) => u.type === 'erspan')), 'podspan read: an erspan tunnel and an inner Ethernet frame in every packet');
});

t.test('erspan://H?session=N&version=3 (no erspan device in this kernel: tshark receives): type III with the capture time in 100 µs units (Gra 0), P, BSO, Hw ID, direction', async (t) => {
  const url = 'erspan://127.0.0.1?session=7&version=3&hwid=33&dir=egress';
  const target = parseErspanUrl(url);
  const frames = inputs();
  const { file } = await capture(t, 'erspan3', new ErspanEncap(target), target.shape, url, frames);
  const want = expected(frames, 1500);
  const got = await tsharkTunnelFrames(file);
  t.ok(got.every((g) => g.tunnel === 'erspan' && g.greProto === '0x22eb'));
  t.same(got.map((g) => g.inner?.toString('hex')), want.map((w) => w.toString('hex')), 'inner frames byte for byte, in order');
  const ts = String((TS_SEC * 10_000 + Math.floor(TS_NSEC / 100_000)) % 2 ** 32);
  const f = await fields(file, ['gre.sequence_number', 'erspan.version', 'erspan.spanid', 'erspan.vlan', 'erspan.cos', 'erspan.bso', 'erspan.truncated', 'erspan.timestamp', 'erspan.sgt', 'erspan.p', 'erspan.ft', 'erspan.hw', 'erspan.direction', 'erspan.gra', 'erspan.o']);
  const tail = [ts, '0', '1', '0', '33', '1', '0', '0'];
  t.same(
    f,
    [
      ['0', '2', '7', '0', '5', '0', '0', ...tail],
      ['1', '2', '7', '100', '0', '0', '0', ...tail],
      ['2', '2', '7', '0', '3', '0', '0', ...tail],
      ['3', '2', '7', '0', '0', '1', '0', ...tail],
      ['4', '2', '7', '0', '0', '0', '0', ...tail],
      ['5', '2', '7', '0', '0', '0', '0', ...tail],
      ['6', '2', '7', '0', '0', '0', '0', ...tail],
      ['7', '2', '7', '0', '0', '0', '0', ...tail],
    ].map((r) => r.map((v) => (v === 'true' ? '1' : v))),
    'Ver 2; BSO 1 for the 42-byte frame; timestamp = capture time / 100 µs mod 2^32; P 1, FT 0, Hw ID, D egress, Gra 0, O 0',
  );
});

t.test('truncate=N and oversize=truncate: frames cut, T bit set, counted', async (t) => {
  const url = 'erspan://127.0.0.1?session=3&version=2&truncate=64';
  const target = parseErspanUrl(url);
  const frames = inputs();
  const { file, x } = await capture(t, 'erspan-trunc', new ErspanEncap(target), target.shape, url, frames);
  const got = await tsharkTunnelFrames(file);
  t.same(got.map((g) => g.inner?.toString('hex')), expected(frames, 1500, 64).map((w) => w.toString('hex')), 'every frame and segment cut to 64 bytes');
  const tr = await fields(file, ['erspan.truncated']);
  t.same(tr.map((r) => r[0]), ['1', '1', '1', '0', '1', '1', '1', '1'], 'T set on the cut ones (not on the 42-byte frame)');
  t.same(x.counters, { exported: 5, export_truncated: 4, export_segmented: 1, export_segments: 4, export_queue_full: 0, export_send_error: 0 });

  const url2 = 'gre://127.0.0.1?key=1&oversize=truncate&mtu=1000';
  const t2 = parseGreUrl(url2);
  const r2 = await capture(t, 'gre-trunc', new GretapEncap(t2.key), t2.shape, url2, frames);
  const got2 = await tsharkTunnelFrames(r2.file);
  t.same(got2.map((g) => g.inner?.length), [frames[0]!.length, frames[1]!.length, frames[2]!.length, 42, 1014], 'the super-frame cut to 14 + mtu, not segmented');
  t.same(r2.x.counters, { exported: 5, export_truncated: 1, export_segmented: 0, export_segments: 0, export_queue_full: 0, export_send_error: 0 });
});
