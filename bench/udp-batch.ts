/**
 * bench/udp-batch: node:dgram against the native UdpBatchSocket (sendmmsg / recvmmsg
 * thread), same run, on 127.0.0.1, 68-byte datagrams (an 8-byte VXLAN header + a 60-byte
 * frame, as the pipeline sends them).
 *
 * Send: this process sends for S seconds as fast as it can, [header, frame] gathered per
 * datagram (node:dgram: send([header, frame]) with at most 1024 sends in flight; native:
 * sendBatch of 1024 rows of one capture-shaped batch); a child process (native receiver)
 * counts what arrives. Printed: datagrams/s sent and CPU µs per datagram of the sender
 * (user + system of this process: on the loopback that includes the kernel's delivery to
 * the receiving socket, the same for both).
 *
 * Receive: a child process sends with the native socket at a fixed offered rate; this
 * process receives for S seconds with node:dgram ('message' per datagram) or the native
 * socket (one callback per batch). Printed: datagrams/s received, loss, CPU µs per datagram
 * of the receiver.
 *
 * usage: node dist/bench/udp-batch.js [--seconds 2] [--rate 200000]
 * Not part of the test suite.
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { CAPTURE_META, CAPTURE_META_COLS, UdpBatchSocket, nativeAvailable } from '../native/index.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '2' },
    rate: { type: 'string', default: '200000' },
    role: { type: 'string' },
    port: { type: 'string' },
  },
});
const SECONDS = Number(values.seconds);
const RATE = Number(values.rate);
const FRAME = 60;
const BATCH = 1024;
const HEADER = Buffer.from([0x08, 0, 0, 0, 0, 0, 42, 0]);

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** A capture-shaped batch of BATCH 60-byte frames. */
function batch(): { data: Buffer; meta: Float64Array } {
  const data = Buffer.alloc(BATCH * FRAME, 0x11);
  const meta = new Float64Array(BATCH * CAPTURE_META_COLS);
  for (let i = 0; i < BATCH; i++) {
    meta[i * CAPTURE_META_COLS + CAPTURE_META.OFFSET] = i * FRAME;
    meta[i * CAPTURE_META_COLS + CAPTURE_META.CAP_LEN] = FRAME;
  }
  return { data, meta };
}

// ---------------------------------------------------------------------------------------
// Child roles

/** Receives with the native socket until SIGTERM; prints {received, kernelDrops}. */
async function sink(): Promise<void> {
  const rx = UdpBatchSocket.open({ bindAddress: '127.0.0.1', rcvBufBytes: 8 * 1024 * 1024 });
  let received = 0;
  rx.onBatch((b) => {
    received += b.count;
  }).start();
  process.stdout.write(`${rx.localPort}\n`);
  await new Promise<void>((r) => process.once('SIGTERM', () => r()));
  const s = rx.stats();
  await rx.close();
  process.stdout.write(JSON.stringify({ received, kernelDrops: s.kernelDrops }) + '\n');
}

/** Sends at `rate` datagrams/s (paced per millisecond) until SIGTERM; prints {sent}. */
async function source(port: number): Promise<void> {
  const tx = UdpBatchSocket.open({ remoteAddress: '127.0.0.1', remotePort: port });
  const { data, meta } = batch();
  let sent = 0;
  let stop = false;
  process.once('SIGTERM', () => {
    stop = true;
  });
  const t0 = process.hrtime.bigint();
  while (!stop) {
    const due = Math.floor((Number(process.hrtime.bigint() - t0) / 1e9) * RATE);
    let want = due - sent;
    while (want > 0) {
      const n = Math.min(want, BATCH);
      const r = tx.sendBatch(HEADER, data, meta, { count: n, maxWaitMs: 1 });
      sent += r.sent;
      want -= n;
      if (r.sent < n) break;
    }
    await sleep(1);
  }
  await tx.close();
  process.stdout.write(JSON.stringify({ sent }) + '\n');
}

// ---------------------------------------------------------------------------------------
// Parent

interface Child {
  firstLine: Promise<string>;
  stop(): Promise<Record<string, number>>;
}

function child(args: string[]): Child {
  const p = spawn(process.execPath, [fileURLToPath(import.meta.url), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let resolveFirst: (s: string) => void = () => undefined;
  const firstLine = new Promise<string>((r) => (resolveFirst = r));
  p.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    const nl = out.indexOf('\n');
    if (nl >= 0) resolveFirst(out.slice(0, nl));
  });
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  return {
    firstLine,
    stop: async () => {
      p.kill('SIGTERM');
      await exited;
      const lines = out.trim().split('\n');
      return JSON.parse(lines[lines.length - 1]!) as Record<string, number>;
    },
  };
}

interface SendResult {
  sentPerSec: number;
  cpuUsPerDgram: number;
  received: number;
  sent: number;
}

async function sendDgram(port: number): Promise<SendResult> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const frame = Buffer.alloc(FRAME, 0x11);
  let sent = 0;
  let inflight = 0;
  const end = Date.now() + SECONDS * 1000;
  const c0 = cpuUs();
  const t0 = process.hrtime.bigint();
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      if (Date.now() >= end) {
        if (inflight === 0) resolve();
        return;
      }
      while (inflight < 1024) {
        inflight++;
        sock.send([HEADER, frame], port, '127.0.0.1', (err) => {
          inflight--;
          if (!err) sent++;
          if (inflight === 0) setImmediate(pump);
        });
      }
    };
    pump();
  });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = cpuUs() - c0;
  await new Promise<void>((r) => sock.close(() => r()));
  return { sentPerSec: sent / secs, cpuUsPerDgram: cpu / sent, received: 0, sent };
}

async function sendNative(port: number): Promise<SendResult> {
  const tx = UdpBatchSocket.open({ remoteAddress: '127.0.0.1', remotePort: port });
  const { data, meta } = batch();
  let sent = 0;
  const end = Date.now() + SECONDS * 1000;
  const c0 = cpuUs();
  const t0 = process.hrtime.bigint();
  while (Date.now() < end) {
    sent += tx.sendBatch(HEADER, data, meta, { count: BATCH }).sent;
    // Yield like a capture loop would between batches.
    if ((sent & 0x3fff) < BATCH) await new Promise((r) => setImmediate(r));
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = cpuUs() - c0;
  await tx.close();
  return { sentPerSec: sent / secs, cpuUsPerDgram: cpu / sent, received: 0, sent };
}

interface RecvResult {
  offered: number;
  received: number;
  perSec: number;
  cpuUsPerDgram: number;
  kernelDrops: number | undefined;
}

async function recvDgram(): Promise<RecvResult> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  sock.setRecvBufferSize(8 * 1024 * 1024);
  let received = 0;
  let bytes = 0;
  sock.on('message', (m) => {
    received++;
    bytes += m.length;
  });
  return recvRun(sock.address().port, () => received, () => undefined, () => new Promise<void>((r) => sock.close(() => r())));
}

async function recvNative(): Promise<RecvResult> {
  const rx = UdpBatchSocket.open({ bindAddress: '127.0.0.1', rcvBufBytes: 8 * 1024 * 1024 });
  let received = 0;
  rx.onBatch((b) => {
    received += b.count;
  }).start();
  return recvRun(rx.localPort, () => received, () => rx.stats().kernelDrops, () => rx.close());
}

async function recvRun(port: number, count: () => number, drops: () => number | undefined, close: () => Promise<void>): Promise<RecvResult> {
  const src = child(['--role', 'source', '--port', String(port), '--rate', String(RATE)]);
  await sleep(300); // warm-up
  const r0 = count();
  const c0 = cpuUs();
  const t0 = process.hrtime.bigint();
  await sleep(SECONDS * 1000);
  const r1 = count();
  const cpu = cpuUs() - c0;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const { sent } = await src.stop();
  await sleep(200);
  const kd = drops();
  const received = count();
  await close();
  return { offered: sent!, received, perSec: (r1 - r0) / secs, cpuUsPerDgram: cpu / Math.max(1, r1 - r0), kernelDrops: kd };
}

async function main(): Promise<void> {
  if (values.role === 'sink') return sink();
  if (values.role === 'source') return source(Number(values.port));
  if (!nativeAvailable()) {
    process.stderr.write('the native addon does not load: run `npm ci` (or npx node-gyp build)\n');
    process.exit(1);
  }
  const f = (n: number, d = 0): string => n.toFixed(d);
  process.stdout.write(`udp-batch bench: 127.0.0.1, ${FRAME + HEADER.length}-byte datagrams, ${SECONDS} s per run\n\n`);

  process.stdout.write('send (as fast as possible; receiver: native, another process)\n');
  const sends: Array<[string, SendResult]> = [];
  for (const [label, fn] of [
    ['node:dgram', sendDgram],
    ['native sendmmsg', sendNative],
  ] as const) {
    const sk = child(['--role', 'sink']);
    const port = Number(await sk.firstLine);
    const r = await fn(port);
    await sleep(200);
    const got = await sk.stop();
    r.received = got['received']!;
    sends.push([label, r]);
    process.stdout.write(`  ${label.padEnd(16)} ${f(r.sentPerSec).padStart(9)} dgram/s  ${r.cpuUsPerDgram.toFixed(2).padStart(6)} us CPU/dgram  (sent ${r.sent}, received ${r.received}, kernel drops at receiver ${got['kernelDrops']})\n`);
  }
  const [, sd] = sends[0]!;
  const [, sn] = sends[1]!;
  process.stdout.write(`  ratio native/dgram: rate ${(sn.sentPerSec / sd.sentPerSec).toFixed(2)}x, CPU per datagram ${(sn.cpuUsPerDgram / sd.cpuUsPerDgram).toFixed(2)}x\n\n`);

  process.stdout.write(`receive (offered ${RATE} dgram/s by a native sender in another process)\n`);
  const recvs: Array<[string, RecvResult]> = [];
  for (const [label, fn] of [
    ['node:dgram', recvDgram],
    ['native recvmmsg', recvNative],
  ] as const) {
    const r = await fn();
    recvs.push([label, r]);
    const lost = r.offered - r.received;
    process.stdout.write(
      `  ${label.padEnd(16)} ${f(r.perSec).padStart(9)} dgram/s  ${r.cpuUsPerDgram.toFixed(2).padStart(6)} us CPU/dgram  (offered ${r.offered}, received ${r.received}, lost ${lost} = ${((100 * lost) / Math.max(1, r.offered)).toFixed(2)} %${r.kernelDrops !== undefined ? `, kernel drop counter ${r.kernelDrops}` : ''})\n`,
    );
  }
  const [, rd] = recvs[0]!;
  const [, rn] = recvs[1]!;
  process.stdout.write(`  ratio native/dgram: CPU per datagram ${(rn.cpuUsPerDgram / rd.cpuUsPerDgram).toFixed(2)}x\n`);
}

await main();
