import t from 'tap';
import { mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { buildVxlanHeader } from '../../packet/encap/vxlan.js';
import { podspan } from '../helpers/run.js';
import { execFileP, finishedFiles, listeningPorts, readStoredFile, sendDatagrams, sleep, startCollector, testFrame } from './helpers.js';

// A SIGKILLed collector leaves NAME.pcapng.part; the next start cuts it back to its last
// complete block and renames it. Network: UDP on 127.0.0.1 only.

t.test('after SIGKILL, the .part (also cut mid-block) is repaired at the next start and read by tcpdump and tshark', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'psl-tc-kill-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const c = await startCollector(t, ['--vxlan', '127.0.0.1:0', '--out', dir]);
  const port = listeningPorts(c.stderr())[0]!;
  const N = 30;
  await sendDatagrams('127.0.0.1', port, Array.from({ length: N }, (_, i) => [buildVxlanHeader(9), testFrame(i, 200)]));
  await sleep(600); // the store flushes every 200 ms
  const r = await c.stop('SIGKILL');
  t.equal(r.signal, 'SIGKILL');
  const parts = readdirSync(dir).filter((n) => n.endsWith('.pcapng.part'));
  t.equal(parts.length, 1, 'a .part is left');
  t.equal(finishedFiles(dir).length, 0, 'and no finished file');
  const part = join(dir, parts[0]!);
  // Cut the last EPB (28 + 200 + 4 bytes) in the middle, as a crash during write() would.
  truncateSync(part, statSync(part).size - 100);

  const again = await podspan(['collector', '--vxlan', '127.0.0.1:0', '--out', dir, '--duration', '0.3'], { timeoutMs: 20_000 });
  t.equal(again.code, 0, 'the second run exits 0');
  t.match(again.stderr, new RegExp(`repaired .*${parts[0]!.replace(/\./g, '\\.')} -> .*\\.pcapng: ${N - 1} packets kept, \\d+ bytes of a cut-off block removed`));
  const files = finishedFiles(dir);
  t.equal(files.length, 1, 'the repaired file (the second run stored nothing and left no file)');
  t.same(readdirSync(dir).filter((n) => n.endsWith('.part')), []);
  const f = readStoredFile(files[0]!);
  t.equal(f.frames.length, N - 1);
  t.ok(f.frames.every((fr, i) => fr.data.equals(testFrame(i, 200))), 'the complete frames, byte for byte');
  const td = await execFileP('tcpdump', ['-nn', '-r', files[0]!]);
  t.equal(td.stdout.split('\n').filter((l) => l !== '').length, N - 1, 'tcpdump reads every packet');
  t.notMatch(td.stderr, /truncated|bad/i);
  const ts = await execFileP('tshark', ['-r', files[0]!, '-T', 'fields', '-e', 'frame.interface_name']);
  t.same([...new Set(ts.stdout.split('\n').filter((l) => l !== ''))], ['vxlan-vni9-127.0.0.1'], 'tshark reads it, interface name kept');
  t.equal(ts.stdout.split('\n').filter((l) => l !== '').length, N - 1);
});
