import t, { type Test } from 'tap';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { podspan, run } from '../helpers/run.js';
import { writeSynthPcap } from '../helpers/synth-file.js';
import { recordLabCapture } from '../../bench/reassembly.js';

// Oracle: tcpflow 1.6 on the same capture. It names a flow's file
// SRC.SPORT-DST.DPORT with zero-padded IPv4 octets and ports; it zero-fills gaps, so only
// gap-free streams are compared. Two captures: a synthetic one (ISNs anywhere, wrap-around
// included) and one recorded in a lab of the test's own (psl-st-): real keep-alive HTTP
// and iperf3 bulk between two pods, taken by tcpdump on the server pod's veth.

const pad = (ip: string): string => ip.split('.').map((o) => o.padStart(3, '0')).join('.');
const tcpflowName = (from: string, to: string): string => {
  const [a, ap] = from.split(':') as [string, string];
  const [b, bp] = to.split(':') as [string, string];
  return `${pad(a)}.${ap.padStart(5, '0')}-${pad(b)}.${bp.padStart(5, '0')}`;
};

interface Dir {
  bytes: number;
  gapBytes: number;
  file: string | null;
}

interface Conn {
  client: string;
  server: string;
  c2s: Dir;
  s2c: Dir;
}

interface Compared {
  conns: Conn[];
  /** Stream directions compared byte for byte, and their bytes. */
  compared: number;
  bytes: number;
  /** Directions with data skipped: gaps (tcpflow fills them) or a reused 4-tuple. */
  skipped: number;
}

/** Runs both tools on `cap` and compares every gap-free stream direction; mismatches fail `t`. */
async function compareWithTcpflow(t: Test, cap: string, dir: string): Promise<Compared> {
  const tf = await run('tcpflow', ['-r', cap, '-o', join(dir, 'tcpflow')], { timeoutMs: 300_000 });
  t.equal(tf.code, 0, tf.stderr);
  const ps = await podspan(['streams', '--json', '-o', join(dir, 'podspan'), cap], { timeoutMs: 300_000 });
  t.equal(ps.code, 0, ps.stderr);
  const conns = ps.stdout.trim().split('\n').map((l) => JSON.parse(l) as Conn);
  const tcpflowFiles = new Set(readdirSync(join(dir, 'tcpflow')));
  const seen = new Map<string, number>();
  for (const c of conns) seen.set(`${c.client}-${c.server}`, (seen.get(`${c.client}-${c.server}`) ?? 0) + 1);
  let compared = 0;
  let bytes = 0;
  let skipped = 0;
  for (const c of conns) {
    for (const [from, to, d] of [[c.client, c.server, c.c2s], [c.server, c.client, c.s2c]] as const) {
      if (d.file === null) continue;
      // tcpflow numbers a reused 4-tuple its own way: only unique 4-tuples are compared.
      if (d.gapBytes !== 0 || seen.get(`${c.client}-${c.server}`) !== 1) {
        skipped++;
        continue;
      }
      const name = tcpflowName(from, to);
      if (!tcpflowFiles.has(name)) {
        t.fail(`tcpflow has no ${name}`);
        continue;
      }
      const mine = readFileSync(d.file);
      const theirs = readFileSync(join(dir, 'tcpflow', name));
      if (!mine.equals(theirs)) t.fail(`${name}: ${mine.length} bytes vs tcpflow's ${theirs.length}`);
      compared++;
      bytes += mine.length;
    }
  }
  return { conns, compared, bytes, skipped };
}

t.test('podspan streams writes the same bytes as tcpflow for every gap-free stream', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'podspan-tcpflow-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cap = join(dir, 'traffic.pcap');
  // Concurrent keep-alive HTTP and a few large responses; ISNs anywhere, wrap-around included.
  writeSynthPcap(cap, { connections: 300, requestsPerConnection: 4, responseBytes: 20000, concurrency: 32, udpEvery: 50, seed: 21 });
  const r = await compareWithTcpflow(t, cap, dir);
  t.equal(r.conns.length, 300, 'every connection');
  t.equal(r.compared, 600, `compared ${r.compared} stream directions, ${r.bytes} bytes, byte for byte`);
});

t.test('on a lab capture (real pods, keep-alive HTTP and iperf3 bulk), the same bytes as tcpflow for every gap-free stream', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'podspan-tcpflow-lab-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cap = join(dir, 'lab.pcap');
  const rec = await recordLabCapture({
    lab: { prefix: 'psl-st-', subnet: '10.77.41.0/24' },
    file: cap,
    targetBytes: 20e6,
    connsPerRound: 300,
    concurrency: 32,
    bulkBytesPerRound: 8e6,
  });
  t.ok(rec.bytes >= 20e6, `lab capture of ${(rec.bytes / 1e6).toFixed(1)} MB (${rec.http.connections} HTTP connections, ${rec.http.requests} requests; tcpdump: ${rec.tcpdump})`);
  t.equal(rec.http.errors, 0, 'every HTTP request answered');
  const r = await compareWithTcpflow(t, cap, dir);
  // HTTP connections plus iperf3's control and data connections, one round or more.
  t.ok(r.conns.length >= rec.http.connections, `${r.conns.length} connections`);
  t.ok(r.compared >= rec.http.connections * 2 * 0.95, `compared ${r.compared} stream directions, ${(r.bytes / 1e6).toFixed(1)} MB, byte for byte (${r.skipped} skipped: gaps or a reused 4-tuple)`);
});
