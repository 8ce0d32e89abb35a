import t from 'tap';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { podspan, run } from '../helpers/run.js';
import { writeSynthPcap } from '../helpers/synth-file.js';

// Oracle: tcpflow 1.6 on the same capture. It names a flow's file
// SRC.SPORT-DST.DPORT with zero-padded IPv4 octets and ports; it zero-fills gaps, so only
// gap-free streams are compared.

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

t.test('podspan streams writes the same bytes as tcpflow for every gap-free stream', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'podspan-tcpflow-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cap = join(dir, 'traffic.pcap');
  // Concurrent keep-alive HTTP and a few large responses; ISNs anywhere, wrap-around included.
  writeSynthPcap(cap, { connections: 300, requestsPerConnection: 4, responseBytes: 20000, concurrency: 32, udpEvery: 50, seed: 21 });
  const tf = await run('tcpflow', ['-r', cap, '-o', join(dir, 'tcpflow')], { timeoutMs: 120_000 });
  t.equal(tf.code, 0, tf.stderr);
  const ps = await podspan(['streams', '--json', '-o', join(dir, 'podspan'), cap], { timeoutMs: 120_000 });
  t.equal(ps.code, 0, ps.stderr);
  const conns = ps.stdout.trim().split('\n').map((l) => JSON.parse(l) as { client: string; server: string; c2s: Dir; s2c: Dir });
  t.equal(conns.length, 300, 'every connection');
  const tcpflowFiles = new Set(readdirSync(join(dir, 'tcpflow')));
  let compared = 0;
  let bytes = 0;
  for (const c of conns) {
    for (const [from, to, d] of [[c.client, c.server, c.c2s], [c.server, c.client, c.s2c]] as const) {
      if (d.gapBytes !== 0 || d.file === null) continue;
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
  t.equal(compared, 600, `compared ${compared} stream directions, ${bytes} bytes, byte for byte`);
});
