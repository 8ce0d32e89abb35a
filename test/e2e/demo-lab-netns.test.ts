import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import type { DemoSummary } from '../../cli/demo.js';
import { DEMO_INJECTED_DIFFERENCE, labDown, listNetns, type LabOptions } from '../../lab/index.js';
import { CLI } from '../helpers/repo.js';
import { podspan } from '../helpers/run.js';

// `podspan demo` end to end on real network namespaces, under a test prefix and subnet
// (psl-dt-, 10.77.51.0/24) so a lab or demo someone has up is left alone: lab up with the
// shop v1, v2 and a client pod, load at v1, agent -> VXLAN -> collector -> pcapng, replay to
// v2 with diff, summary, lab down. Then: interrupted with SIGINT in the middle of the load,
// it still removes everything. Nothing of the lab may be left after either run.

const execFileP = promisify(execFile);
const PREFIX = 'psl-dt-';
const SUBNET = '10.77.51.0/24';
const LAB: LabOptions = { prefix: PREFIX, subnet: SUBNET };
const INJECTED = `${DEMO_INJECTED_DIFFERENCE.method} ${DEMO_INJECTED_DIFFERENCE.path}`;

const dir = mkdtempSync(join(tmpdir(), 'podspan-demo-e2e-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
t.teardown(() => labDown(LAB)); // only does something when a run below failed to clean up

/** Pids whose command line mentions `text` (our CLI processes carry the output directory). */
function pidsMentioning(text: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(text)) out.push(Number(p));
    } catch {
      // gone
    }
  }
  return out;
}

const LAB_SCRIPTS = ['demo-service.js', 'http-load.js'];
const baseline = new Set(LAB_SCRIPTS.flatMap(pidsMentioning));

/** Processes a demo run under `out` may have started that are still there. */
function demoPids(out: string): number[] {
  const pids = new Set([...pidsMentioning(out), ...pidsMentioning(`${PREFIX}node`), ...LAB_SCRIPTS.flatMap(pidsMentioning).filter((p) => !baseline.has(p))]);
  return [...pids].sort((a, b) => a - b);
}

function labLeftovers(): string[] {
  const left = listNetns().filter((n) => n.startsWith(PREFIX));
  if (existsSync(`/var/lib/podspan-lab/${PREFIX.replace(/-$/, '')}`)) left.push(`state dir /var/lib/podspan-lab/${PREFIX.replace(/-$/, '')}`);
  return left;
}

async function tsharkFrameCount(file: string): Promise<number> {
  const { stdout } = await execFileP('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.number'], { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 });
  return stdout.split('\n').filter((l) => l.trim() !== '').length;
}

t.test('podspan demo: >= 1000 requests captured, stored, replayed to v2; exactly the injected difference; lab gone', async (t) => {
  await labDown(LAB); // leftovers of a killed run
  const out = join(dir, 'run');
  const r = await podspan(['demo', '--prefix', PREFIX, '--subnet', SUBNET, '--out', out, '--json'], { timeoutMs: 240_000 });
  t.comment(r.stderr.trim());
  const s = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as DemoSummary;

  // Capture path: the client load, the agent, the collector, the file.
  t.ok(s.client.requests >= 1000, `${s.client.requests} requests`);
  t.equal(s.client.errors, 0, 'every request answered');
  t.equal(s.client.responses, s.client.requests);
  t.ok(s.client.connections >= s.client.clients, `${s.client.connections} keep-alive connections from ${s.client.clients} clients`);
  t.ok(Object.keys(s.client.endpoints).length >= 5, 'several endpoints');
  t.ok(Object.keys(s.client.endpoints).some((e) => e.startsWith('POST ')) && Object.keys(s.client.endpoints).some((e) => e.startsWith('GET ')), 'GET and POST');
  t.ok(s.agent !== undefined, 'agent summary parsed');
  t.equal(s.agent?.exitCode, 0, 'agent exited 0');
  t.equal(s.agent?.droppedByKernel, 0, 'agent: no kernel drops');
  t.equal(s.agent?.droppedByPodspan, 0, 'agent: no podspan drops');
  t.equal(s.agent?.notExported, 0, 'agent: every frame exported');
  t.equal(s.agent?.exportTruncated, 0, 'agent: no frame truncated on export');
  t.equal(s.agent?.exported, s.agent?.captured, 'exported == captured');
  t.equal(s.collector?.exitCode, 0, 'collector exited 0');
  t.equal(s.collector?.stages['vxlan']?.received, s.agent?.exported, 'the collector received every exported frame');
  t.equal(s.collector?.stages['vxlan']?.dropped, 0, 'collector: no drops');
  t.equal(s.store?.files.length, 1, 'one pcapng file');
  t.equal(s.store?.frames, s.agent?.exported, 'stored == exported');
  t.ok(s.files.pcapng !== undefined && existsSync(s.files.pcapng), `pcapng at ${String(s.files.pcapng)}`);
  if (s.files.pcapng !== undefined) t.equal(await tsharkFrameCount(s.files.pcapng), s.store?.frames, 'tshark reads the pcapng: frame count == the summary\'s');
  t.equal(s.flows?.tcp, s.client.connections, 'one TCP flow per client connection');
  t.ok(existsSync(s.files.summary), 'summary.json written');
  t.same(JSON.parse(readFileSync(s.files.summary, 'utf8')), s, 'summary.json == the printed summary');

  // Replay to v2 and the diff.
  t.equal(r.code, 0, `exit 0 (problems: ${JSON.stringify(s.problems)})`);
  t.equal(s.ok, true);
  const d = s.replay?.diff;
  t.ok(d !== undefined, 'the replay wrote a diff');
  t.ok((d?.replayed ?? 0) >= 1000, `${d?.replayed ?? 0} requests replayed`);
  t.equal(d?.replayed, s.client.responses, 'every request the client sent was replayed');
  t.same(d?.mismatches.map((m) => m.endpoint), [INJECTED], `exactly one mismatching endpoint: ${INJECTED}`);
  const inj = d?.mismatches[0];
  t.equal(inj?.mismatched, s.client.endpoints[INJECTED]?.count, `every ${INJECTED} differed`);
  t.ok(inj?.differences.some((x) => /totalCents/.test(`${x.what} ${x.example}`)), `what differed names totalCents: ${JSON.stringify(inj?.differences)}`);
  const others = Object.entries(d?.endpoints ?? {}).filter(([e]) => e !== INJECTED);
  t.ok(others.length >= 4, 'the other endpoints were replayed too');
  t.same(others.filter(([, e]) => e.mismatched !== 0), [], '0 mismatches on every other endpoint');
  t.equal(d?.matched, (d?.replayed ?? 0) - (inj?.mismatched ?? 0), 'everything else matched');
  t.equal(s.injected.found, true);
  t.equal(s.injected.onlyDifference, true);
  t.equal(s.replay?.summary?.replayed, d?.replayed, 'the replay\'s own count == lines in the diff');
  t.equal(s.replay?.summary?.mismatches, inj?.mismatched, 'the replay\'s own mismatch count agrees');
  t.same(s.replay?.summary?.shadowErrors, {}, 'v2 answered every request');
  t.equal(s.replay?.summary?.noProductionResponse, 0, 'every v1 response was captured');
  t.ok(existsSync(s.files.report) && statSync(s.files.report).size > 0, `HTML report at ${s.files.report}`);
  t.ok(readFileSync(s.files.report, 'utf8').includes(DEMO_INJECTED_DIFFERENCE.path), 'the report names the mismatching endpoint');
  t.match(r.stdout, /^\{/, 'with --json, stdout is the JSON summary');

  t.same(labLeftovers(), [], 'no lab namespace or state left');
  t.same(demoPids(out), [], 'no process of the demo left (agent, collector, replay, services, load)');
});

t.test('podspan demo interrupted by SIGINT during the load: exits 130 and removes everything', async (t) => {
  await labDown(LAB);
  const out = join(dir, 'interrupted');
  const child = spawn(process.execPath, [CLI, 'demo', '--prefix', PREFIX, '--subnet', SUBNET, '--out', out, '--requests', '20000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  t.teardown(() => clearTimeout(killer));
  const deadline = Date.now() + 90_000;
  while (!/client: \d+ requests from/.test(err) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
  t.match(err, /client: 20000 requests from/, 'the load started');
  await new Promise((r) => setTimeout(r, 500));
  child.kill('SIGINT');
  t.equal(await exited, 130, 'exit 130 (interrupted)');
  t.match(err, /SIGINT: stopping and cleaning up/);
  t.same(labLeftovers(), [], 'no lab namespace or state left');
  t.same(demoPids(out), [], 'no process of the demo left (agent, collector, services, load)');
  t.ok(existsSync(join(out, 'capture')), 'partial results stay in the output directory');
});

t.test('podspan demo refuses a non-empty --out before touching anything (exit 2)', async (t) => {
  const out = join(dir, 'busy');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'keep.txt'), 'mine\n');
  const r = await podspan(['demo', '--prefix', PREFIX, '--subnet', SUBNET, '--out', out]);
  t.equal(r.code, 2);
  t.match(r.stderr, /not empty/);
  t.same(labLeftovers(), []);
  t.same(readdirSync(out), ['keep.txt']);
});
