/**
 * `--metrics ADDR` for the agent and the collector: GET /metrics in Prometheus text format
 * (prom-client), the process's own metrics (CPU, resident memory, event-loop lag, open
 * fds) plus the counters the component reports through `samples()` at scrape time.
 * Anything else answers 404; /healthz answers 200 "ok".
 *
 * The counters are read when Prometheus scrapes, never pushed per packet (STYLE.md: count,
 * don't log; the hot paths only increment numbers).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

import { usageError } from './errors.js';
import { portNumber, splitHostPort } from './address.js';

/** One sample: the shape collector/metrics.ts and agent/metrics.ts both produce. */
export interface MetricSample {
  name: string;
  help: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricsServer {
  /** The address it listens on, "host:port". */
  readonly address: string;
  close(): Promise<void>;
}

/** Parses `HOST:PORT`, `:PORT` (all addresses) or `[V6]:PORT`. Usage error otherwise. */
export function parseMetricsAddress(text: string, cmd: string): { host: string; port: number } {
  const p = splitHostPort(text);
  const port = portNumber(p?.port);
  if (p === null || port === undefined) throw usageError(`${cmd}: --metrics wants HOST:PORT (e.g. :9090 or 127.0.0.1:9090), got "${text}"`);
  return { host: p.host === '' ? '::' : p.host, port };
}

/**
 * Serves `samples()` (names ending in _total become counters, the rest gauges) beside the
 * process metrics. Rejects with a usage error when the address cannot be bound.
 */
export async function startMetricsServer(addr: { host: string; port: number }, prefix: string, samples: () => MetricSample[], cmd: string): Promise<MetricsServer> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix });
  // Metrics are created on first sight of a name; their values are replaced on every scrape.
  const metrics = new Map<string, Counter<string> | Gauge<string>>();
  const refresh = (): void => {
    const now = samples();
    for (const m of metrics.values()) m.reset();
    for (const s of now) {
      let m = metrics.get(s.name);
      if (m === undefined) {
        const labelNames = Object.keys(s.labels);
        m = s.name.endsWith('_total') ? new Counter({ name: s.name, help: s.help || s.name, labelNames, registers: [registry] }) : new Gauge({ name: s.name, help: s.help || s.name, labelNames, registers: [registry] });
        metrics.set(s.name, m);
      }
      if (m instanceof Counter) m.inc(s.labels, s.value);
      else m.set(s.labels, s.value);
    }
  };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('try /metrics\n');
      return;
    }
    try {
      refresh();
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`podspan: metrics failed: ${(e as Error).message}\n`);
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (e: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`podspan: metrics failed: ${e.message}\n`),
    );
  });
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(usageError(`${cmd}: --metrics ${addr.host}:${addr.port}: ${e.message}`)));
    server.listen(addr.port, addr.host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  return {
    address: `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
