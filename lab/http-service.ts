/**
 * The lab's sample HTTP service, run inside a pod namespace:
 *
 *   node dist/lab/http-service.js [--port 8080] [--host 0.0.0.0] [--name server]
 *
 * Endpoints (responses small and deterministic, so captures can be compared):
 *   GET  /                 text banner
 *   GET  /health           {"status":"ok"}
 *   GET  /api/items        JSON list
 *   GET  /api/items/ID     one item, or 404 JSON
 *   POST /api/echo         echoes the body back as JSON {bytes, body} (body up to 1 MiB)
 *   GET  /bytes/N          N bytes of 'a'..'z' (N up to 16 MiB) for bulk transfers
 *   GET  /slow?ms=N        answers after N ms (up to 5000)
 *
 * Prints one JSON line {"event":"listening",...} on stdout when ready; exits on SIGTERM.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';

const MAX_ECHO_BYTES = 1024 * 1024;
const MAX_BYTES = 16 * 1024 * 1024;
const MAX_SLOW_MS = 5000;

const ITEMS = [
  { id: 1, name: 'alpha', price: 10 },
  { id: 2, name: 'beta', price: 20 },
  { id: 3, name: 'gamma', price: 30 },
] as const;

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function handle(name: string, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://lab');
  const path = url.pathname;
  if (req.method === 'GET' && path === '/') {
    const text = `podspan lab service ${name}\n`;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
    res.end(text);
    return;
  }
  if (req.method === 'GET' && path === '/health') {
    json(res, 200, { status: 'ok', service: name });
    return;
  }
  if (req.method === 'GET' && path === '/api/items') {
    json(res, 200, { items: ITEMS });
    return;
  }
  const item = /^\/api\/items\/(\d+)$/.exec(path);
  if (req.method === 'GET' && item !== null) {
    const found = ITEMS.find((i) => i.id === Number(item[1]));
    if (found === undefined) json(res, 404, { error: 'not found', id: Number(item[1]) });
    else json(res, 200, found);
    return;
  }
  if (req.method === 'POST' && path === '/api/echo') {
    const chunks: Buffer[] = [];
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      if (bytes <= MAX_ECHO_BYTES) chunks.push(c);
    });
    req.on('end', () => {
      if (bytes > MAX_ECHO_BYTES) {
        json(res, 413, { error: 'body too large', limit: MAX_ECHO_BYTES });
        return;
      }
      json(res, 200, { bytes, body: Buffer.concat(chunks).toString('utf8') });
    });
    return;
  }
  const bulk = /^\/bytes\/(\d+)$/.exec(path);
  if (req.method === 'GET' && bulk !== null) {
    const n = Math.min(Number(bulk[1]), MAX_BYTES);
    const chunk = Buffer.alloc(Math.min(n, 65536));
    for (let i = 0; i < chunk.length; i++) chunk[i] = 97 + (i % 26);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': n });
    let left = n;
    const pump = (): void => {
      while (left > 0) {
        const len = Math.min(left, chunk.length);
        left -= len;
        if (!res.write(chunk.subarray(0, len))) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
    return;
  }
  if (req.method === 'GET' && path === '/slow') {
    const ms = Math.max(0, Math.min(Number(url.searchParams.get('ms') ?? '100') || 0, MAX_SLOW_MS));
    setTimeout(() => json(res, 200, { slept: ms }), ms);
    return;
  }
  json(res, 404, { error: 'no such endpoint', method: req.method, path });
}

function main(): void {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '0.0.0.0' },
      name: { type: 'string', default: 'server' },
    },
  });
  const port = Number(values.port);
  const name = values.name ?? 'server';
  const server = createServer((req, res) => handle(name, req, res));
  server.keepAliveTimeout = 5000;
  server.listen(port, values.host, () => {
    process.stdout.write(JSON.stringify({ event: 'listening', service: name, port, host: values.host, pid: process.pid }) + '\n');
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
