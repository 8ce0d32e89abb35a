import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { buildVxlanHeader } from '../../packet/encap/vxlan.js';
import { startAgent, sleep } from '../agent/agent-helpers.js';
import { listeningPorts, sendDatagrams, startCollector, testFrame } from '../collector/helpers.js';
import { run } from '../helpers/run.js';
import { CLI } from '../helpers/repo.js';

const dir = mkdtempSync(join(tmpdir(), 'psl-metrics-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** GET http://ADDR/PATH → status and body. */
async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

function value(body: string, series: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function metricsUrl(stderr: string): string {
  const m = /metrics on (http:\/\/\S+\/metrics)/.exec(stderr);
  if (m === null) throw new Error(`no metrics address in: ${stderr}`);
  return m[1]!;
}

t.test('collector --metrics: Prometheus counters per stage that add up, process metrics, 404 elsewhere', async (t) => {
  const c = await startCollector(t, ['--vxlan', '127.0.0.1:0', '--out', join(dir, 'store'), '--metrics', '127.0.0.1:0']);
  for (let i = 0; i < 50 && !/metrics on/.test(c.stderr()); i++) await sleep(20);
  const url = metricsUrl(c.stderr());
  const port = listeningPorts(c.stderr())[0]!;
  const hdr = buildVxlanHeader(42);
  await sendDatagrams('127.0.0.1', port, [...Array.from({ length: 20 }, (_, i) => [hdr, testFrame(i)]), [Buffer.from('garbage')]]);
  await sleep(300);
  const m = await get(url);
  t.equal(m.status, 200);
  t.equal(value(m.body, 'podspan_collector_frames_received_total{stage="vxlan"}'), 21);
  t.equal(value(m.body, 'podspan_collector_frames_delivered_total{stage="vxlan"}'), 20);
  t.equal(value(m.body, 'podspan_collector_frames_dropped_total{stage="vxlan",reason="short"}'), 1, 'the 7-byte datagram counted as short');
  t.match(m.body, /^podspan_collector_process_resident_memory_bytes \d+/m, 'process metrics');
  t.equal((await get(url.replace('/metrics', '/nope'))).status, 404);
  t.equal((await get(url.replace('/metrics', '/healthz'))).body, 'ok\n');
  const r = await c.stop();
  t.equal(r.code, 0);
});

t.test('agent --metrics: frames captured and kernel counters per interface', async (t) => {
  const port = 47000 + (process.pid % 1000);
  const a = await startAgent(t, ['--iface', 'lo', '--filter', `udp dst port ${port}`, '-w', join(dir, 'a.pcapng'), '--metrics', '127.0.0.1:0']);
  await a.waitFor(/metrics on/);
  const url = metricsUrl(a.stderr());
  await sendDatagrams('127.0.0.1', port, Array.from({ length: 10 }, () => [Buffer.from('hello')]));
  let captured: number | undefined;
  for (let i = 0; i < 50; i++) {
    await sleep(100);
    captured = value((await get(url)).body, 'podspan_agent_frames_captured_total{iface="lo",pod=""}');
    if (captured === 10) break;
  }
  t.equal(captured, 10, 'the 10 datagrams');
  const body = (await get(url)).body;
  t.equal(value(body, 'podspan_agent_kernel_dropped_total{iface="lo",pod=""}'), 0);
  t.equal(value(body, 'podspan_agent_captures'), 1);
  t.equal(value(body, 'podspan_agent_frames_dropped_total{iface="lo",pod="",reason="batch_full"}'), 0);
  t.equal(await a.stop(), 0);
});

t.test('--metrics with a bad address or a port in use: exit 2, says what is wrong', async (t) => {
  let r = await run(process.execPath, [CLI, 'collector', '--vxlan', '127.0.0.1:0', '--out', join(dir, 's2'), '--metrics', 'nope']);
  t.equal(r.code, 2);
  t.match(r.stderr, /--metrics wants HOST:PORT/);
  const c = await startCollector(t, ['--vxlan', '127.0.0.1:0', '--out', join(dir, 's3'), '--metrics', '127.0.0.1:0']);
  for (let i = 0; i < 50 && !/metrics on/.test(c.stderr()); i++) await sleep(20);
  const busy = new URL(metricsUrl(c.stderr())).port;
  r = await run(process.execPath, [CLI, 'collector', '--vxlan', '127.0.0.1:0', '--out', join(dir, 's4'), '--metrics', `127.0.0.1:${busy}`]);
  t.equal(r.code, 2);
  t.match(r.stderr, /--metrics 127\.0\.0\.1:\d+: .*EADDRINUSE/);
  await c.stop();
});
