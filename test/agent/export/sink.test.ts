import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_ERR, AgentError } from '../../../agent/errors.js';
import { PipeSink, openFileSink } from '../../../agent/export/sink.js';

const dir = mkdtempSync(join(tmpdir(), 'psl-agent-sink-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** 3000 Buffers of 1..2000 bytes (more than IOV_MAX per write), each byte its index's. */
function pieces(): Buffer[] {
  return Array.from({ length: 3000 }, (_, i) => Buffer.alloc(1 + ((i * 37) % 2000), i & 0xff));
}

t.test('a file sink writes every Buffer in order, over many writes and beyond IOV_MAX', async (t) => {
  const path = join(dir, 'out.bin');
  const sink = openFileSink(path);
  const all: Buffer[] = [];
  for (let w = 0; w < 3; w++) {
    const p = pieces();
    await sink.write(p);
    all.push(...p);
  }
  await sink.write([]);
  await sink.close();
  await sink.close();
  t.ok(readFileSync(path).equals(Buffer.concat(all)));
});

t.test('a file that cannot be opened is AgentError WRITE with the system\'s reason', async (t) => {
  const err = t.throws(() => openFileSink(join(dir, 'missing', 'out.bin'))) as AgentError;
  t.type(err, AgentError);
  t.equal(err.code, AGENT_ERR.WRITE);
  t.match(err.message, /no such file or directory/i);
});

t.test('a pipe sink delivers every byte, in order, to a reader slower than the writer', async (t) => {
  const fifo = join(dir, 'fifo');
  const out = join(dir, 'from-fifo.bin');
  execFileSync('mkfifo', [fifo]);
  const reader = spawn('sh', ['-c', 'sleep 0.3; cat "$0" > "$1"', fifo, out], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => reader.once('close', () => r()));
  const fd = openSync(fifo, 'w'); // blocks until cat opens the other end
  const sink = new PipeSink(fd, 'fifo');
  const all: Buffer[] = [];
  for (let w = 0; w < 5; w++) {
    const p = pieces();
    await sink.write(p); // 2.9 MB each: far more than a pipe holds, so this waits for cat
    all.push(...p);
  }
  await sink.close();
  await exited;
  t.ok(readFileSync(out).equals(Buffer.concat(all)), 'the reader got every byte in order');
});
