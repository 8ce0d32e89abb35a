import t from 'tap';
import { parseSize, setLongTimeout } from '../../cli/units.js';

t.test('setLongTimeout: a delay past setTimeout\'s 24.8-day limit does not fire at once; short ones fire; cancel works', async (t) => {
  let fired = 0;
  const cancelLong = setLongTimeout(() => fired++, 30 * 24 * 3600 * 1000); // --duration 2592000
  const cancelled = setLongTimeout(() => fired += 100, 20);
  cancelled();
  await new Promise<void>((resolve) => setLongTimeout(resolve, 50));
  await new Promise((r) => setTimeout(r, 50));
  t.equal(fired, 0, 'neither the 30-day timer nor the cancelled one fired');
  cancelLong();
});

t.test('parseSize reads sizes as the collector and streams flags take them', async (t) => {
  t.equal(parseSize('1.5G', '--x'), 1.5 * 1024 ** 3);
  t.equal(parseSize('64Mi', '--x'), 64 * 1024 ** 2);
});
