import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { podspan } from '../helpers/run.js';
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { CLI } from '../helpers/repo.js';
import { writeSynthPcap } from '../helpers/synth-file.js';

const dir = mkdtempSync(join(tmpdir(), 'hr-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const empty = join(dir, 'empty.pcap');
// A valid pcap header (nanosecond magic, Ethernet) and no records.
writeFileSync(empty, Buffer.from('4d3cb2a1020004000000000000000000ffff000001000000', 'hex'));

t.test('usage errors exit 2 and name the flag', async (t) => {
  const cases: [string[], RegExp][] = [
    [['replay'], /expected 1 argument/],
    [['replay', empty], /exactly one of --iface IF .* or --to HOST:PORT/],
    [['replay', empty, '--to', 'nohostport'], /--to wants HOST:PORT/],
    [['replay', empty, '--to', '127.0.0.1:70000'], /--to wants HOST:PORT/],
    [['replay', empty, '--to', '127.0.0.1:80', '--speed', 'fast'], /--speed wants/],
    [['replay', empty, '--to', '127.0.0.1:80', '--mode', 'udp'], /--mode wants packet, stream or http/],
    [['replay', empty, '--to', '127.0.0.1:80', '--mode', 'stream', '--diff', 'x'], /--diff needs --mode http/],
    [['replay', empty, '--to', '127.0.0.1:80', '--sample', '0'], /--sample wants a percentage/],
    [['replay', empty, '--to', '127.0.0.1:80', '--set-header', 'NoColon'], /--set-header wants 'Name: value'/],
    [['replay', empty, '--to', '127.0.0.1:80', '--ignore-path', 'a.b'], /--ignore-path: not a JSON path/],
    [['replay', empty, '--to', '127.0.0.1:80', '--src-mac', '00:11:22:33:44:55'], /--src-mac is for --mode packet/],
    [['replay', empty, '--iface', 'lo', '--diff', 'x'], /--diff is for --mode stream or http/],
    [['replay', empty, '--to', '127.0.0.1:80', '--bogus'], /Unknown option '--bogus'/],
  ];
  for (const [args, re] of cases) {
    const r = await podspan(args);
    t.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    t.match(r.stderr, re);
  }
});

t.test('a missing capture is a data error (exit 1)', async (t) => {
  const r = await podspan(['replay', join(dir, 'nope.pcap'), '--to', '127.0.0.1:9']);
  t.equal(r.code, 1);
  t.match(r.stderr, /no such file/);
});

t.test('unwritable outputs fail before the replay (exit 1)', async (t) => {
  let r = await podspan(['replay', empty, '--to', '127.0.0.1:9', '--diff', join(dir, 'no', 'such', 'dir', 'd.jsonl')]);
  t.equal(r.code, 1);
  t.match(r.stderr, /--diff .*ENOENT/);
  r = await podspan(['replay', empty, '--to', '127.0.0.1:9', '--report', join(dir, 'no', 'such', 'r.html')]);
  t.equal(r.code, 1);
  t.match(r.stderr, /--report .* does not exist or is not writable/);
});

t.test('an empty capture replays nothing and says so', async (t) => {
  const r = await podspan(['replay', empty, '--to', '127.0.0.1:9', '--mode', 'http', '--json']);
  t.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as { connections: number; replayed: number };
  t.equal(s.connections, 0);
  t.equal(s.replayed, 0);
  t.match(r.stderr, /connections in capture: 0/);
});

t.test('--help lists replay with its modes', async (t) => {
  const r = await podspan(['--help']);
  t.match(r.stdout, /replay FILE \(--iface IF \| --to H:P\) \[--mode packet\|stream\|http\]/);
});

t.test('Ctrl-C during a replay to a shadow: nothing new starts, the summary still comes out, exit 130 (stream and http modes)', async (t) => {
  const file = join(dir, 'slow.pcap');
  writeSynthPcap(file, { connections: 40, requestsPerConnection: 3, concurrency: 4, seed: 11 });
  const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
  const shadow = createServer((sock) => {
    let text = '';
    let answered = 0;
    sock.on('error', () => {});
    sock.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      const n = (text.match(/\r\n\r\n/g) ?? []).length;
      for (; answered < n; answered++) sock.write(OK);
    });
  });
  await new Promise<void>((resolve) => shadow.listen(0, '127.0.0.1', () => resolve()));
  t.teardown(() => shadow.close());
  const port = (shadow.address() as AddressInfo).port;
  for (const mode of ['stream', 'http']) {
    // --speed 0.01: the capture's seconds become minutes; the signal surely comes mid-way.
    const p = spawn(process.execPath, [CLI, 'replay', file, '--to', `127.0.0.1:${port}`, '--mode', mode, '--speed', '0.01'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => p.once('close', (code) => resolve(code)));
    await new Promise((r) => setTimeout(r, 1500));
    p.kill('SIGINT');
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000))]);
    if (code === 'hung') p.kill('SIGKILL');
    t.equal(code, 130, `--mode ${mode}: exit 130 (${stderr.trim().split('\n').pop()})`);
    t.match(stderr, /podspan: connections in capture: 40/, `--mode ${mode}: the summary`);
    t.match(stderr, /podspan: replay: interrupted \(SIGINT\)/, `--mode ${mode}: says it was interrupted`);
  }
});
