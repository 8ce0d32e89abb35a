import t from 'tap';
import { spawn } from 'node:child_process';
import { CLI } from '../helpers/repo.js';
import { makeVethPair, sendUdp } from '../native/netns-fixture.js';
import { parseSummary, sleep } from './agent-helpers.js';

// Real namespaces: a veth pair this test creates (psl-ts-*), UDP inside it. `-w -` streams
// pcapng to a pipe, read live by tshark; a reader that goes away (head) ends the agent
// cleanly.

interface Piped {
  stdout: string;
  stderr: string;
  code: number | null;
}

/** bash -c SCRIPT with the agent command line as "$@"; resolves once it printed "listening on", then `then()` runs. */
async function pipeline(script: string, agentArgs: string[], then: () => Promise<unknown>, timeoutMs = 20_000): Promise<Piped> {
  const proc = spawn('bash', ['-c', script, 'bash', process.execPath, CLI, 'agent', ...agentArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const closed = new Promise<number | null>((resolve) => proc.once('close', (code) => resolve(code)));
  const deadline = Date.now() + 10_000;
  while (!stderr.includes('listening on') && proc.exitCode === null && Date.now() < deadline) await sleep(20);
  await then();
  const code = await closed;
  clearTimeout(timer);
  return { stdout, stderr, code };
}

t.test('real netns veth: podspan agent -w - | tshark -r - decodes the live stream', async (t) => {
  const pair = await makeVethPair(t, 'psl-ts-tshark', 87);
  const r = await pipeline(
    '"$@" -w - | tshark -r - -T fields -e frame.interface_name -e udp.dstport; echo "exit=${PIPESTATUS[0]},${PIPESTATUS[1]}" >&2',
    ['--iface', pair.ifB, '--netns', pair.nsB, '--filter', 'udp and dst port 41010', '-c', '20'],
    () => sendUdp(pair.nsA, pair.ipB, 41010, 40, 10_000),
  );
  t.equal(r.code, 0);
  t.match(r.stderr, /exit=0,0/, 'agent and tshark both exit 0');
  const lines = r.stdout.trim().split('\n');
  t.equal(lines.length, 20, 'tshark decoded the 20 packets the agent wrote (-c 20)');
  t.ok(lines.every((l) => l === `${pair.ifB}\t41010`), 'each on the veth, UDP to port 41010');
  t.equal(parseSummary(r.stderr)?.captured, 20);
});

t.test('real netns veth: a reader that goes away (| head -c 100) ends the agent with exit 0 and the summary', async (t) => {
  const pair = await makeVethPair(t, 'psl-ts-epipe', 88);
  const r = await pipeline(
    '"$@" -w - | head -c 100 > /dev/null; echo "exit=${PIPESTATUS[0]}" >&2',
    ['--iface', pair.ifB, '--netns', pair.nsB, '--filter', 'udp and dst port 41011'],
    () => sendUdp(pair.nsA, pair.ipB, 41011, 200, 10_000),
  );
  t.match(r.stderr, /exit=0/, 'the agent exits 0 when its reader leaves');
  const s = parseSummary(r.stderr);
  t.ok(s !== undefined, 'the summary is printed');
  t.match(r.stderr, /write_error \d+/, 'frames it could not write are counted as write_error');
  t.notMatch(r.stderr, /internal error/);
});
