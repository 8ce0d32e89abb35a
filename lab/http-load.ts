/**
 * The demo's load driver, run inside the client pod's namespace:
 *
 *   node dist/lab/http-load.js URL [--requests N] [--clients C] [--per-connection K]
 *                                  [--seed S] [--timeout-ms MS]
 *
 * C concurrent clients share N requests (request i goes to client i mod C); each client
 * sends its requests one after another over a keep-alive connection and opens a new
 * connection every K requests (so a run has about N/K TCP connections, each closed by the
 * client with a FIN). The mix, drawn from a PRNG seeded with S (the same seed gives the
 * same requests in the same order on each connection):
 *
 *   GET  /api/products           15 %
 *   GET  /api/products/ID        25 %   (ID 1..10: 9 and 10 answer 404)
 *   GET  /api/search?q=TEXT      15 %
 *   GET  /health                 10 %
 *   POST /api/cart/quote         20 %   JSON body, 1-4 items
 *   POST /api/orders             15 %   JSON body, customer and 1-3 items, a bearer token
 *
 * Prints one JSON line on stdout at the end (HttpLoadResult in lab/load.ts): requests,
 * responses, errors, connections, per endpoint the count and the status codes. Exit status
 * 0 when every request got a response, 1 otherwise, 2 for bad arguments.
 */
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';

const MAX_REQUESTS = 100_000;
const MAX_CLIENTS = 64;

interface PlannedRequest {
  endpoint: string;
  method: 'GET' | 'POST';
  path: string;
  body: string | undefined;
  headers: Record<string, string>;
}

interface EndpointCount {
  count: number;
  statuses: Record<string, number>;
}

/** mulberry32: a small deterministic PRNG (the plan must not depend on Math.random). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEARCH_TERMS = ['espresso', 'milk', 'glass', 'coffee', 'cup', 'tea', 'grinder', 'tablets'] as const;

function items(rnd: () => number, max: number): Array<{ id: number; qty: number }> {
  const n = 1 + Math.floor(rnd() * max);
  const out: Array<{ id: number; qty: number }> = [];
  for (let i = 0; i < n; i++) out.push({ id: 1 + Math.floor(rnd() * 8), qty: 1 + Math.floor(rnd() * 5) });
  return out;
}

/** The whole run's requests, in global order. */
function plan(requests: number, seed: number): PlannedRequest[] {
  const rnd = prng(seed);
  const out: PlannedRequest[] = [];
  const base = { 'user-agent': 'podspan-demo-load/1', accept: 'application/json' };
  for (let i = 0; i < requests; i++) {
    const r = rnd() * 100;
    const id = `r-${String(i + 1).padStart(6, '0')}`;
    if (r < 15) {
      out.push({ endpoint: 'GET /api/products', method: 'GET', path: '/api/products', body: undefined, headers: { ...base, 'x-request-id': id } });
    } else if (r < 40) {
      const pid = 1 + Math.floor(rnd() * 10);
      out.push({ endpoint: 'GET /api/products/{id}', method: 'GET', path: `/api/products/${pid}`, body: undefined, headers: { ...base, 'x-request-id': id } });
    } else if (r < 55) {
      const q = SEARCH_TERMS[Math.floor(rnd() * SEARCH_TERMS.length)]!;
      out.push({ endpoint: 'GET /api/search', method: 'GET', path: `/api/search?q=${encodeURIComponent(q)}`, body: undefined, headers: { ...base, 'x-request-id': id } });
    } else if (r < 65) {
      out.push({ endpoint: 'GET /health', method: 'GET', path: '/health', body: undefined, headers: { 'user-agent': 'podspan-demo-load/1', 'x-request-id': id } });
    } else if (r < 85) {
      const body = JSON.stringify({ items: items(rnd, 4), coupon: rnd() < 0.3 ? 'WELCOME' : null });
      out.push({ endpoint: 'POST /api/cart/quote', method: 'POST', path: '/api/cart/quote', body, headers: { ...base, 'content-type': 'application/json', 'x-request-id': id } });
    } else {
      const customer = `c-${1 + Math.floor(rnd() * 40)}`;
      const body = JSON.stringify({ customer, items: items(rnd, 3), note: rnd() < 0.2 ? 'gift wrap, please' : '' });
      out.push({
        endpoint: 'POST /api/orders',
        method: 'POST',
        path: '/api/orders',
        body,
        headers: { ...base, 'content-type': 'application/json', authorization: `Bearer demo-token-${customer}`, 'x-request-id': id },
      });
    }
  }
  return out;
}

interface Outcome {
  status: number | undefined;
  error: string | undefined;
  newConnection: boolean;
}

function send(agent: Agent, host: string, port: number, req: PlannedRequest, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    let newConnection = false;
    let settled = false;
    const finish = (o: Omit<Outcome, 'newConnection'>): void => {
      if (settled) return;
      settled = true;
      resolve({ ...o, newConnection });
    };
    const headers: Record<string, string> = { ...req.headers };
    if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body));
    const r = request({ host, port, method: req.method, path: req.path, headers, agent }, (res) => {
      res.on('data', () => {});
      res.on('end', () => finish({ status: res.statusCode, error: undefined }));
      res.on('error', (e) => finish({ status: undefined, error: e.message }));
    });
    r.on('socket', () => {
      newConnection = !r.reusedSocket;
    });
    r.setTimeout(timeoutMs, () => r.destroy(new Error(`no response within ${timeoutMs} ms`)));
    r.on('error', (e) => finish({ status: undefined, error: e.message }));
    r.end(req.body);
  });
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      requests: { type: 'string', default: '1200' },
      clients: { type: 'string', default: '4' },
      'per-connection': { type: 'string', default: '100' },
      seed: { type: 'string', default: '1' },
      'timeout-ms': { type: 'string', default: '5000' },
    },
  });
  const url = positionals[0];
  const n = (v: string | undefined, max: number): number => {
    const x = Number(v);
    return Number.isInteger(x) && x >= 1 && x <= max ? x : NaN;
  };
  const requests = n(values.requests, MAX_REQUESTS);
  const clients = n(values.clients, MAX_CLIENTS);
  const perConnection = n(values['per-connection'], MAX_REQUESTS);
  const seed = n(values.seed, 0xffffffff);
  const timeoutMs = n(values['timeout-ms'], 600_000);
  if (url === undefined || [requests, clients, perConnection, seed, timeoutMs].some(Number.isNaN)) {
    process.stderr.write(`usage: http-load URL [--requests 1..${MAX_REQUESTS}] [--clients 1..${MAX_CLIENTS}] [--per-connection K] [--seed S] [--timeout-ms MS]\n`);
    return 2;
  }
  const target = new URL(url);
  const host = target.hostname;
  const port = Number(target.port === '' ? 80 : target.port);
  const all = plan(requests, seed);
  const endpoints: Record<string, EndpointCount> = {};
  let responses = 0;
  let errors = 0;
  let connections = 0;
  let firstError: string | undefined;
  const client = async (c: number): Promise<void> => {
    const mine = all.filter((_, i) => i % clients === c);
    let agent: Agent | undefined;
    for (let k = 0; k < mine.length; k++) {
      if (k % perConnection === 0) {
        agent?.destroy();
        agent = new Agent({ keepAlive: true, maxSockets: 1 });
      }
      const req = mine[k]!;
      const o = await send(agent!, host, port, req, timeoutMs);
      if (o.newConnection) connections++;
      const e = (endpoints[req.endpoint] ??= { count: 0, statuses: {} });
      e.count++;
      if (o.status !== undefined) {
        responses++;
        e.statuses[String(o.status)] = (e.statuses[String(o.status)] ?? 0) + 1;
      } else {
        errors++;
        firstError ??= `${req.method} ${req.path}: ${o.error ?? 'no response'}`;
      }
    }
    agent?.destroy();
  };
  await Promise.all(Array.from({ length: Math.min(clients, requests) }, (_, c) => client(c)));
  const result = { requests, responses, errors, connections, clients: Math.min(clients, requests), perConnection, seed, endpoints, ...(firstError !== undefined ? { firstError } : {}) };
  process.stdout.write(JSON.stringify(result) + '\n');
  return errors === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(String(e instanceof Error ? e.stack : e) + '\n');
    process.exitCode = 1;
  },
);
