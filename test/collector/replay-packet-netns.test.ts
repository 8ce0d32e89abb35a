// Packet replay end to end: a file replayed onto a veth in namespaces this test creates;
// tcpdump on the peer is the oracle (frames identical to the file, or, with a rewrite, to
// what tcprewrite makes of the file), in order. `podspan replay --mode packet` runs inside
// the sending namespace.
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { PcapWriter } from '../../packet/capfile/pcap-writer.js';
import { PcapngWriter } from '../../packet/capfile/pcapng-writer.js';
import { buildTcpFrame, buildUdpFrame, synthTraffic } from '../../packet/synth/traffic.js';
import { CLI } from '../helpers/repo.js';
import { ip, makeNetnsPair, readStoredFile, sleep, startTcpdump } from './helpers.js';

/** tcpdump sized for bursts at top speed (see startTcpdump). */
const BURST = { snapLen: 4096, bufferKiB: 65536 };


interface Frame {
  tsSec: number;
  tsNsec: number;
  data: Buffer;
  wireLen: number;
}

/** Synthetic TCP/UDP traffic plus the edge cases: a VLAN frame, one over the MTU, one cut by the snaplen. */
function frames(n: number): Frame[] {
  const out: Frame[] = [];
  for (const f of synthTraffic({ connections: 40, requestsPerConnection: 2, responseBytes: 2500, udpEvery: 7 })) {
    out.push({ tsSec: f.tsSec, tsNsec: f.tsNsec, data: f.data, wireLen: f.data.length });
    if (out.length === n) break;
  }
  const last = out[out.length - 1]!;
  const at = (k: number): { tsSec: number; tsNsec: number } => ({ tsSec: last.tsSec, tsNsec: Math.min(999_999_999, last.tsNsec + k) });
  const a = { mac: '0a:58:0a:f4:00:0b', ip: '10.244.1.11', port: 40000 };
  const b = { mac: '0a:58:0a:f4:00:05', ip: '10.244.0.5', port: 8080 };
  const v = buildUdpFrame(a, b, Buffer.from('vlan tagged'));
  const h = Buffer.from('81000064', 'hex');
  out.push({ ...at(1), data: Buffer.concat([v.subarray(0, 12), h, v.subarray(12)]), wireLen: v.length + 4 });
  const big = buildUdpFrame(a, b, Buffer.alloc(1600, 0x42)); // 1642 bytes > 1514
  out.push({ ...at(2), data: big, wireLen: big.length });
  const cut = buildTcpFrame(a, b, { seq: 1, ack: 1, flags: 0x18 }, Buffer.alloc(900, 0x43));
  out.push({ ...at(3), data: cut.subarray(0, 96), wireLen: cut.length });
  return out;
}

function writePcap(path: string, fs: Frame[], linkType = 1): void {
  const w = new PcapWriter({ linkType, snapLen: 262144, nanosecond: true });
  const parts: Buffer[] = [w.header()];
  for (const f of fs) parts.push(...w.record({ tsSec: f.tsSec, tsNsec: f.tsNsec, capLen: f.data.length, wireLen: f.wireLen, data: f.data }));
  writeFileSync(path, Buffer.concat(parts));
}

function writePcapng(path: string, fs: Frame[]): void {
  const w = new PcapngWriter();
  const parts: Buffer[] = [w.sectionHeader(), w.addInterface({ linkType: 1, snapLen: 262144, name: 'eth0' }).block];
  for (const f of fs) parts.push(...w.packet(0, { tsSec: f.tsSec, tsNsec: f.tsNsec, capLen: f.data.length, wireLen: f.wireLen, data: f.data }));
  writeFileSync(path, Buffer.concat(parts));
}

/** `podspan replay FILE --mode packet` with these flags (name -> value; arrays repeat the flag) inside `ns`. */
function replayIn(ns: string, file: string, values: Record<string, string | boolean | string[]>, timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const argv = [CLI, 'replay', file, '--mode', 'packet'];
  for (const [k, v] of Object.entries(values)) {
    if (v === true) argv.push(`--${k}`);
    else for (const x of Array.isArray(v) ? v : [v]) argv.push(`--${k}`, String(x));
  }
  return new Promise((resolve) => {
    const p = spawn('ip', ['netns', 'exec', ns, process.execPath, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: out, stderr: err });
    });
  });
}

function field(stdout: string, name: string): number {
  const m = new RegExp(`${name}:\\s+(\\d+)`).exec(stdout);
  return m === null ? -1 : Number(m[1]);
}

/** Frames tcpdump stored (copies), waiting (bounded) until `count` are there. */
async function peerFrames(file: string, count: number): Promise<Buffer[]> {
  const deadline = Date.now() + 10_000;
  let got: Buffer[] = [];
  for (;;) {
    try {
      got = readStoredFile(file).frames.map((f) => f.data);
    } catch {
      got = [];
    }
    if (got.length >= count || Date.now() > deadline) return got;
    await sleep(50);
  }
}

function firstDiff(got: Buffer[], want: Buffer[]): string {
  if (got.length !== want.length) return `count ${got.length} != ${want.length}`;
  for (let i = 0; i < want.length; i++) if (!got[i]!.equals(want[i]!)) return `frame ${i + 1} differs`;
  return '';
}

t.test('replays a pcap at top speed: the peer sees every frame identical, in order; the one over the MTU fails as in tcpreplay', async (t) => {
  const pair = await makeNetnsPair(t, 'ij-r', 241);
  const dir = mkdtempSync(join(tmpdir(), 'ij-replay-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fs = frames(1200);
  const file = join(dir, 'in.pcap');
  writePcap(file, fs);
  const peer = join(dir, 'peer.pcap');
  const dump = await startTcpdump(t, pair.nsB, pair.ifB, peer, BURST);
  const r = await replayIn(pair.nsA, file, { iface: pair.ifA, speed: 'max' });
  t.equal(r.code, 0, r.stderr);
  const want = fs.filter((f) => f.data.length <= 1514).map((f) => f.data);
  t.equal(field(r.stdout, 'Successful packets'), want.length);
  t.equal(field(r.stdout, 'Failed packets'), 1, 'the 1642-byte frame');
  t.match(r.stdout, /^Actual: \d+ packets \(\d+ bytes\) sent in [0-9.]+ seconds$/m);
  t.match(r.stdout, /^Rated: [0-9.]+ Bps, [0-9.]+ Mbps, [0-9.]+ pps$/m);
  t.match(r.stderr, /1 frames longer than veth0's MTU 1500/);
  const got = await peerFrames(peer, want.length);
  await dump.stop();
  t.equal(firstDiff(got, want), '', 'identical and in order');
});

t.test('--src-mac, --dst-mac and --map-ip: the peer sees exactly what tcprewrite makes of the file', async (t) => {
  const pair = await makeNetnsPair(t, 'ij-w', 242);
  const dir = mkdtempSync(join(tmpdir(), 'ij-replay-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fs = frames(600).filter((f) => f.data.length <= 1514);
  const file = join(dir, 'in.pcap');
  writePcap(file, fs);
  const oracle = join(dir, 'tcprewrite.pcap');
  execFileSync('tcprewrite', ['--enet-smac=02:00:00:00:00:01', `--enet-dmac=${pair.macB}`, '--pnat=10.244.0.5/32:10.199.242.2/32,10.244.0.0/16:10.50.0.0/16', '-i', file, '-o', oracle], { timeout: 30_000 });
  const want = readStoredFile(oracle).frames.map((f) => f.data);
  t.equal(want.length, fs.length);
  const peer = join(dir, 'peer.pcap');
  const dump = await startTcpdump(t, pair.nsB, pair.ifB, peer, BURST);
  const r = await replayIn(pair.nsA, file, { iface: pair.ifA, speed: 'max', 'src-mac': '02:00:00:00:00:01', 'dst-mac': pair.macB, 'map-ip': ['10.244.0.5=10.199.242.2', '10.244.0.0/16=10.50.0.0/16'] });
  t.equal(r.code, 0, r.stderr);
  t.equal(field(r.stdout, 'Rewritten'), fs.length);
  // The peer's own stack may answer (RST, ICMP) frames now addressed to it: keep only ours.
  const got = (await peerFrames(peer, want.length)).filter((f) => f.readUInt16BE(6) === 0x0200 && f.readUInt32BE(8) === 1);
  await dump.stop();
  t.equal(firstDiff(got, want), '', 'identical to tcprewrite output, in order');
});

t.test('pcapng with the original timing (--speed 20), -c across --loop passes', async (t) => {
  const pair = await makeNetnsPair(t, 'ij-t', 243);
  const dir = mkdtempSync(join(tmpdir(), 'ij-replay-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // 30 frames, 10 ms apart in the file: 0.3 s of capture, 15 ms at speed 20.
  const fs = frames(30)
    .slice(0, 30)
    .map((f, i) => ({ ...f, tsSec: 1_700_000_000 + Math.floor(i / 100), tsNsec: (i % 100) * 10_000_000 }));
  const file = join(dir, 'in.pcapng');
  writePcapng(file, fs);
  const peer = join(dir, 'peer.pcap');
  const dump = await startTcpdump(t, pair.nsB, pair.ifB, peer, BURST);
  const r = await replayIn(pair.nsA, file, { iface: pair.ifA, speed: '20', loop: '3', count: '75' });
  t.equal(r.code, 0, r.stderr);
  t.equal(field(r.stdout, 'Successful packets'), 75);
  const want = [...fs, ...fs, ...fs.slice(0, 15)].map((f) => f.data);
  const got = await peerFrames(peer, 75);
  await dump.stop();
  t.equal(firstDiff(got, want), '', 'two whole passes and half of the third, in order');
});

t.test('bad flags and unusable interfaces exit 2; a missing file exits 1; a cut-off file sends its complete records, then exits 1', async (t) => {
  const pair = await makeNetnsPair(t, 'ij-u', 244);
  const dir = mkdtempSync(join(tmpdir(), 'ij-replay-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fs = frames(50).slice(0, 50);
  const file = join(dir, 'in.pcap');
  writePcap(file, fs);
  for (const [values, re] of [
    [{ speed: 'max' }, /--iface/],
    [{ iface: pair.ifA, speed: '0' }, /--speed wants/],
    [{ iface: pair.ifA, speed: 'fast' }, /--speed wants/],
    [{ iface: pair.ifA, 'src-mac': '02:00:00:00:01' }, /--src-mac wants a MAC/],
    [{ iface: pair.ifA, 'map-ip': ['10.0.0.1'] }, /--map-ip .*OLD=NEW/],
    [{ iface: pair.ifA, count: '0' }, /-c\/--count wants/],
    [{ iface: 'ij-nothere0' }, /--iface ij-nothere0: .*no such interface/],
  ] as const) {
    const r = await replayIn(pair.nsA, file, values as Record<string, string | string[]>);
    t.equal(r.code, 2, `exit 2 for ${JSON.stringify(values)}`);
    t.match(r.stderr, re);
  }
  await ip(['-n', pair.nsA, 'link', 'set', 'lo', 'down']);
  const down = await replayIn(pair.nsA, file, { iface: 'lo' });
  t.equal(down.code, 2);
  t.match(down.stderr, /down/);
  const missing = await replayIn(pair.nsA, join(dir, 'nope.pcap'), { iface: pair.ifA });
  t.equal(missing.code, 1);
  t.match(missing.stderr, /no such file/);

  const cutFile = join(dir, 'cut.pcap');
  const whole = readFileSync(file);
  writeFileSync(cutFile, whole.subarray(0, whole.length - 30));
  const peer = join(dir, 'peer.pcap');
  const dump = await startTcpdump(t, pair.nsB, pair.ifB, peer, BURST);
  const r = await replayIn(pair.nsA, cutFile, { iface: pair.ifA, speed: 'max' });
  t.equal(r.code, 1);
  t.match(r.stderr, /cut off after 49 complete records/);
  t.equal(field(r.stdout, 'Successful packets'), 49);
  const got = await peerFrames(peer, 49);
  await dump.stop();
  t.equal(firstDiff(got, fs.slice(0, 49).map((f) => f.data)), '');
});

t.test('records of a non-Ethernet link type are skipped and counted', async (t) => {
  const pair = await makeNetnsPair(t, 'ij-n', 245);
  const dir = mkdtempSync(join(tmpdir(), 'ij-replay-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'raw.pcap');
  writePcap(file, frames(5).slice(0, 5).map((f) => ({ ...f, data: f.data.subarray(14), wireLen: f.wireLen - 14 })), 101); // LINKTYPE_RAW
  const r = await replayIn(pair.nsA, file, { iface: pair.ifA, speed: 'max', json: true });
  t.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as { packets: number; skippedNotEthernet: number; records: number };
  t.equal(s.packets, 0);
  t.equal(s.skippedNotEthernet, 5);
  t.equal(s.records, 5);
});
