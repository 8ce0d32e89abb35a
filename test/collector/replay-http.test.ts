import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { podspan } from '../helpers/run.js';
import { captureLoopback, listen, recordingServer, type SeenRequest } from './replay-helpers.js';

const execFileP = promisify(execFile);
const N = 1000;
const SECRET_TOKEN = 'Bearer secret-token-XYZ';
const SECRET_COOKIE = 'session=supersecret';

/** v1 (production) and v2 (shadow): identical except /price, which v2 answers 11 instead of 10. */
function handler(variant: 'prod' | 'shadow') {
  return (req: IncomingMessage, body: Buffer, res: ServerResponse): void => {
    const url = req.url ?? '/';
    const json = (v: unknown, status = 200): void => {
      res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': Math.random().toString(36).slice(2) });
      res.end(req.method === 'HEAD' ? undefined : JSON.stringify(v));
    };
    if (url.startsWith('/echo')) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(body);
    } else if (url.startsWith('/price/')) {
      json({ id: url.slice(7), price: variant === 'shadow' ? 11 : 10, currency: 'EUR' });
    } else if (url.startsWith('/users/')) {
      res.setHeader('set-cookie', `sid=${Math.random()}`);
      json({ id: url.slice(7), name: `user ${url.slice(7)}`, generatedAt: Date.now() + Math.random(), roles: ['a', 'b'] });
    } else if (url.startsWith('/nothing')) {
      res.writeHead(204);
      res.end();
    } else if (url.startsWith('/upload')) {
      res.writeHead(201, { 'content-type': 'text/plain' });
      res.end(`stored ${body.length}`);
    } else json({ items: [1, 2, 3], page: url });
  };
}

/** 1000 requests over a keep-alive agent of 10 sockets, plus 2 connections of 3 pipelined requests. */
async function drive(port: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 10 });
  let next = 0;
  const one = (i: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const k = i % 10;
      const headers: Record<string, string> = { 'x-seq': String(i), 'x-user': `u${i % 7}` };
      let method = 'GET';
      let path = `/items?page=${i}`;
      let body: string | null = null;
      let chunked = false;
      let expect = false;
      if (k === 0) {
        method = 'POST';
        path = '/echo';
        body = `payload-${i}-${'x'.repeat(i % 50)}`;
        headers['content-type'] = 'text/plain';
      } else if (k === 1) {
        method = 'POST';
        path = '/echo';
        body = `chunked-${i}`;
        chunked = true;
      } else if (k === 2) path = `/price/${i}`;
      else if (k === 3) {
        path = `/users/${i}`;
        headers.authorization = SECRET_TOKEN;
        headers.cookie = SECRET_COOKIE;
      } else if (k === 4) method = 'HEAD';
      else if (k === 5) path = '/nothing';
      else if (k === 6) {
        method = 'PUT';
        path = `/upload/${i}`;
        body = 'u'.repeat(100 + i);
        expect = true;
        headers.expect = '100-continue';
        headers['content-length'] = String(body.length);
      }
      if (body !== null && !chunked && !expect) headers['content-length'] = String(Buffer.byteLength(body));
      const req = request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve());
      });
      req.on('error', reject);
      if (expect) req.on('continue', () => req.end(body));
      else if (chunked && body !== null) {
        req.write(body.slice(0, 4));
        req.end(body.slice(4));
      } else req.end(body ?? undefined);
    });
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (next < N) await one(next++);
    }),
  );
  agent.destroy();
  for (let c = 0; c < 2; c++) {
    await new Promise<void>((resolve, reject) => {
      const s = connect(port, '127.0.0.1');
      let got = '';
      s.on('data', (d: Buffer) => {
        got += d.toString('latin1');
        if ((got.match(/HTTP\/1\.1 200/g) ?? []).length === 3) s.end();
      });
      s.on('close', () => resolve());
      s.on('error', reject);
      s.write([1, 2, 3].map((k) => `GET /items?pipe=${c}-${k} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Seq: pipe-${c}-${k}\r\n\r\n`).join(''));
    });
  }
}

/** Per-connection request sequences, as comparable sorted strings. */
function sequences(conns: SeenRequest[][]): string[] {
  return conns.map((c) => JSON.stringify(c)).sort();
}

const dir = mkdtempSync(join(tmpdir(), 'hr-http-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const pcap = join(dir, 'prod.pcap');

t.test('replay of 1000 captured HTTP requests: same requests in order per connection, only the injected difference found', async (t) => {
  const prod = recordingServer(handler('prod'));
  const prodPort = await listen(t, prod.server);
  await captureLoopback(t, pcap, prodPort, () => drive(prodPort));
  const prodCount = prod.conns.reduce((a, c) => a + c.length, 0);
  t.equal(prodCount, N + 6, 'production served every request');

  const shadow = recordingServer(handler('shadow'));
  const shadowPort = await listen(t, shadow.server);
  const diffFile = join(dir, 'diff.jsonl');
  const report = join(dir, 'report.html');
  const r = await podspan(['replay', pcap, '--to', `127.0.0.1:${shadowPort}`, '--mode', 'http', '--speed', 'max', '--diff', diffFile, '--report', report, '--ignore-path', '$.generatedAt', '--json'], { timeoutMs: 120_000 });
  t.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as Record<string, unknown>;
  t.equal(s.connections, prod.conns.length, 'one captured connection per production connection');
  t.equal(s.requests, N + 6);
  t.equal(s.replayed, N + 6);
  t.equal(s.compared, N + 6);
  t.equal(s.mismatches, N / 10, 'every /price request, and nothing else');
  t.same(s.shadowErrors, {});
  t.same(s.skipped, {});
  t.match(r.stderr, /requests replayed: 1006/);

  t.same(sequences(shadow.conns), sequences(prod.conns), 'the shadow received the same requests (method, path, headers, body), in order per connection');

  const lines = readFileSync(diffFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { path: string; match: boolean; differences: { kind: string; where?: string }[]; production: { latencyUs: number } });
  t.equal(lines.length, N + 6);
  const bad = lines.filter((l) => !l.match);
  t.equal(bad.length, N / 10);
  t.ok(bad.every((l) => l.path.startsWith('/price/')), 'mismatches are all on /price');
  t.same([...new Set(bad.map((l) => JSON.stringify(l.differences)))], [JSON.stringify([{ kind: 'body', where: '$.price', production: '10', shadow: '11' }])]);
  t.ok(lines.every((l) => typeof l.production.latencyUs === 'number' && l.production.latencyUs >= 0), 'production latency from capture timestamps');

  const prodConns = prod.conns;
  const prodSequences = (f: (q: SeenRequest) => SeenRequest): string[] => prodConns.map((c) => JSON.stringify(c.map(f)));

  const html = readFileSync(report, 'utf8');
  for (const text of [readFileSync(diffFile, 'utf8'), html, r.stderr, r.stdout]) {
    t.notOk(text.includes('secret-token-XYZ') || text.includes('supersecret'), 'credentials never written');
  }
  t.notMatch(html, /<(script|link|img)\b|src=|href="http/i, 'self-contained: no scripts or external resources');

  t.test('headless chromium shows the counts and the mismatch rows', async (t) => {
    const profile = mkdtempSync(join(tmpdir(), 'hr-chromium-'));
    t.teardown(() => rmSync(profile, { recursive: true, force: true }));
    const { stdout } = await execFileP(
      'chromium',
      ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--dump-dom', `file://${report}`],
      { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
    );
    const cell = (id: string): string | undefined => new RegExp(`id="${id}">([^<]*)<`).exec(stdout)?.[1];
    t.equal(cell('count-requests'), String(N + 6));
    t.equal(cell('count-compared'), String(N + 6));
    t.equal(cell('count-mismatches'), String(N / 10));
    t.equal(cell('count-matches'), String(N + 6 - N / 10));
    const groups = /<table id="mismatch-groups">([\s\S]*?)<\/table>/.exec(stdout)?.[1] ?? '';
    const groupRows = groups.match(/<tr class="group">[\s\S]*?<\/tr>/g) ?? [];
    t.equal(groupRows.length, 1, 'one group: the injected difference');
    t.match(groupRows[0] ?? '', /GET \/price\/\{id\}[\s\S]*body[\s\S]*\$\.price[\s\S]*>100</);
    const rows = (/<table id="mismatch-rows">([\s\S]*?)<\/table>/.exec(stdout)?.[1] ?? '').match(/<tr class="row">/g) ?? [];
    t.equal(rows.length, N / 10, 'one row per mismatching request');
    t.match(stdout, /<svg id="latency-scatter"/);
    t.equal((stdout.match(/<circle /g) ?? []).length, N + 6, 'one dot per compared request');
  });

  t.test('rewrites and consistent sampling per connection', async (t) => {
    const sh = recordingServer(handler('prod'));
    const port = await listen(t, sh.server);
    const r = await podspan(['replay', pcap, '--to', `127.0.0.1:${port}`, '--speed', 'max', '--sample', '50', '--host', 'shadow.example', '--set-header', 'X-Shadow: yes', '--remove-header', 'Cookie', '--remove-header', 'X-User', '--json', '--ignore-path', '$.generatedAt'], { timeoutMs: 120_000 });
    t.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as { mode: string; replayed: number; sampledOut: number; mismatches: number };
    t.equal(s.mode, 'http', '--sample implies --mode http');
    t.ok(s.replayed > 0 && s.sampledOut > 0, `${s.replayed} replayed, ${s.sampledOut} sampled out`);
    t.equal(s.replayed + s.sampledOut, N + 6);
    t.equal(s.mismatches, 0);
    const rewrite = (q: SeenRequest): SeenRequest => {
      const h: string[] = [];
      for (let i = 0; i < q.rawHeaders.length; i += 2) {
        const n = q.rawHeaders[i]!.toLowerCase();
        if (n === 'cookie' || n === 'x-user') continue;
        h.push(q.rawHeaders[i]!, n === 'host' ? 'shadow.example' : q.rawHeaders[i + 1]!);
      }
      h.push('X-Shadow', 'yes');
      return { ...q, rawHeaders: h };
    };
    const want = new Set(prodSequences(rewrite));
    const got = sh.conns.map((c) => JSON.stringify(c));
    t.ok(got.every((g) => want.has(g)), 'every replayed connection is a whole captured connection, rewritten');
    t.equal(sh.conns.reduce((a, c) => a + c.length, 0), s.replayed);
  });

  t.test('a dead shadow: every request counted as a shadow error, nothing compared, exit 1', async (t) => {
    const { deadPort } = await import('./replay-helpers.js');
    const port = await deadPort();
    const r = await podspan(['replay', pcap, '--to', `127.0.0.1:${port}`, '--mode', 'http', '--speed', 'max', '--json'], { timeoutMs: 120_000 });
    t.equal(r.code, 1, 'exit 1: nothing reached the shadow');
    t.match(r.stderr, new RegExp(`podspan: replay: could not connect to 127\\.0\\.0\\.1:${port}: nothing was replayed`));
    const s = JSON.parse(r.stdout) as { replayed: number; compared: number; shadowErrors: Record<string, number> };
    t.equal(s.replayed, N + 6);
    t.equal(s.compared, 0);
    t.same(s.shadowErrors, { connect_failed: N + 6 });
  });

  t.test('a shadow that accepts but never answers: requests time out, counted, memory bounded by one request per connection', async (t) => {
    const { createServer } = await import('node:net');
    const mute = createServer((sock) => {
      sock.on('data', () => {});
      sock.on('error', () => {});
    });
    const port = await listen(t, mute);
    const r = await podspan(['replay', pcap, '--to', `127.0.0.1:${port}`, '--mode', 'http', '--speed', 'max', '--timeout', '0.05', '--concurrency', '128', '--json'], { timeoutMs: 120_000 });
    t.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as { replayed: number; compared: number; shadowErrors: Record<string, number>; targetConnections: number };
    t.equal(s.replayed, N + 6);
    t.equal(s.compared, 0);
    t.same(s.shadowErrors, { timeout: N + 6 });
    t.equal(s.targetConnections, N + 6, 'a timed-out connection is never reused (the late answer would be paired with the next request)');
  });

  t.test('a shadow that answers its first request twice: the extra answer is counted as unsolicited, not passed over in silence', async (t) => {
    const { createServer } = await import('node:net');
    const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
    const twice = createServer((sock) => {
      let seen = 0;
      let text = '';
      sock.on('error', () => {});
      sock.on('data', (d: Buffer) => {
        text += d.toString('latin1');
        const n = (text.match(/ HTTP\/1\.1\r\n/g) ?? []).length;
        // The first answer goes twice in one write: the second one is there before any next request.
        for (; seen < n; seen++) sock.write(seen === 0 ? OK + OK : OK);
      });
    });
    const port = await listen(t, twice);
    const r = await podspan(['replay', pcap, '--to', `127.0.0.1:${port}`, '--mode', 'http', '--speed', 'max', '--json'], { timeoutMs: 120_000 });
    t.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as { replayed: number; unsolicited: number };
    t.ok(s.unsolicited > 0, `${s.unsolicited} unsolicited answers counted`);
    t.match(r.stderr, /unsolicited bytes from the shadow/, 'and named in the summary');
  });

  t.test('outputs that fail: --diff on a full device keeps the summary and exits 1; a --report that is a directory is refused before the replay', async (t) => {
    const sh = recordingServer(handler('prod'));
    const port = await listen(t, sh.server);
    const full = await podspan(['replay', pcap, '--to', `127.0.0.1:${port}`, '--mode', 'http', '--speed', 'max', '--diff', '/dev/full'], { timeoutMs: 120_000 });
    t.equal(full.code, 1, 'exit 1');
    t.match(full.stderr, /podspan: responses compared: \d+/, 'the summary is there');
    t.match(full.stderr, /podspan: replay: --diff \/dev\/full: ENOSPC/, 'and the error names the flag');
    const before = sh.conns.length;
    const dirAsReport = await podspan(['replay', pcap, '--to', `127.0.0.1:${port}`, '--mode', 'http', '--report', tmpdir()], { timeoutMs: 60_000 });
    t.equal(dirAsReport.code, 1);
    t.match(dirAsReport.stderr, /--report .*: not a regular file/);
    t.equal(sh.conns.length, before, 'nothing was replayed');
  });

  t.test('with the original pacing (speed 1) and --rate, every sampled request is replayed', async (t) => {
    const sh = recordingServer(handler('prod'));
    const port = await listen(t, sh.server);
    const r = await podspan(['replay', pcap, '--to', `127.0.0.1:${port}`, '--mode', 'http', '--sample', '10', '--rate', '500', '--json', '--ignore-path', '$.generatedAt'], { timeoutMs: 120_000 });
    t.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as { replayed: number; sampledOut: number; mismatches: number; compared: number };
    t.ok(s.replayed > 0, `${s.replayed} replayed`);
    t.equal(s.replayed + s.sampledOut, N + 6);
    t.equal(s.compared, s.replayed);
    t.equal(sh.conns.reduce((a, c) => a + c.length, 0), s.replayed);
  });

  t.test('--sample-by a header keeps or drops every request with the same value', async (t) => {
    const sh = recordingServer(handler('prod'));
    const port = await listen(t, sh.server);
    const r = await podspan(['replay', pcap, '--to', `127.0.0.1:${port}`, '--mode', 'http', '--speed', 'max', '--sample', '50', '--sample-by', 'X-User', '--json', '--ignore-path', '$.generatedAt'], { timeoutMs: 120_000 });
    t.equal(r.code, 0, r.stderr);
    const users = new Map<string, number>();
    for (const c of sh.conns) for (const q of c) {
      const i = q.rawHeaders.findIndex((h, k) => k % 2 === 0 && h.toLowerCase() === 'x-user');
      const u = i >= 0 ? q.rawHeaders[i + 1]! : '';
      users.set(u, (users.get(u) ?? 0) + 1);
    }
    const all = new Map<string, number>();
    for (const c of prodConns) for (const q of c) {
      const i = q.rawHeaders.findIndex((h, k) => k % 2 === 0 && h.toLowerCase() === 'x-user');
      const u = i >= 0 ? q.rawHeaders[i + 1]! : '';
      all.set(u, (all.get(u) ?? 0) + 1);
    }
    t.ok(users.size > 0 && users.size < all.size, `${users.size} of ${all.size} header values sampled`);
    for (const [u, n] of users) t.equal(n, all.get(u), `all requests of ${JSON.stringify(u)} replayed`);
  });

});
