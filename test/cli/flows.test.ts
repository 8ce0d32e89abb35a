import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { podspan } from '../helpers/run.js';
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
