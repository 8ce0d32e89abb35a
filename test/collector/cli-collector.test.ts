import t from 'tap';
import dgram from 'node:dgram';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { collectorConfig, parseDuration, parseListenAddress } from '../../cli/collector.js';
import { parseSize } from '../../cli/units.js';
import { buildVxlanHeader } from '../../packet/encap/vxlan.js';
import { podspan, run } from '../helpers/run.js';
import { CLI } from '../helpers/repo.js';
import { finishedFiles, listeningPorts, parseSummary, readStore, sendDatagrams, sleep, startCollector, testFrame } from './helpers.js';

// `podspan collector` as a process: flags, usage errors, start without libpcap, signals.
// Network: UDP on 127.0.0.1 only.

function tmp(t: { teardown(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'psl-tc-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('sizes, durations and listen addresses', async (t) => {
  t.equal(parseSize('100M', '--x'), 100 * 1024 * 1024);
  t.equal(parseSize('500K', '--x'), 500 * 1024);
  t.equal(parseSize('2G', '--x'), 2 * 1024 ** 3);
  t.equal(parseSize('1MiB', '--x'), 1024 * 1024);
  t.equal(parseSize('4096', '--x'), 4096);
  t.equal(parseSize('1.5G', '--x'), 1.5 * 1024 ** 3);
  t.equal(parseSize('64kb', '--x'), 64 * 1024);
  t.equal(parseSize('64Mi', '--x'), 64 * 1024 * 1024);
  for (const bad of ['12Q', '', '-1M', '0', '0.0001K', 'M', '1.G', '1e3']) t.throws(() => parseSize(bad, '--rotate-size'), { code: 'PODSPAN_ERR_USAGE' }, `"${bad}" refused`);
  t.equal(parseDuration('1h', '--x'), 3_600_000);
  t.equal(parseDuration('90s', '--x'), 90_000);
  t.equal(parseDuration('15m', '--x'), 900_000);
  t.equal(parseDuration('2', '--x'), 2000);
  t.equal(parseDuration('250ms', '--x'), 250);
  t.equal(parseDuration('1d', '--x'), 86_400_000);
  for (const bad of ['1w', 'h', '0s', '-5s', '1h30m']) t.throws(() => parseDuration(bad, '--rotate-time'), { code: 'PODSPAN_ERR_USAGE' }, `"${bad}" refused`);
  t.same(parseListenAddress('127.0.0.1:4789'), { host: '127.0.0.1', port: 4789 });
  t.same(parseListenAddress('0.0.0.0'), { host: '0.0.0.0', port: 4789 });
  t.same(parseListenAddress(':8472'), { host: '0.0.0.0', port: 8472 });
  t.same(parseListenAddress('[::]:4789'), { host: '::', port: 4789 });
  t.same(parseListenAddress('::1'), { host: '::1', port: 4789 });
  for (const bad of ['localhost:4789', '1.2.3.4:99999', '1.2.3.4:x', '[::1]:-1']) t.throws(() => parseListenAddress(bad), { code: 'PODSPAN_ERR_USAGE' }, `"${bad}" refused`);
  const cfg = collectorConfig({ vxlan: ['127.0.0.1:4789', ':8472'], gre: true, out: '/tmp/psl-tc-never-created', 'rotate-size': '10M', 'rotate-time': '1h', 'keep-files': '5', 'keep-bytes': '1G', 'split-by': 'pod' }, false);
  t.same(cfg.options, {
    vxlan: [{ host: '127.0.0.1', port: 4789 }, { host: '0.0.0.0', port: 8472 }],
    gre: {},
    store: { dir: '/tmp/psl-tc-never-created', rotateBytes: 10 * 1024 * 1024, splitBy: 'pod', rotateMs: 3_600_000, keepFiles: 5, keepBytes: 1024 ** 3 },
  });
  t.throws(() => collectorConfig({ vxlan: ['127.0.0.1:1'], stdout: true }, true), { code: 'PODSPAN_ERR_USAGE' }, 'binary pcap to a terminal refused');
});

t.test('flag errors exit 2 with a message that says what to do', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [[], /say where mirror traffic comes in: --vxlan ADDR/],
    [['--vxlan', '127.0.0.1:4789'], /say where frames go: --out DIR/],
    [['--vxlan', '127.0.0.1:4789', '--out', '/tmp/psl-tc-never-created', '--rotate-size', '12Q'], /collector: --rotate-size wants a size such as 64M, 1G or 4096, got "12Q"/],
    [['--vxlan', '127.0.0.1:4789', '--out', '/tmp/psl-tc-never-created', '--rotate-time', '5x'], /--rotate-time wants a duration/],
    [['--vxlan', '127.0.0.1:4789', '--out', '/tmp/psl-tc-never-created', '--keep-files', '0'], /--keep-files wants a whole number/],
    [['--vxlan', '127.0.0.1:4789', '--out', '/tmp/psl-tc-never-created', '--split-by', 'pods'], /--split-by wants pod, source or none/],
    [['--vxlan', '127.0.0.1:4789', '--out', '/tmp/psl-tc-never-created', '--keep-bytes', '1M', '--rotate-size', '10M'], /--keep-bytes \(1M\) is smaller than one file/],
    [['--vxlan', '127.0.0.1:4789', '--stdout', '--rotate-size', '1M'], /--rotate-size applies to files: give --out DIR too/],
    [['--vxlan', 'collector.local:4789', '--out', '/tmp/psl-tc-never-created'], /is not an IP address/],
    [['--vxlan', '127.0.0.1:4789', '--vxlan', '127.0.0.1:4789', '--out', '/tmp/psl-tc-never-created'], /given twice/],
    [['--vxlan', '127.0.0.1:4789', '--out', '/tmp/psl-tc-never-created', '--tap', 'ij-no-such0'], /--tap ij-no-such0: .*no such interface/],
    [['--vxlan', '127.0.0.1:4789', '--out', '/tmp/psl-tc-never-created', '--metrics', '127.0.0.1'], /--metrics wants HOST:PORT/],
    [['--vxlan', '127.0.0.1:4789', '--out', '/tmp/psl-tc-never-created', '--duration', '0'], /--duration wants seconds/],
    [['--vxlan', '127.0.0.1:4789', '--out', '/tmp/psl-tc-never-created', '--bogus'], /Unknown option '--bogus'/],
    [['extra', '--gre', '--out', '/tmp/psl-tc-never-created'], /expected 0 argument/],
  ];
  for (const [args, re] of cases) {
    const r = await podspan(['collector', ...args], { timeoutMs: 20_000 });
    t.equal(r.code, 2, `exit 2: ${args.join(' ')}`);
    t.match(r.stderr, re);
    t.notMatch(r.stderr, /internal error|at .*\.js:\d+/, 'no stack trace');
  }
});

t.test('a port in use is a usage error naming the address; an unusable --out is an I/O error (exit 1)', async (t) => {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => s.close());
  const dir = tmp(t);
  const r = await podspan(['collector', '--vxlan', `127.0.0.1:${s.address().port}`, '--out', dir, '--duration', '1'], { timeoutMs: 20_000 });
  t.equal(r.code, 2);
  t.match(r.stderr, new RegExp(`cannot listen for VXLAN: bind EADDRINUSE 127.0.0.1:${s.address().port}`));
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  const r2 = await podspan(['collector', '--vxlan', '127.0.0.1:0', '--out', join(file, 'sub'), '--duration', '1'], { timeoutMs: 20_000 });
  t.equal(r2.code, 1);
  t.match(r2.stderr, /collector: --out .*a-file\/sub: .*a-file exists and is not a directory/);
});

t.test('a collector that only writes files starts without the native addon (libpcap); --gre then says what is missing', async (t) => {
  const dir = tmp(t);
  // Make every native addon load fail, as on a host without libpcap.
  const preload = join(dir, 'no-native.cjs');
  writeFileSync(preload, "process.dlopen = () => { throw new Error('libpcap.so.0.8: cannot open shared object file'); };\n");
  const out = join(dir, 'out');
  const r = await run(process.execPath, ['-r', preload, CLI, 'collector', '--vxlan', '127.0.0.1:0', '--out', out, '--duration', '0.3'], { timeoutMs: 20_000 });
  t.equal(r.code, 0, 'exit 0 without the native addon');
  t.match(r.stderr, /listening on vxlan 127\.0\.0\.1:\d+; writing pcapng files in/);
  t.match(r.stderr, /vxlan: received 0, delivered 0, dropped 0/);
  const r2 = await run(process.execPath, ['-r', preload, CLI, 'collector', '--gre', '--out', out, '--duration', '0.3'], { timeoutMs: 20_000 });
  t.equal(r2.code, 2);
  t.match(r2.stderr, /--gre: cannot load the native capture addon.*libpcap\.so/);
});

t.test('SIGTERM and SIGINT stop it with a summary; SIGHUP starts new files; --duration ends it', async (t) => {
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    const dir = tmp(t);
    const c = await startCollector(t, ['--vxlan', '127.0.0.1:0', '--out', dir]);
    const port = listeningPorts(c.stderr())[0]!;
    await sendDatagrams('127.0.0.1', port, [[buildVxlanHeader(5), testFrame(1)], [Buffer.from('x')]]);
    await sleep(100);
    if (sig === 'SIGTERM') {
      c.proc.kill('SIGHUP');
      await sleep(100);
      await sendDatagrams('127.0.0.1', port, [[buildVxlanHeader(5), testFrame(2)]]);
      await sleep(100);
    }
    const r = await c.stop(sig);
    t.equal(r.code, 0, `${sig}: exit 0`);
    const s = parseSummary(r.stderr);
    const n = sig === 'SIGTERM' ? 2 : 1;
    t.same(s['vxlan'], { received: n + 1, delivered: n, dropped: 1, reasons: { short: 1 } }, `${sig}: vxlan counters`);
    t.same(s['store'], { received: n, delivered: n, dropped: 0, reasons: {} }, `${sig}: store counters`);
    t.match(r.stderr, /vxlan vni 5 from 127\.0\.0\.1: \d+ frames/);
    t.equal(finishedFiles(dir).length, n, sig === 'SIGTERM' ? 'SIGHUP finished the first file' : 'one file');
    t.same(readdirSync(dir).filter((f) => f.endsWith('.part')), []);
    t.equal(readStore(dir).length, n);
  }
  const dir = tmp(t);
  const t0 = Date.now();
  const r = await podspan(['collector', '--vxlan', '127.0.0.1:0', '--out', dir, '--duration', '0.5'], { timeoutMs: 20_000 });
  t.equal(r.code, 0);
  t.ok(Date.now() - t0 < 10_000);
  t.match(r.stderr, /stopped after 0\.\d s/);
});
