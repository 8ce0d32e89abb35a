/**
 * The demo's "shop" service, run inside a pod namespace in two versions:
 *
 *   node dist/lab/demo-service.js [--port 8080] [--host 0.0.0.0] [--name shop] [--variant v1|v2]
 *
 * Endpoints (every response a pure function of the request: no clocks, no random ids, no
 * state, so a replay of v1's traffic to another v1 answers byte for byte the same, Date
 * header aside):
 *   GET  /                     text banner
 *   GET  /health               {"status":"ok"}
 *   GET  /api/products         the catalogue
 *   GET  /api/products/ID      one product, or 404 JSON
 *   GET  /api/search?q=TEXT    products whose name contains TEXT
 *   POST /api/cart/quote       {"items":[{"id":1,"qty":2}],...} -> lines, subtotal, tax, total (cents)
 *   POST /api/orders           {"customer":"c-7","items":[...]} -> an order id derived from the body
 *
 * The one deliberate behavioural difference (DEMO_INJECTED_DIFFERENCE in lab/load.ts): v2's cart quote
 * forgets to add the tax to `total`. Every other endpoint answers exactly as v1 does,
 * including the order total, which both compute with tax.
 *
 * The name (--name) is not part of any response, so two instances differ only by variant.
 * Prints one JSON line {"event":"listening",...} on stdout when ready; exits on SIGTERM.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';

const MAX_BODY_BYTES = 64 * 1024;
const TAX_PERMILLE = 80;

const PRODUCTS = [
  { id: 1, name: 'espresso cup', priceCents: 650, stock: 120 },
  { id: 2, name: 'espresso machine', priceCents: 24900, stock: 8 },
  { id: 3, name: 'milk jug', priceCents: 1450, stock: 40 },
  { id: 4, name: 'coffee beans 1kg', priceCents: 2200, stock: 300 },
  { id: 5, name: 'grinder', priceCents: 8900, stock: 15 },
  { id: 6, name: 'tamper', priceCents: 1900, stock: 60 },
  { id: 7, name: 'cleaning tablets', priceCents: 990, stock: 500 },
  { id: 8, name: 'latte glass', priceCents: 720, stock: 90 },
] as const;

type Product = (typeof PRODUCTS)[number];

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** FNV-1a over the bytes: a deterministic id for a request body. */
function fnv1a(buf: Buffer): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < buf.length; i++) {
    h ^= buf.readUInt8(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

interface Line {
  id: number;
  name: string;
  qty: number;
  unitCents: number;
  lineCents: number;
}

/** Priced lines of a cart, or an error message for a bad cart. */
function priceItems(items: unknown): Line[] | string {
  if (!Array.isArray(items) || items.length === 0 || items.length > 50) return 'items must be a list of 1 to 50 {id, qty}';
  const lines: Line[] = [];
  for (const it of items as unknown[]) {
    const id = (it as { id?: unknown }).id;
    const qty = (it as { qty?: unknown }).qty;
    if (typeof id !== 'number' || typeof qty !== 'number' || !Number.isInteger(qty) || qty < 1 || qty > 99) return 'each item needs a numeric id and a qty from 1 to 99';
    const p: Product | undefined = PRODUCTS.find((x) => x.id === id);
    if (p === undefined) return `no product ${id}`;
    lines.push({ id, name: p.name, qty, unitCents: p.priceCents, lineCents: p.priceCents * qty });
  }
  return lines;
}

function taxOf(subtotalCents: number): number {
  return Math.round((subtotalCents * TAX_PERMILLE) / 1000);
}

function readBody(req: IncomingMessage, done: (body: Buffer | undefined) => void): void {
  const chunks: Buffer[] = [];
  let bytes = 0;
  req.on('data', (c: Buffer) => {
    bytes += c.length;
    if (bytes <= MAX_BODY_BYTES) chunks.push(c);
  });
  req.on('end', () => done(bytes > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks)));
}

function parseJson(buf: Buffer): unknown {
  try {
    return JSON.parse(buf.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function handle(variant: 'v1' | 'v2', req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://shop');
  const path = url.pathname;
  if (req.method === 'GET' && path === '/') {
    const text = 'podspan demo shop\n';
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
    res.end(text);
    return;
  }
  if (req.method === 'GET' && path === '/health') {
    json(res, 200, { status: 'ok' });
    return;
  }
  if (req.method === 'GET' && path === '/api/products') {
    json(res, 200, { products: PRODUCTS, count: PRODUCTS.length });
    return;
  }
  const one = /^\/api\/products\/(\d{1,6})$/.exec(path);
  if (req.method === 'GET' && one !== null) {
    const id = Number(one[1]);
    const p = PRODUCTS.find((x) => x.id === id);
    if (p === undefined) json(res, 404, { error: 'no such product', id });
    else json(res, 200, p);
    return;
  }
  if (req.method === 'GET' && path === '/api/search') {
    const q = (url.searchParams.get('q') ?? '').toLowerCase().slice(0, 64);
    const hits = PRODUCTS.filter((p) => q !== '' && p.name.includes(q)).map((p) => ({ id: p.id, name: p.name, priceCents: p.priceCents }));
    json(res, 200, { q, hits, count: hits.length });
    return;
  }
  if (req.method === 'POST' && (path === '/api/cart/quote' || path === '/api/orders')) {
    readBody(req, (buf) => {
      if (buf === undefined) {
        json(res, 413, { error: 'body too large', limit: MAX_BODY_BYTES });
        return;
      }
      const body = parseJson(buf) as { items?: unknown; customer?: unknown } | undefined;
      if (body === undefined || body === null || typeof body !== 'object') {
        json(res, 400, { error: 'body must be JSON' });
        return;
      }
      const lines = priceItems(body.items);
      if (typeof lines === 'string') {
        json(res, 422, { error: lines });
        return;
      }
      const subtotalCents = lines.reduce((a, l) => a + l.lineCents, 0);
      const taxCents = taxOf(subtotalCents);
      if (path === '/api/cart/quote') {
        // The injected difference: v2 leaves the tax out of the total.
        const totalCents = variant === 'v2' ? subtotalCents : subtotalCents + taxCents;
        json(res, 200, { lines, subtotalCents, taxCents, totalCents, currency: 'EUR' });
        return;
      }
      const customer = typeof body.customer === 'string' ? body.customer.slice(0, 64) : 'anonymous';
      json(res, 201, { order: `o-${fnv1a(buf)}`, customer, status: 'accepted', items: lines.length, totalCents: subtotalCents + taxCents, currency: 'EUR' });
    });
    return;
  }
  json(res, 404, { error: 'no such endpoint', method: req.method, path });
}

function main(): void {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '0.0.0.0' },
      name: { type: 'string', default: 'shop' },
      variant: { type: 'string', default: 'v1' },
    },
  });
  const variant = values.variant;
  if (variant !== 'v1' && variant !== 'v2') {
    process.stderr.write(`demo-service: --variant wants v1 or v2, got "${String(variant)}"\n`);
    process.exit(2);
  }
  const port = Number(values.port);
  const server = createServer((req, res) => handle(variant, req, res));
  server.keepAliveTimeout = 30_000;
  server.listen(port, values.host, () => {
    process.stdout.write(JSON.stringify({ event: 'listening', service: values.name, variant, port, host: values.host, pid: process.pid }) + '\n');
  });
  const stop = (): void => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
