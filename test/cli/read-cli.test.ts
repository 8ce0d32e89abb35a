import t from 'tap';
import { mkdtempSync, rmSync, readFileSync, writeFileSync, openSync, closeSync, statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { podspan, run } from '../helpers/run.js';
import { CLI } from '../helpers/repo.js';
import { CORPUS_DIR, requireCorpus } from '../helpers/corpus.js';
import { writeSynthPcap } from '../helpers/synth-file.js';

const dir = mkdtempSync(join(tmpdir(), 'podspan-read-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'synth.pcap');
const records = writeSynthPcap(file, { connections: 40, requestsPerConnection: 2, responseBytes: 3000, udpEvery: 10, vxlanEvery: 5, seed: 3 });

/** tcpdump's count of the complete records of a (possibly cut-off) file. */
async function tcpdumpCount(path: string): Promise<{ count: number; truncated: boolean }> {
  const r = await run('tcpdump', ['-nn', '-r', path]);
  // tcpdump prints VXLAN inner frames on lines of their own: count lines that start with a time.
  return { count: r.stdout.split('\n').filter((l) => /^\d\d:\d\d:\d\d\.\d+ /.test(l)).length, truncated: /truncated/.test(r.stderr) };
}

t.test('read prints one line per packet, and -c stops early', async (t) => {
  const all = await podspan(['read', file]);
  t.equal(all.code, 0);
  t.equal(all.stdout.trim().split('\n').length, records);
  t.equal((await tcpdumpCount(file)).count, records, 'tcpdump agrees on the count');
  t.match(all.stdout, /IP 10\.244\.\d+\.\d+\.\d+ > 10\.244\.0\.5\.8080: Flags \[S\], seq \d+, length 0/);
  t.match(all.stdout, /VXLAN, vni 42: IP /);
  const some = await podspan(['read', '-c', '5', '--json', file]);
  t.equal(some.stdout.trim().split('\n').length, 5);
  const first = JSON.parse(some.stdout.split('\n')[0]!) as Record<string, unknown>;
  t.same(Object.keys(first), ['n', 'ts', 'caplen', 'len', 'layers', 'src', 'dst', 'proto', 'sport', 'dport', 'tcpFlags', 'seq', 'ack', 'payloadLen', 'tunnels', 'status']);
  t.equal(first.tcpFlags, 'S');
});

t.test('read - reads standard input', async (t) => {
  const r = await podspan(['read', '--json', '-'], { input: readFileSync(file) });
  t.equal(r.code, 0);
  t.equal(r.stdout.trim().split('\n').length, records);
});

t.test('a file cut off at any point prints every complete record, then one line on stderr and exit 1', async (t) => {
  const whole = readFileSync(file);
  for (const cut of [30, 24 + 16 + 3, Math.floor(whole.length / 3), whole.length - 1]) {
    const p = join(dir, `cut-${cut}.pcap`);
    writeFileSync(p, whole.subarray(0, cut));
    const r = await podspan(['read', p]);
    const td = await tcpdumpCount(p);
    const lines = r.stdout === '' ? 0 : r.stdout.trim().split('\n').length;
    t.equal(r.code, 1, `cut at ${cut}: exit 1`);
    t.equal(lines, td.count, `cut at ${cut}: the ${td.count} complete records tcpdump reads`);
    t.match(r.stderr, new RegExp(`^podspan: .*\\b${td.count} complete records?\\b.*\\n$`), `cut at ${cut}: one line naming the record count`);
  }
});

t.test('a file whose writer was killed mid-stream: complete records, then the error', async (t) => {
  // A real writer: a child process copies the capture in 1000-byte writes (record boundaries
  // fall anywhere) and is killed with SIGKILL part-way.
  const out = join(dir, 'killed.pcap');
  const child = spawn(process.execPath, ['-e', `
    const fs = require('node:fs');
    const src = fs.readFileSync(process.argv[1]);
    const fd = fs.openSync(process.argv[2], 'w');
    let off = 0;
    const step = () => { if (off >= src.length) return; fs.writeSync(fd, src, off, Math.min(1000, src.length - off)); off += 1000; if (off === 41000) process.stdout.write('go'); setTimeout(step, 1); };
    step();`, file, out], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('close', resolve));
  const size = statSync(out).size;
  t.ok(size > 0 && size < readFileSync(file).length, `writer killed after ${size} bytes`);
  const r = await podspan(['read', '--json', out]);
  const td = await tcpdumpCount(out);
  const lines = r.stdout === '' ? [] : r.stdout.trim().split('\n');
  t.equal(lines.length, td.count, 'the same complete records as tcpdump');
  if (td.truncated) {
    t.equal(r.code, 1);
    t.match(r.stderr, new RegExp(`\\b${td.count} complete records?\\b`));
  } else {
    t.equal(r.code, 0, 'killed exactly at a record boundary: a clean file');
  }
});

t.test('usage errors exit 2 with a message; missing files exit 1', async (t) => {
  const none = await podspan([]);
  t.equal(none.code, 2);
  t.match(none.stderr, /^usage: podspan /, 'no command: the usage, on stderr');
  t.equal(none.stdout, '', 'nothing on stdout');
  const help = await podspan(['--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /^usage: podspan /, '--help: the usage on stdout');
  const bad = await podspan(['read', '--bogus', file]);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /^podspan: read: .*bogus/);
  const two = await podspan(['read', file, file]);
  t.equal(two.code, 2);
  const unknown = await podspan(['frobnicate']);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /unknown command "frobnicate"/);
  const missing = await podspan(['read', join(dir, 'nope.pcap')]);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /nope\.pcap: no such file/);
  const notCap = join(dir, 'text.pcap');
  writeFileSync(notCap, 'hello, this is not a capture file at all\n');
  const garbage = await podspan(['read', notCap]);
  t.equal(garbage.code, 1);
  t.match(garbage.stderr, /^podspan: .+\n$/);
  const badCount = await podspan(['read', '-c', 'x', file]);
  t.equal(badCount.code, 2);
  const conv = await podspan(['convert', file, join(dir, 'out.txt')]);
  t.equal(conv.code, 2);
  t.match(conv.stderr, /name it \*\.pcap or \*\.pcapng/);
});

t.test('read stops quietly when its reader goes away (| head)', async (t) => {
  const r = await run('sh', ['-c', `"$0" "$1" read "$2" | head -n 3`, process.execPath, join(process.cwd(), 'dist', 'cli', 'main.js'), file]);
  t.equal(r.code, 0);
  t.equal(r.stdout.trim().split('\n').length, 3);
  t.notMatch(r.stderr, /EPIPE|Error/);
  closeSync(openSync(file, 'r'));
});

/** Spawns `podspan ARGS` with a pipe on stdin that this test keeps open; resolves at exit, or with 'hung' after `ms`. */
function withOpenStdin(args: string[], input: Buffer, ms: number): Promise<{ code: number | null | 'hung'; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.stdin.on('error', () => undefined);
    p.stdin.write(input); // and never ended, like a live `tcpdump -w -`
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      resolve({ code: 'hung', stdout, stderr });
    }, ms);
    p.once('close', (code) => {
      clearTimeout(timer);
      p.stdin.destroy();
      resolve({ code, stdout, stderr });
    });
  });
}

t.test('read -c N stops after the Nth packet: a live pipe is not read to its end, damage after it is not looked at', async (t) => {
  const whole = readFileSync(file);
  const live = await withOpenStdin(['read', '-', '-c', '3'], whole.subarray(0, 4000), 60_000);
  t.equal(live.code, 0, `exits 0 while its input is still open (${live.stderr.trim()})`);
  t.equal(live.stdout.trim().split('\n').length, 3, 'three lines');
  const cut = join(dir, 'cut-after.pcap');
  writeFileSync(cut, whole.subarray(0, 4000));
  const r = await podspan(['read', '-c', '1', cut]);
  t.equal(r.code, 0, 'a file cut off after the first packet: -c 1 exits 0, as tcpdump -c 1');
  t.equal(r.stdout.trim().split('\n').length, 1);
});

t.test('an output that fails (ENOSPC on /dev/full) is an error with a message, not a crash', async (t) => {
  for (const args of [['read', file], ['read', '--json', file], ['flows', file]]) {
    const r = await run('sh', ['-c', `"$0" "$@" > /dev/full`, process.execPath, CLI, ...args]);
    t.equal(r.code, 1, `${args.join(' ')} > /dev/full: exit 1`);
    t.match(r.stderr, /^podspan: cannot write standard output: .*ENOSPC/, 'says why');
    t.notMatch(r.stderr, /    at |Node\.js v/, 'no stack trace');
  }
});

t.test('ICMP and ICMPv6 lines give the message length as tcpdump does (corpus)', async (t) => {
  if (!requireCorpus(t)) return;
  for (const rel of ['OISF+suricata-verify/tests/vxlan-decoder-02/vxlan.pcap', 'the-tcpdump-group+tcpdump/tests/ipv6-routing-header.pcap']) {
    const f = join(CORPUS_DIR, rel);
    const theirs = (await run('tcpdump', ['-nn', '-r', f])).stdout.split('\n').filter((l) => /ICMP6?, echo|ICMP echo/.test(l)).map((l) => /length (\d+)$/.exec(l)?.[1]);
    const mine = (await podspan(['read', f])).stdout.split('\n').filter((l) => /ICMP6? type (0|8|128|129) /.test(l)).map((l) => /length (\d+)$/.exec(l)?.[1]);
    t.ok(theirs.length > 0, `${rel}: ${theirs.length} echo lines`);
    t.same(mine, theirs, `${rel}: the same lengths`);
  }
});

t.test('read -c N into a full device: the error message, never a stack trace, whichever line fills the output buffer', async (t) => {
  const big = join(dir, 'big.pcap');
  writeSynthPcap(big, { connections: 2500, requestsPerConnection: 1, seed: 21 });
  const lines = (await podspan(['read', big])).stdout.split('\n');
  // The output buffer (1 MiB) is flushed before the line that might not fit in what is left of it (4096 bytes).
  let pos = 0;
  let k = 0;
  while (k < lines.length && pos + 4096 <= 1 << 20) pos += lines[k++]!.length + 1;
  t.ok(k > 2 && k < lines.length - 2, `the flush comes at line ${k + 1} of ${lines.length}`);
  for (const c of [k, k + 1, k + 2]) {
    const r = await run('sh', ['-c', `"$0" "$@" > /dev/full`, process.execPath, CLI, 'read', '-c', String(c), big]);
    t.equal(r.code, 1, `-c ${c}: exit 1`);
    t.match(r.stderr, /^podspan: cannot write standard output: .*ENOSPC/, `-c ${c}: the message`);
    t.notMatch(r.stderr, /    at |Node\.js v/, `-c ${c}: no stack trace`);
  }
});
