import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { inNetns, ip } from '../native/netns-fixture.js';
import { startAgent } from '../agent/agent-helpers.js';
import { wsPort } from '../agent/export-ws-helpers.js';
import { parseSummary, startCollector } from './helpers.js';
import { podspan, pidAlive } from '../helpers/run.js';

// `podspan agent --mode streams --to ws://` -> `podspan collector --ws --replay-to SHADOW
// --diff FILE`: real HTTP traffic across a veth between namespaces this test creates
// (psl-sm-<pid>-a|b, 10.77.80.0/24); the agent reassembles the pod side's TCP and ships the
// streams; the collector replays the client bytes to a shadow on 127.0.0.1 and diffs the
// shadow's answers with production's.

const dir = mkdtempSync(join(tmpdir(), 'podspan-replay-streams-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test('usage errors: --mode streams needs a ws:// target and no -w; --mode wants packets|streams', async (t) => {
  const noWs = await podspan(['agent', '--iface', 'lo', '--mode', 'streams', '--to', 'vxlan://127.0.0.1:4789'], { timeoutMs: 20_000 });
  t.equal(noWs.code, 2, 'no ws target: exit 2');
  t.match(noWs.stderr, /--mode streams .*--to ws:\/\/HOST:PORT/, `says why: ${noWs.stderr}`);
  const noTo = await podspan(['agent', '--iface', 'lo', '--mode', 'streams', '-w', join(dir, 'x.pcapng')], { timeoutMs: 20_000 });
  t.equal(noTo.code, 2, 'only -w: exit 2');
  t.match(noTo.stderr, /--mode streams/, noTo.stderr);
  const withW = await podspan(['agent', '--iface', 'lo', '--mode', 'streams', '--to', 'ws://127.0.0.1:9', '-w', join(dir, 'x.pcapng')], { timeoutMs: 20_000 });
  t.equal(withW.code, 2, 'ws target and -w: exit 2');
  t.match(withW.stderr, /--mode streams does not write packets: -w/, withW.stderr);
  const bad = await podspan(['agent', '--iface', 'lo', '--mode', 'frames', '--to', 'ws://127.0.0.1:9'], { timeoutMs: 20_000 });
  t.equal(bad.code, 2, 'unknown mode: exit 2');
  t.match(bad.stderr, /--mode wants packets or streams/, bad.stderr);
  t.notOk(existsSync(join(dir, 'x.pcapng')), 'nothing written');
});

/** Production: answers /price with {"price":10}, anything else with {"ok":true}. */
const PROD_SERVER = `
const http = require('node:http');
const s = http.createServer((req, res) => {
  let n = 0;
  req.on('data', (d) => { n += d.length; });
  req.on('end', () => {
    const body = req.url === '/price' ? '{"price":10}' : JSON.stringify({ ok: true, got: n });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
    res.end(body);
  });
});
s.listen(8080, process.argv[1], () => process.stdout.write('ready\\n'));
`;

/**
 * The client: CONNS keep-alive connections, REQS requests each, one at a time (each waits
 * for its whole response); prints, per connection, the hex of every byte it sent.
 */
const CLIENT = `
const net = require('node:net');
const [host, conns, reqs] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
function one(c) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(8080, host);
    const sent = [];
    let buf = Buffer.alloc(0);
    let i = 0;
    const next = () => {
      if (i === reqs) { sock.end(); return; }
      const path = c === 0 && i === 1 ? '/price' : '/item/' + c + '/' + i;
      const body = i % 2 === 1 ? 'x'.repeat(100 + 37 * c + i) : '';
      const req = Buffer.from((body ? 'POST ' : 'GET ') + path + ' HTTP/1.1\\r\\nhost: shop\\r\\nauthorization: Bearer s3cret-token\\r\\n' + (body ? 'content-length: ' + body.length + '\\r\\n' : '') + '\\r\\n' + body);
      sent.push(req);
      i++;
      sock.write(req);
    };
    sock.on('connect', next);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const h = buf.indexOf('\\r\\n\\r\\n');
        if (h < 0) return;
        const m = /content-length: (\\d+)/i.exec(buf.subarray(0, h).toString());
        const len = m ? Number(m[1]) : 0;
        if (buf.length < h + 4 + len) return;
        buf = buf.subarray(h + 4 + len);
        next();
      }
    });
    sock.on('close', () => resolve(Buffer.concat(sent).toString('hex')));
    sock.on('error', reject);
  });
}
(async () => {
  const out = [];
  for (let c = 0; c < conns; c++) out.push(await one(c));
  process.stdout.write(JSON.stringify(out) + '\\n');
})();
`;

interface Shadow {
  port: number;
  /** Bytes each accepted connection received. */
  conns: Buffer[];
}

/**
 * The shadow: answers /price with {"price":11} (the injected difference), anything else as
 * production does; records the raw bytes of every connection.
 */
async function shadow(t: { teardown(fn: () => unknown): void }): Promise<Shadow> {
  const sh: Shadow = { port: 0, conns: [] };
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    const i = sh.conns.push(Buffer.alloc(0)) - 1;
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      sh.conns[i] = Buffer.concat([sh.conns[i]!, d]);
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const h = buf.indexOf('\r\n\r\n');
        if (h < 0) return;
        const head = buf.subarray(0, h).toString('latin1');
        const m = /content-length: (\d+)/i.exec(head);
        const len = m !== null ? Number(m[1]) : 0;
        if (buf.length < h + 4 + len) return;
        const path = head.split(' ')[1];
        const body = path === '/price' ? '{"price":11}' : JSON.stringify({ ok: true, got: len });
        s.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
        buf = buf.subarray(h + 4 + len);
      }
    });
    s.on('error', () => undefined);
    s.on('end', () => s.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  sh.port = (server.address() as AddressInfo).port;
  return sh;
}

/** Namespaces psl-sm-<pid><tag>-a|b, a veth between them, production listening in b. */
async function lab(t: Test, tag: string): Promise<{ nsA: string; nsB: string; ifB: string; ipB: string }> {
  try {
    for (const n of readdirSync('/var/run/netns')) {
      const m = /^psl-sm-(\d+)[a-z]*-[ab]$/.exec(n);
      if (m !== null && !pidAlive(Number(m[1]))) await ip(['netns', 'del', n]).catch(() => undefined);
    }
  } catch {
    // no /var/run/netns yet
  }
  const nsA = `psl-sm-${process.pid}${tag}-a`;
  const nsB = `psl-sm-${process.pid}${tag}-b`;
  const ifA = `sm-${tag}a0`;
  const ifB = `sm-${tag}b0`;
  const ipB = '10.77.80.2';
  t.teardown(async () => {
    for (const ns of [nsA, nsB]) if (existsSync(`/var/run/netns/${ns}`)) await ip(['netns', 'del', ns]).catch(() => undefined);
  });
  await ip(['netns', 'add', nsA]);
  await ip(['netns', 'add', nsB]);
  for (const ns of [nsA, nsB]) await inNetns(ns, 'sysctl', ['-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  await ip(['-n', nsA, 'link', 'add', ifA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB]);
  await ip(['-n', nsA, 'addr', 'add', '10.77.80.1/24', 'dev', ifA]);
  await ip(['-n', nsB, 'addr', 'add', `${ipB}/24`, 'dev', ifB]);
  for (const [ns, dev] of [[nsA, ifA], [nsB, ifB], [nsA, 'lo'], [nsB, 'lo']] as const) await ip(['-n', ns, 'link', 'set', dev, 'up']);

  // Production in the "pod" namespace.
  const prod = spawn('ip', ['netns', 'exec', nsB, process.execPath, '-e', PROD_SERVER, ipB], { stdio: ['ignore', 'pipe', 'pipe'] });
  const prodExited = new Promise<void>((r) => prod.once('close', () => r()));
  t.teardown(async () => {
    prod.kill('SIGKILL');
    await prodExited;
  });
  await new Promise<void>((resolve, reject) => {
    prod.stdout!.once('data', () => resolve());
    prod.once('close', () => reject(new Error('production server did not start')));
  });

  return { nsA, nsB, ifB, ipB };
}

t.test('agent --mode streams -> collector --replay-to: the shadow gets every connection\'s client bytes, the diff finds the injected difference', async (t) => {
  const { nsA, nsB, ifB, ipB } = await lab(t, 'r');
  const sh = await shadow(t);
  const diff = join(dir, 'diff.jsonl');
  const collector = await startCollector(t, ['--ws', '127.0.0.1:0', '--insecure-no-token', '--replay-to', `127.0.0.1:${sh.port}`, '--diff', diff]);
  const url = `ws://127.0.0.1:${wsPort(collector.stderr())}`;
  const agent = await startAgent(t, ['--iface', ifB, '--netns', nsB, '--filter', 'tcp port 8080', '--mode', 'streams', '--to', url]);

  const CONNS = 6;
  const REQS = 5;
  const client = await inNetns(nsA, process.execPath, ['-e', CLIENT, ipB, String(CONNS), String(REQS)], 30_000);
  const sent = (JSON.parse(client.stdout.trim()) as string[]).map((h) => Buffer.from(h, 'hex'));
  t.equal(sent.length, CONNS, `${CONNS} client connections made`);

  // The agent seals its batch after 20 ms; the collector replays as events arrive.
  const deadline = Date.now() + 20_000;
  const total = sent.reduce((a, b) => a + b.length, 0);
  while (Date.now() < deadline && sh.conns.reduce((a, b) => a + b.length, 0) < total) await new Promise((r) => setTimeout(r, 50));
  t.equal(await agent.stop(), 0, `the agent exits 0:\n${agent.stderr()}`);
  await new Promise((r) => setTimeout(r, 500));
  const stopped = await collector.stop('SIGINT');
  t.equal(stopped.code, 0, `the collector exits 0:\n${stopped.stderr}`);

  t.equal(sh.conns.length, CONNS, 'one shadow connection per captured connection');
  const hex = (bs: Buffer[]): string[] => bs.map((b) => b.toString('hex')).sort();
  t.same(hex(sh.conns), hex(sent), 'every shadow connection received exactly the bytes one client connection sent');
  t.match(stopped.stderr, new RegExp(`replay HTTP diff: ${CONNS * REQS} responses compared, ${CONNS * REQS - 1} matching, 1 mismatching, 0 not compared`), 'every response compared, one mismatch');
  const lines = readFileSync(diff, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { path: string; match: boolean; differences: Array<{ kind: string; where: string }> });
  t.equal(lines.length, CONNS * REQS, 'one diff line per request');
  t.same(lines.filter((l) => !l.match).map((l) => [l.path, l.differences.map((d) => `${d.kind} ${d.where}`)]), [['/price', ['body $.price']]], 'the diff finds exactly the injected difference');
  t.notMatch(readFileSync(diff, 'utf8'), /s3cret-token/, 'credentials never written');
  const summary = parseSummary(stopped.stderr);
  const st = summary['streams'];
  t.ok(st !== undefined && st.received > 0 && st.received === st.delivered && st.dropped === 0, `streams stage: every event to the replay sink: ${JSON.stringify(st)}`);
});

t.test('no --replay-to: stream events are counted as no_stream_sink; a spool too small for an event closes its connection as agent_drop', async (t) => {
  const { nsA, nsB, ifB, ipB } = await lab(t, 'n');
  const collector = await startCollector(t, ['--ws', '127.0.0.1:0', '--insecure-no-token', '--out', join(dir, 'store-n')]);
  const url = `ws://127.0.0.1:${wsPort(collector.stderr())}`;
  const agent = await startAgent(t, ['--iface', ifB, '--netns', nsB, '--filter', 'tcp port 8080', '--mode', 'streams', '--to', url]);
  await inNetns(nsA, process.execPath, ['-e', CLIENT, ipB, '2', '3'], 30_000);
  t.equal(await agent.stop(), 0, `the agent exits 0:\n${agent.stderr()}`);
  const stopped = await collector.stop('SIGINT');
  t.equal(stopped.code, 0, stopped.stderr);
  const st = parseSummary(stopped.stderr)['streams'];
  t.ok(st !== undefined && st.received > 0 && st.delivered === 0 && st.dropped === st.received && st.reasons['no_stream_sink'] === st.received, `every event counted as no_stream_sink: ${JSON.stringify(st)}`);

  // A 1K spool cannot hold a 1100-byte data event: the agent drops it and tells the
  // collector the connection is broken; the shadow connection is reset (outcome gap).
  const sh = await shadow(t);
  const c2 = await startCollector(t, ['--ws', '127.0.0.1:0', '--insecure-no-token', '--replay-to', `127.0.0.1:${sh.port}`]);
  const url2 = `ws://127.0.0.1:${wsPort(c2.stderr())}`;
  const a2 = await startAgent(t, ['--iface', ifB, '--netns', nsB, '--filter', 'tcp port 8080', '--mode', 'streams', '--to', url2, '--spool-size', '1K']);
  const BIG = `
const net = require('node:net');
const s = net.connect(8080, process.argv[1], () => s.end('POST /big HTTP/1.1\\r\\nhost: shop\\r\\ncontent-length: 1100\\r\\n\\r\\n' + 'y'.repeat(1100)));
s.on('data', () => undefined);
s.on('close', () => process.stdout.write('done\\n'));
`;
  await inNetns(nsA, process.execPath, ['-e', BIG, ipB], 30_000);
  t.equal(await a2.stop(), 0, `the agent exits 0:\n${a2.stderr()}`);
  t.match(a2.stderr(), /export_spool_full_events|not exported/, 'the agent reports its summary');
  const s2 = await c2.stop('SIGINT');
  t.equal(s2.code, 0, s2.stderr);
  t.match(s2.stderr, /replay to [^:]+:\d+: 1 connections seen: replayed 0, partial 0, gap 1,/, `the connection is given up as gap:\n${s2.stderr}`);
  const full = 'POST /big HTTP/1.1\r\nhost: shop\r\ncontent-length: 1100\r\n\r\n' + 'y'.repeat(1100);
  t.ok(sh.conns.every((b) => b.length < full.length && full.startsWith(b.toString('latin1'))), 'the shadow never got the request with bytes missing or past the drop');
});
