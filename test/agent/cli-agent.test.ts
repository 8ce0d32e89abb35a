import t from 'tap';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from '../helpers/repo.js';
import { podspan, run } from '../helpers/run.js';
import { parseSummary, readCaptureFile, sleep, startAgent } from './agent-helpers.js';

// `podspan agent` as a user runs it: fail fast with exit 2 and advice; a short capture on
// lo (traffic to 127.0.0.1 only) with -c and the tcpdump-like summary.

const dir = mkdtempSync(join(tmpdir(), 'psl-agent-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const out = join(dir, 'out.pcapng');

t.test('an unknown interface: exit 2, the interfaces that exist, and --pod-ip suggested', async (t) => {
  const r = await podspan(['agent', '--iface', 'psl-nosuch0', '-w', out]);
  t.equal(r.code, 2);
  t.match(r.stderr, /no interface "psl-nosuch0" in this network namespace/);
  t.match(r.stderr, /interfaces there: .*\blo\b/, 'lists the interfaces that exist');
  t.match(r.stderr, /--pod-ip/, 'suggests capturing by pod IP');
  t.notOk(existsSync(out), 'no file is left behind');
});

t.test('a BPF filter that does not compile: exit 2 with libpcap\'s message', async (t) => {
  const r = await podspan(['agent', '--iface', 'lo', '--filter', 'udp port', '-w', out]);
  t.equal(r.code, 2);
  t.match(r.stderr, /--filter does not compile: .*syntax error/);
  t.notOk(existsSync(out));
});

t.test('no privileges (as nobody): exit 2, run as root or grant CAP_NET_RAW + CAP_NET_ADMIN', async (t) => {
  const r = await run('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, CLI, 'agent', '--iface', 'lo', '-w', join(dir, 'nobody.pcapng')]);
  t.equal(r.code, 2, r.stderr);
  t.match(r.stderr, /not allowed to capture/);
  t.match(r.stderr, /run podspan as root/);
  t.match(r.stderr, /CAP_NET_RAW and CAP_NET_ADMIN/);
});

t.test('a pod IP that no veth reaches: exit 2, check the IP or use --iface', async (t) => {
  const r = await podspan(['agent', '--pod-ip', '192.0.2.77', '-w', out]); // TEST-NET-1: nobody's pod
  t.equal(r.code, 2);
  t.match(r.stderr, /no veth in this network namespace reaches pod IP 192\.0\.2\.77/);
  t.match(r.stderr, /--iface/);
  t.notOk(existsSync(out));
});

t.test('flag mistakes are usage errors that say what to do', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['--iface', 'lo'], /say where frames go: -w FILE .* or --to URL \(vxlan:/],
    [['-w', out], /say what to capture: --iface IF .*, --pod-ip IP .*, --pod NAMESPACE\/NAME or --selector K=V/],
    [['--pod-ip', '10.0.0.300', '-w', out], /not an IPv4 or IPv6 address/],
    [['--pod-ip', 'fe80::1%eth0', '-w', out], /not an IPv4 or IPv6 address/],
    [['--pod-ip', '10.199.0.02', '-w', out], /not an IPv4 or IPv6 address/],
    [['--iface', 'any', '--to', 'vxlan://127.0.0.1:4998?vni=1'], /carries Ethernet frames, and any captures LINUX_SLL/],
    [['--iface', 'any', '--to', 'erspan://127.0.0.1?session=1&version=2'], /carries Ethernet frames, and any captures LINUX_SLL/],
    [['--iface', 'lo', '--snaplen', '0', '-w', out], /--snaplen wants a whole number from 1 to 262144/],
    [['--iface', 'lo', '--duration', '-1', '-w', out], /--duration|Option/],
    [['--iface', 'lo', '--netns', 'psl-no-such-ns', '-w', out], /no such network namespace/],
    [['--iface', 'lo', '--to', 'gre://10.0.0.9?key=4294967296', '-w', out], /key wants an integer 0\.\.4294967295/],
    [['--iface', 'lo', '--to', 'gre://10.0.0.9:4789', '-w', out], /GRE has no ports/],
    [['--iface', 'lo', '--to', 'erspan://10.0.0.9?version=3'], /say which session: erspan:\/\/HOST\?session=N&version=2\|3/],
    [['--iface', 'lo', '--to', 'erspan://10.0.0.9?session=1024'], /session wants an integer 0\.\.1023/],
    [['--iface', 'lo', '--to', 'erspan://10.0.0.9?session=1&version=1'], /version wants 2 \(ERSPAN type II\) or 3 \(type III\)/],
    [['--iface', 'lo', '--to', 'gre://10.0.0.9?mtu=9'], /mtu wants an integer 68\.\.65535/],
    [['--iface', 'lo', '--to', 'vxlan://10.0.0.9'], /say which VNI/],
    [['--iface', 'lo', '--to', 'vxlan://10.0.0.9?vni=16777216'], /vni wants an integer 0\.\.16777215/],
    [['--iface', 'lo', '--to', 'ftp://10.0.0.9'], /unknown scheme ftp \(this build exports to vxlan:/],
    [['--iface', 'lo', '--iface', 'lo', '-w', out], /same interface: give it once/],
    [['--iface', 'lo', '-w', join(dir, 'no', 'such', 'dir.pcapng')], /cannot write .*no such file or directory/i],
  ];
  for (const [args, re] of cases) {
    const r = await podspan(['agent', ...args]);
    t.equal(r.code, 2, `${args.join(' ')}: exit 2`);
    t.match(r.stderr, re, args.join(' '));
  }
});

t.test('capture on lo with -c: exactly COUNT packets, a pcapng tcpdump-class tools read, and the summary', async (t) => {
  const port = 45000 + (process.pid % 1000);
  const file = join(dir, 'lo.pcapng');
  const agent = await startAgent(t, ['--iface', 'lo', '--filter', `udp dst port ${port}`, '-c', '5', '-w', file]);
  t.match(agent.stderr(), /podspan: listening on lo, link-type EN10MB, snapshot length 262144 bytes/);
  const sock = createSocket('udp4');
  t.teardown(() => sock.close());
  for (let i = 0; i < 10 && agent.proc.exitCode === null; i++) {
    await new Promise<void>((resolve) => sock.send(Buffer.from(`hello ${i}`), port, '127.0.0.1', () => resolve()));
    await sleep(20);
  }
  const code = await Promise.race([agent.exited, sleep(5_000).then(() => 'timeout' as const)]);
  t.equal(code, 0, 'exits 0 by itself once 5 packets are written');
  const s = parseSummary(agent.stderr());
  t.equal(s?.captured, 5, '"5 packets captured"');
  t.ok(s !== undefined && s.received >= 5, '"N packets received by filter"');
  t.equal(s?.droppedByKernel, 0);
  t.match(agent.stderr(), /packets? dropped by podspan \(batch_full 0, write_error 0, after_stop \d+\)/);
  const f = readCaptureFile(file);
  t.equal(f.records.length, 5);
  t.same(f.interfaces.map((i) => [i.name, i.tsResolPower, i.bigEndian]), [['lo', 9, false]], 'one IDB, ns resolution, little-endian');
  t.equal(f.stats[0]?.usrDeliv, 5n);
  const tshark = await run('tshark', ['-r', file, '-T', 'fields', '-e', 'udp.dstport']);
  t.equal(tshark.code, 0, tshark.stderr);
  t.same(tshark.stdout.trim().split('\n'), Array(5).fill(String(port)), 'tshark reads the file');
});

t.test('--duration stops the capture by itself, exit 0, with the summary and a complete file', async (t) => {
  const file = join(dir, 'duration.pcapng');
  const agent = await startAgent(t, ['--iface', 'lo', '--filter', 'udp dst port 9', '--duration', '0.5', '-w', file]);
  const code = await Promise.race([agent.exited, sleep(5_000).then(() => 'timeout' as const)]);
  t.equal(code, 0);
  t.ok(parseSummary(agent.stderr()) !== undefined, 'summary printed');
  const f = readCaptureFile(file);
  t.equal(f.interfaces.length, 1);
  t.equal(f.stats.length, 1, 'the ISB is written at the end');
});

t.test('a --metrics port in use fails the start before -w touches anything (an existing file is kept)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'podspan-agent-metrics-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const keep = join(dir, 'keep.pcapng');
  writeFileSync(keep, 'an earlier capture');
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', () => resolve()));
  t.teardown(() => busy.close());
  const port = (busy.address() as AddressInfo).port;
  const r = await podspan(['agent', '--iface', 'lo', '-w', keep, '--metrics', `127.0.0.1:${port}`, '-c', '1']);
  t.not(r.code, 0, `refused: ${r.stderr.trim()}`);
  t.match(r.stderr, /EADDRINUSE/);
  t.notMatch(r.stderr, /listening on lo/, 'the capture never started');
  t.equal(readFileSync(keep, 'utf8'), 'an earlier capture', 'the existing file is untouched');
});

t.test('a collector that cannot be reached at start is a runtime error (exit 1), not a usage error', async (t) => {
  const r = await podspan(['agent', '--iface', 'lo', '--to', 'vxlan://no-such-host.invalid?vni=1', '-c', '1']);
  t.equal(r.code, 1, r.stderr);
  t.match(r.stderr, /cannot open the export socket: .*ENOTFOUND/);
});
