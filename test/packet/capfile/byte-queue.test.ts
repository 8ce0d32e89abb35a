import t from 'tap';
import { Buffer } from 'node:buffer';
import { ByteQueue } from '../../../packet/capfile/byte-queue.js';

t.test('peek gives a view of one chunk without copying, and a gathered copy across chunks', async (t) => {
  const q = new ByteQueue();
  const a = Buffer.from('abcd');
  q.push(a);
  q.push(Buffer.alloc(0));
  q.push(Buffer.from('ef'));
  q.push(Buffer.from('ghij'));
  t.equal(q.available, 10);
  const v = q.peek(3)!;
  t.equal(v.toString(), 'abc');
  t.equal(v.buffer, a.buffer, 'inside the first chunk: a view');
  t.equal(q.peek(8)!.toString(), 'abcdefgh', 'across three chunks: gathered');
  t.equal(q.peek(11), null, 'more than buffered');
  q.skip(5);
  t.equal(q.offset, 5);
  t.equal(q.available, 5);
  t.equal(q.peek(5)!.toString(), 'fghij');
  t.ok(q.ensure(1));
  t.equal(q.buf.toString('latin1', q.pos, q.pos + 1), 'f');
  t.throws(() => q.skip(6), RangeError);
  q.skip(5);
  t.equal(q.available, 0);
  t.equal(q.peek(1), null);
});

t.test('thousands of 1-byte chunks are consumed in linear time and released', async (t) => {
  const q = new ByteQueue();
  const n = 200_000;
  for (let i = 0; i < n; i++) q.push(Buffer.from([i & 0xff]));
  let sum = 0;
  const t0 = Date.now();
  while (q.available >= 3) {
    const v = q.peek(3)!;
    sum += v[0]! + v[1]! + v[2]!;
    q.skip(3);
  }
  t.ok(Date.now() - t0 < 5000, 'no quadratic walk');
  t.equal(q.offset, n - (n % 3));
  t.ok(sum > 0);
});
