/**
 * Shared by the WebSocket tunnel tests: the psl-ws- namespaces (10.77.60.0/24), a token
 * file, a CA and certificates made with the openssl CLI, a paced UDP sender, and parsing
 * of the agent's ws export summary line.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { inNetns, ip } from '../native/netns-fixture.js';
import { pidAlive } from '../helpers/run.js';

const execFileP = promisify(execFile);

interface Teardownable {
  teardown(fn: () => unknown): void;
}

export interface WsLab {
  nsA: string;
  nsB: string;
  /** In nsA (the sender's side) and nsB (the mirrored "pod" side the agent captures). */
  ifA: string;
  ifB: string;
  ipA: string;
  ipB: string;
}

/**
 * Namespaces psl-ws-<pid><tag>-a|b joined by a veth (10.77.60.<base+1> <-> .<base+2>), IPv6
 * off. Deleted on teardown; stale ones of dead test processes are removed first.
 */
export async function makeWsLab(t: Teardownable, tag: string, base: number): Promise<WsLab> {
  try {
    for (const n of readdirSync('/var/run/netns')) {
      const m = /^psl-ws-(\d+)[a-z]*-[ab]$/.exec(n);
      if (m !== null && !pidAlive(Number(m[1]))) await ip(['netns', 'del', n]).catch(() => undefined);
    }
  } catch {
    // no /var/run/netns yet
  }
  const lab: WsLab = {
    nsA: `psl-ws-${process.pid}${tag}-a`,
    nsB: `psl-ws-${process.pid}${tag}-b`,
    ifA: 'ws-a0',
    ifB: 'ws-b0',
    ipA: `10.77.60.${base + 1}`,
    ipB: `10.77.60.${base + 2}`,
  };
  t.teardown(async () => {
    for (const ns of [lab.nsA, lab.nsB]) if (existsSync(`/var/run/netns/${ns}`)) await ip(['netns', 'del', ns]).catch(() => undefined);
  });
  await ip(['netns', 'add', lab.nsA]);
  await ip(['netns', 'add', lab.nsB]);
  for (const ns of [lab.nsA, lab.nsB]) await inNetns(ns, 'sysctl', ['-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  await ip(['-n', lab.nsA, 'link', 'add', lab.ifA, 'type', 'veth', 'peer', 'name', lab.ifB, 'netns', lab.nsB]);
  await ip(['-n', lab.nsA, 'addr', 'add', `${lab.ipA}/24`, 'dev', lab.ifA]);
  await ip(['-n', lab.nsB, 'addr', 'add', `${lab.ipB}/24`, 'dev', lab.ifB]);
  for (const [ns, dev] of [[lab.nsA, lab.ifA], [lab.nsB, lab.ifB], [lab.nsA, 'lo'], [lab.nsB, 'lo']] as const) await ip(['-n', ns, 'link', 'set', dev, 'up']);
  return lab;
}

/**
 * Sends `count` UDP datagrams from inside `ns` to dst:port, `perTick` every `tickMs` (a
 * bounded, moderate rate); sizes 1..1400 varying by index; bytes 0..3 of the payload hold
 * the index. Resolves with the number sent.
 */
export async function sendPaced(ns: string, dst: string, port: number, count: number, perTick: number, tickMs: number): Promise<number> {
  const script = `
const dgram = require('node:dgram');
const [dst, port, count, perTick, tickMs] = process.argv.slice(1).map((v, i) => (i === 0 ? v : Number(v)));
const s = dgram.createSocket('udp4');
let i = 0;
function tick() {
  let pending = 0;
  const n = Math.min(perTick, count - i);
  if (n <= 0) { s.close(); process.stdout.write(String(i)); return; }
  for (let k = 0; k < n; k++, i++) {
    const b = Buffer.alloc(4 + ((i * 37) % 1400), i & 0xff);
    b.writeUInt32BE(i, 0);
    pending++;
    s.send(b, port, dst, (err) => { if (err) { console.error(err.message); process.exit(1); } if (--pending === 0) setTimeout(tick, tickMs); });
  }
}
tick();
`;
  const { stdout } = await inNetns(ns, process.execPath, ['-e', script, dst, String(port), String(count), String(perTick), String(tickMs)], 120_000);
  return Number(stdout);
}

export function writeToken(dir: string, name: string, token: string): string {
  const f = join(dir, name);
  writeFileSync(f, token + '\n');
  return f;
}

async function openssl(args: string[]): Promise<void> {
  await execFileP('openssl', args, { timeout: 30_000 });
}

export interface Pki {
  ca: string;
  cert: string;
  key: string;
  /** A second CA that signed nothing here. */
  otherCa: string;
}

/** A CA, a server certificate for IP 127.0.0.1 and DNS localhost signed by it, and an unrelated CA. */
export async function makePki(dir: string): Promise<Pki> {
  const p = (n: string): string => join(dir, n);
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '2', '-subj', '/CN=podspan test CA']);
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('other-ca.key'), '-out', p('other-ca.pem'), '-days', '2', '-subj', '/CN=some other CA']);
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', '/CN=podspan collector']);
  writeFileSync(p('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n');
  await openssl(['x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p('server.pem'), '-days', '2', '-extfile', p('san.ext')]);
  return { ca: p('ca.pem'), cert: p('server.pem'), key: p('server.key'), otherCa: p('other-ca.pem') };
}

export interface WsExportLine {
  exported: number;
  url: string;
  notExported: number;
  spoolFull: number;
  unacked: number;
  error: number;
  truncated: number;
}

const WS_EXPORT_LINE = /^(\d+) packets? exported to (\S+), (\d+) not exported \(export_spool_full (\d+), export_unacked (\d+), export_error (\d+)\), export_truncated (\d+)$/m;

/** The agent's summary line for its ws exporter. */
export function parseWsExportLine(stderr: string): WsExportLine | undefined {
  const m = WS_EXPORT_LINE.exec(stderr);
  if (m === null) return undefined;
  return { exported: Number(m[1]), url: m[2]!, notExported: Number(m[3]), spoolFull: Number(m[4]), unacked: Number(m[5]), error: Number(m[6]), truncated: Number(m[7]) };
}

/** "ws 127.0.0.1:PORT" or "wss ..." of the collector's listening line. */
export function wsPort(stderr: string): number {
  const m = /listening on [^\n]*\bwss? (?:\[[^\]]+\]|[0-9.]+):(\d+)/.exec(stderr);
  if (m === null) throw new Error(`no ws port in: ${stderr}`);
  return Number(m[1]);
}
