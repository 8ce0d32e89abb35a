import t from 'tap';
import type { Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ReceiveClock } from '../../collector/clock.js';
import { SourceTable } from '../../collector/ingest/source.js';
import { VXLAN_DROP_REASONS, VxlanListener } from '../../collector/ingest/vxlan.js';
import { CollectorMetrics } from '../../collector/metrics.js';
import { REPO_ROOT } from '../helpers/repo.js';
import { finishedFiles, inNetns, ip, listeningPorts, parseSummary, readStore, readStoredFile, sleep, startCollector } from './helpers.js';

// The kernel's socket receive-buffer drops are part of the ingest stage's balance:
// received == delivered + Σ dropped, with kernel_socket_drops among the reasons. Loss is
// forced by stalling the collector (SIGSTOP, or a blocked event loop) while a sender floods
// it with a bounded count, inside a namespace this test creates (gr-<pid>-d).

const NS = `gr-${process.pid}-d`;
const work = mkdtempSync(join(tmpdir(), 'gr-drops-'));
t.teardown(async () => {
  rmSync(work, { recursive: true, force: true });
  if (existsSync(`/var/run/netns/${NS}`)) await ip(['netns', 'del', NS]).catch(() => undefined);
});
t.before(async () => {
  await ip(['netns', 'add', NS]);
  await ip(['-n', NS, 'link', 'set', 'lo', 'up']);
});

/** Sends `count` VXLAN datagrams (VNI 9, 1000-byte frames) to 127.0.0.1:port one after another; prints how many the kernel accepted. */
const VXLAN_FLOOD = `
const s = require('node:dgram').createSocket('udp4');
const [port, count] = process.argv.slice(1).map(Number);
const hdr = Buffer.from('0800000000000900', 'hex');
const frame = Buffer.alloc(1000, 0x5a); frame.writeUInt16BE(0x0800, 12);
let i = 0, ok = 0;
(function next() {
  if (i >= count) { s.close(); process.stdout.write(String(ok)); return; }
  frame.writeUInt32BE(i, 14); i++;
  s.send([hdr, frame], port, '127.0.0.1', (e) => { if (!e) ok++; next(); });
})();`;

/** Sends `count` GRE (key 5, 0x6558) packets with 1000-byte frames to 127.0.0.1 on a raw socket; prints how many were sent. */
const GRE_FLOOD = `
import(process.argv[1]).then(({ RawIpSocket, IP_PROTO }) => {
  const count = Number(process.argv[2]);
  const s = RawIpSocket.open(IP_PROTO.GRE, { sendOnly: true });
  const hdr = Buffer.from('2000655800000005', 'hex');
  const frame = Buffer.alloc(1000, 0x5a); frame.writeUInt16BE(0x0800, 12);
  let ok = 0;
  for (let i = 0; i < count; i++) { frame.writeUInt32BE(i, 14); if (s.send([hdr, frame], '127.0.0.1')) ok++; }
  s.close();
  process.stdout.write(String(ok));
});`;

function checkBalance(t: Test, summary: string, stage: string, sent: number): void {
  const s = parseSummary(summary)[stage];
  t.ok(s, `${stage} line in the summary`);
  if (s === undefined) return;
  const drops = s.reasons['kernel_socket_drops'] ?? 0;
  t.ok(drops > 0, `the kernel dropped some (kernel_socket_drops=${drops})`);
  t.equal(s.received, sent, `${stage}: received (${s.received}) == datagrams sent (${sent}), the kernel's drops included`);
  t.equal(s.received, s.delivered + s.dropped, 'received == delivered + Σ dropped');
  t.equal(s.dropped, drops, 'the only drops are the kernel\'s');
}

t.test('VXLAN: collector stalled with SIGSTOP, sender floods; the kernel\'s drops are counted in summary and ISB', async (t) => {
  const store = join(work, 'vx');
  const c = await startCollector(t, ['--vxlan', '127.0.0.1:0', '--out', store], { netns: NS });
  const port = listeningPorts(c.stderr())[0]!;
  c.proc.kill('SIGSTOP');
  let sent = 0;
  try {
    // 12000 × ~1 KiB is past the 8 MiB the collector asks for (rmem_max caps it lower).
    sent = Number((await inNetns(NS, process.execPath, ['-e', VXLAN_FLOOD, String(port), '12000'], 60_000)).stdout);
  } finally {
    c.proc.kill('SIGCONT');
  }
  t.equal(sent, 12000, 'every datagram left the sender');
  await sleep(1500);
  const r = await c.stop('SIGINT');
  t.equal(r.code, 0);
  checkBalance(t, r.stderr, 'vxlan', sent);
  const s = parseSummary(r.stderr)['vxlan']!;
  t.equal(readStore(store).length, s.delivered, 'the store holds every delivered frame');
  const comments = finishedFiles(store).flatMap((f) => readStoredFile(f).stats.flatMap((x) => x.comments));
  t.ok(comments.some((c) => /^vxlan received=\d+ .*kernel_socket_drops=\d+/.test(c)), 'the ISB comments carry kernel_socket_drops');
});

t.test('GRE: the raw socket\'s kernel drops (SO_MEMINFO) are counted the same way', async (t) => {
  const store = join(work, 'gre');
  const c = await startCollector(t, ['--gre', '--out', store], { netns: NS });
  c.proc.kill('SIGSTOP');
  let sent = 0;
  try {
    // 15000 × ~1 KiB is past the 8 MiB (doubled by the kernel) the collector asks for.
    sent = Number((await inNetns(NS, process.execPath, ['-e', GRE_FLOOD, join(REPO_ROOT, 'dist', 'native', 'index.js'), '15000'], 60_000)).stdout);
  } finally {
    c.proc.kill('SIGCONT');
  }
  t.equal(sent, 15000);
  await sleep(1500);
  const r = await c.stop('SIGINT');
  t.equal(r.code, 0);
  checkBalance(t, r.stderr, 'gre', sent);
});

t.test('in process: a tiny SO_RCVBUF and a blocked event loop; Prometheus samples carry the drops', async (t) => {
  const metrics = new CollectorMetrics();
  const stage = metrics.stage('vxlan', VXLAN_DROP_REASONS);
  let delivered = 0;
  // node:dgram: a blocked event loop stops reading (the native receive thread would go on
  // reading into its slots; its drops are tested in test/collector/udp-batch-receiver.test.ts).
  const l = await VxlanListener.open({ host: '127.0.0.1', port: 0, sources: new SourceTable(), stage, clock: new ReceiveClock(), onFrame: () => delivered++, recvBufferBytes: 4096, native: false });
  t.teardown(() => l.close());
  // execFileSync blocks this event loop while the child floods: the socket is not read.
  const sent = Number(execFileSync(process.execPath, ['-e', VXLAN_FLOOD, String(l.port), '500'], { timeout: 30_000 }).toString());
  t.equal(sent, 500);
  await sleep(300);
  await l.close();
  t.ok(stage.dropped.kernel_socket_drops > 0, `kernel_socket_drops = ${stage.dropped.kernel_socket_drops}`);
  t.equal(stage.received, 500, 'received counts every datagram sent');
  t.equal(stage.delivered, delivered);
  t.ok(stage.balanced(), 'received == delivered + Σ dropped');
  const sample = metrics.samples().find((m) => m.name === 'podspan_collector_frames_dropped_total' && m.labels['reason'] === 'kernel_socket_drops');
  t.equal(sample?.value, stage.dropped.kernel_socket_drops, 'podspan_collector_frames_dropped_total{stage="vxlan",reason="kernel_socket_drops"}');
});
