/**
 * Shared by the replay tests: real traffic on loopback captured by tcpdump, and servers that
 * record what they receive per connection.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

interface Teardownable {
  teardown(fn: () => unknown): void;
}

/** A port on 127.0.0.1 nobody listens on (bound, then closed). */
export async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * Listens on 127.0.0.1 and returns the port. `belowEphemeral`: a port under Linux's ephemeral
 * range (32768+), as real services have, so that a connection picked up mid-stream (no SYN)
 * gets its client by the higher-port rule right.
 */
export async function listen(t: Teardownable, server: Server | HttpServer, opts: { belowEphemeral?: boolean } = {}): Promise<number> {
  if (opts.belowEphemeral === true) {
    for (let tries = 0; ; tries++) {
      const port = 20000 + Math.floor(Math.random() * 10000);
      const ok = await new Promise<boolean>((r) => {
        const onErr = (): void => r(false);
        server.once('error', onErr);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', onErr);
          r(true);
        });
      });
      if (ok) break;
      if (tries > 50) throw new Error('no free port below the ephemeral range');
    }
  } else await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  t.teardown(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return (server.address() as { port: number }).port;
}

/**
 * Captures loopback TCP traffic to `port` into `file` with tcpdump while `fn` runs. Ends only
 * once tcpdump has written everything: a UDP sentinel sent after `fn` must appear in the file
 * (written packet by packet with -U) before tcpdump is stopped.
 */
export async function captureLoopback(t: Teardownable, file: string, port: number, fn: () => Promise<void>): Promise<{ stderr: string }> {
  const sentinelPort = await deadPort();
  const proc = spawn('tcpdump', ['-i', 'lo', '-nn', '-s', '0', '-U', '--immediate-mode', '-B', '65536', '-w', file, `tcp port ${port} or udp port ${sentinelPort}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  let done = false;
  const exited = new Promise<void>((r) => proc.once('close', () => {
    done = true;
    r();
  }));
  t.teardown(async () => {
    if (!done) {
      proc.kill('SIGKILL');
      await exited;
    }
  });
  const deadline = Date.now() + 15_000;
  while (!err.includes('listening on')) {
    if (done || Date.now() > deadline) throw new Error(`tcpdump did not start: ${err}`);
    await sleep(20);
  }
  await fn();
  const mark = Buffer.from(`podspan-sentinel-${process.pid}-${Date.now()}`);
  const u = createSocket('udp4');
  for (let i = 0; i < 200; i++) {
    await new Promise<void>((r) => u.send(mark, sentinelPort, '127.0.0.1', () => r()));
    await sleep(25);
    let buf: Buffer;
    try {
      buf = readFileSync(file);
    } catch {
      continue;
    }
    if (buf.includes(mark)) break;
  }
  u.close();
  proc.kill('SIGINT');
  await exited;
  if (!/(^|\n)0 packets dropped by kernel/.test(err)) throw new Error(`tcpdump dropped packets: ${err}`);
  return { stderr: err };
}

/** One received request, as the server saw it. */
export interface SeenRequest {
  method: string;
  url: string;
  rawHeaders: string[];
  body: string;
}

/** An HTTP server that records each connection's requests in order and answers with `handler`. */
export function recordingServer(handler: (req: IncomingMessage, body: Buffer, res: ServerResponse) => void): { server: HttpServer; conns: SeenRequest[][] } {
  const conns: SeenRequest[][] = [];
  const perSocket = new WeakMap<Socket, SeenRequest[]>();
  const server = createHttpServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      let list = perSocket.get(req.socket);
      if (list === undefined) {
        list = [];
        perSocket.set(req.socket, list);
        conns.push(list);
      }
      list.push({ method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders.slice(), body: body.toString('latin1') });
      handler(req, body, res);
    });
  });
  return { server, conns };
}
