import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { IP_PROTO, RawIpSocket } from '../../native/index.js';
import { ErspanTemplate } from '../../packet/encap/erspan.js';
import { GreTemplate } from '../../packet/encap/gre.js';
import { buildVxlanHeader } from '../../packet/encap/vxlan.js';
import { inNetns, makeNetnsPair, parseSummary, readStore, sleep, startCollector, testFrame } from './helpers.js';

// Real namespaces: a hostile peer in namespace A throws garbage at the collector's VXLAN
// port and raw GRE socket in namespace B (short, oversized and malformed datagrams; GRE with
// wrong lengths and unknown types), interleaved with good frames. Every bad one is counted
// under its reason, the collector survives, and the good frames are stored in order.

/** Sends the datagrams in order from inside `ns` to host:port, from one socket (hex lines on stdin). */
async function udpFrom(ns: string, host: string, port: number, datagrams: Buffer[]): Promise<void> {
  const script = `
const s = require('node:dgram').createSocket('udp4');
let data = '';
process.stdin.on('data', (d) => { data += d; });
process.stdin.on('end', () => {
  const list = data.split('\\n').filter((l) => l !== '');
  let i = 0;
  (function next() {
    if (i >= list.length) { s.close(); return; }
    const b = Buffer.from(list[i++], 'hex');
    s.send(b, ${port}, '${host}', (e) => { if (e) { console.error(e.message); process.exitCode = 1; } if (i % 20 === 0) setTimeout(next, 2); else next(); });
  })();
});`;
  const { spawn } = await import('node:child_process');
  await new Promise<void>((resolve, reject) => {
    const p = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`sender failed (${String(code)}): ${err}`));
    });
    p.stdin.end(datagrams.map((d) => d.toString('hex')).join('\n') + '\n');
  });
}

t.test('real netns veth: garbage on the VXLAN port and the GRE socket is counted per reason; good frames keep being stored', async (t) => {
  const pair = await makeNetnsPair(t, 'psl-tc-hostile', 94);
  const work = mkdtempSync(join(tmpdir(), 'psl-tc-hostile-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const out = join(work, 'store');
  const c = await startCollector(t, ['--vxlan', `${pair.ipB}:4789`, '--gre', '--out', out, '--split-by', 'source'], { netns: pair.nsB });

  // --- VXLAN: a deterministic mix; every 4th datagram is a good frame.
  let x = 7;
  const rnd = (n: number): number => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x % n;
  };
  const vxGood: Buffer[] = [];
  const vxSent: Buffer[] = [];
  const vxExpect: Record<string, number> = {};
  const bad = (reason: string, d: Buffer): void => {
    vxSent.push(d);
    vxExpect[reason] = (vxExpect[reason] ?? 0) + 1;
  };
  for (let i = 0; i < 200; i++) {
    if (i % 4 === 0) {
      // Good ones, some oversized (fragmented on the veth, reassembled by the kernel).
      const f = testFrame(i, i % 40 === 0 ? 60_000 : 60 + rnd(1400));
      vxGood.push(f);
      vxSent.push(Buffer.concat([buildVxlanHeader(77), f]));
      continue;
    }
    switch (i % 6) {
      case 0:
        bad('short', Buffer.alloc(rnd(8), 0x08));
        break;
      case 1: {
        const g = Buffer.alloc(1 + rnd(3000));
        for (let k = 0; k < g.length; k++) g.writeUInt8(rnd(256), k);
        g.writeUInt8(g.readUInt8(0) & ~0x08, 0); // I flag clear
        if (g.length < 8) bad('short', g);
        else bad('bad_header', g);
        break;
      }
      case 2:
        bad('short_frame', Buffer.concat([buildVxlanHeader(77), Buffer.alloc(rnd(14))]));
        break;
      case 3: {
        const f = testFrame(i, 80);
        f.writeUInt16BE(1501 + rnd(35), 12);
        bad('not_ethernet', Buffer.concat([buildVxlanHeader(77), f]));
        break;
      }
      case 4:
        bad('bad_header', Buffer.alloc(65_000, 0xf7)); // oversized, I flag clear
        break;
      default:
        bad('bad_header', Buffer.from(`GET /${i} HTTP/1.1\r\nHost: collector\r\n\r\n`));
    }
  }
  await udpFrom(pair.nsA, pair.ipB, 4789, vxSent);

  // --- GRE from a raw socket in namespace A (the kernel writes the IPv4 header).
  const tx = RawIpSocket.open(IP_PROTO.GRE, { netns: pair.nsA });
  t.teardown(() => tx.close());
  const greGood: Buffer[] = [];
  const greExpect: Record<string, number> = {};
  let greSent = 0;
  let sendFailures = 0;
  const send = (parts: Buffer[], reason: string): void => {
    if (!tx.send(parts, pair.ipB)) sendFailures++;
    greSent++;
    if (reason !== '') greExpect[reason] = (greExpect[reason] ?? 0) + 1;
  };
  const teb = new GreTemplate({ key: 5, seq: true });
  const e2 = new ErspanTemplate({ version: 2, sessionId: 33 });
  for (let i = 0; i < 120; i++) {
    if (i % 3 === 0) {
      const f = testFrame(1000 + i, 60 + rnd(1300));
      greGood.push(f);
      teb.setSeq(i);
      send([Buffer.from(teb.header), f], '');
      continue;
    }
    switch (i % 7) {
      case 0:
        send([Buffer.from([0x30, 0x00])], 'short'); // cut inside the base header
        break;
      case 1:
        send([Buffer.from([0xb0, 0x00, 0x65, 0x58, 0x00, 0x00])], 'short'); // C, K, S set; fields missing
        break;
      case 2:
        send([e2.header.subarray(0, 8 + rnd(8))], 'short'); // ERSPAN II header cut
        break;
      case 3:
        send([Buffer.from([0x00, 0x00, 0x12, 0x34]), testFrame(i)], 'unsupported_protocol');
        break;
      case 4:
        send([Buffer.from([0x00, 0x01, 0x65, 0x58]), testFrame(i)], 'unsupported_header'); // version 1
        break;
      case 5:
        send([Buffer.from([0x80, 0x00, 0x65, 0x58, 0xde, 0xad, 0x00, 0x00]), testFrame(i)], 'bad_checksum');
        break;
      default:
        send([new GreTemplate().header, Buffer.alloc(rnd(14))], 'short_frame');
    }
  }
  // One last good frame of each after all the garbage: the collector is still storing.
  const lastVx = testFrame(9999, 99);
  vxGood.push(lastVx);
  await udpFrom(pair.nsA, pair.ipB, 4789, [Buffer.concat([buildVxlanHeader(77), lastVx])]);
  const lastGre = testFrame(19999, 99);
  greGood.push(lastGre);
  send([Buffer.from(teb.header), lastGre], '');
  await sleep(500);
  t.equal(sendFailures, 0, 'every GRE packet sent');
  t.ok(c.proc.exitCode === null, 'collector survived');
  const r = await c.stop('SIGINT');
  t.equal(r.code, 0);
  const s = parseSummary(r.stderr);
  t.same(s['vxlan'], { received: vxSent.length + 1, delivered: vxGood.length, dropped: vxSent.length + 1 - vxGood.length, reasons: vxExpect }, 'vxlan: every datagram counted under the right reason');
  t.same(s['gre'], { received: greSent, delivered: greGood.length, dropped: greSent - greGood.length, reasons: greExpect }, 'gre: every packet counted under the right reason');
  const stored = readStore(out);
  const vxStored = stored.filter((f) => f.iface.name === `vxlan-vni77-${pair.ipA}`).map((f) => f.data);
  const greStored = stored.filter((f) => f.iface.name === `gre-key5-${pair.ipA}`).map((f) => f.data);
  t.equal(vxStored.length, vxGood.length);
  t.ok(vxStored.every((d, i) => d.equals(vxGood[i]!)), 'good VXLAN frames stored in order, the 60000-byte ones too');
  t.equal(greStored.length, greGood.length);
  t.ok(greStored.every((d, i) => d.equals(greGood[i]!)), 'good GRE frames stored in order');
  t.equal(stored.length, vxGood.length + greGood.length, 'nothing else stored');
});

t.test('real netns: --gre without CAP_NET_RAW fails at start with exit 2', async (t) => {
  const pair = await makeNetnsPair(t, 'psl-tc-nocap', 95);
  const { CLI } = await import('../helpers/repo.js');
  // capsh may be missing; setpriv (util-linux) drops the capability from the bounding set.
  const r = await inNetns(pair.nsB, 'setpriv', ['--bounding-set', '-net_raw', '--inh-caps', '-net_raw', process.execPath, CLI, 'collector', '--gre', '--stdout', '--duration', '0.5']).then(
    () => ({ code: 0, stderr: '' }),
    (e: { code?: number; stderr?: string }) => ({ code: e.code ?? -1, stderr: e.stderr ?? '' }),
  );
  if (/setpriv: (not found|No such file)|ENOENT/.test(r.stderr)) {
    t.comment('setpriv not available: skipped');
    return;
  }
  t.equal(r.code, 2);
  t.match(r.stderr, /--gre: .*(permitted|EPERM|CAP_NET_RAW)/i);
});
