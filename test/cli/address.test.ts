import t from 'tap';
import { parseConnectAddress, portNumber, splitHostPort } from '../../cli/address.js';
import { parseMetricsAddress } from '../../cli/metrics-server.js';
import { parseTarget } from '../../cli/replay.js';

t.test('splitHostPort: the forms a user writes, and what is refused', async (t) => {
  const cases: Array<[string, { host: string; port: string | undefined } | null]> = [
    ['127.0.0.1:4789', { host: '127.0.0.1', port: '4789' }],
    ['collector.local:80', { host: 'collector.local', port: '80' }],
    [':9090', { host: '', port: '9090' }],
    ['0.0.0.0', { host: '0.0.0.0', port: undefined }],
    ['[::1]:80', { host: '::1', port: '80' }],
    ['[::]', { host: '::', port: undefined }],
    ['[::ffff:10.0.0.1]:8080', { host: '::ffff:10.0.0.1', port: '8080' }],
    ['::1', { host: '::1', port: undefined }],
    [' 10.0.0.2:8080 ', { host: '10.0.0.2', port: '8080' }],
    ['1.2.3.4:x', { host: '1.2.3.4', port: 'x' }],
    ['[1.2.3.4]:80', { host: '1.2.3.4', port: '80' }],
    ['[foo]:80', null],
    ['[::1:80', null],
    ['a:b:c', null],
    ['host]:80', null],
  ];
  for (const [text, want] of cases) t.same(splitHostPort(text), want, JSON.stringify(text));
});

t.test('portNumber: 0..65535 in digits, or at least `min`', async (t) => {
  const cases: Array<[string | undefined, number, number | undefined]> = [
    ['0', 0, 0],
    ['0', 1, undefined],
    ['65535', 1, 65535],
    ['65536', 0, undefined],
    ['099', 0, 99],
    ['-1', 0, undefined],
    ['', 0, undefined],
    ['123456', 0, undefined],
    [undefined, 0, undefined],
  ];
  for (const [text, min, want] of cases) t.equal(portNumber(text, min), want, `${String(text)} (min ${min})`);
});

t.test('connect addresses (replay --to, collector --replay-to): a host and a port 1..65535', async (t) => {
  t.same(parseConnectAddress('shadow.svc:8080', 'm'), { host: 'shadow.svc', port: 8080 });
  t.same(parseTarget('[::1]:80'), { host: '::1', port: 80 });
  for (const bad of ['nohostport', ':80', '10.0.0.2:0', '10.0.0.2:70000', '[::1]', '::1', '[x]:80']) {
    t.throws(() => parseTarget(bad), { code: 'PODSPAN_ERR_USAGE' }, `"${bad}" refused`);
  }
});

t.test('--metrics: HOST:PORT, an empty host listens on every address', async (t) => {
  t.same(parseMetricsAddress(':9090', 'agent'), { host: '::', port: 9090 });
  t.same(parseMetricsAddress('127.0.0.1:0', 'agent'), { host: '127.0.0.1', port: 0 });
  t.same(parseMetricsAddress('[::1]:9090', 'agent'), { host: '::1', port: 9090 });
  for (const bad of ['127.0.0.1', '[::1]', ':99999', '::1']) {
    t.throws(() => parseMetricsAddress(bad, 'agent'), { code: 'PODSPAN_ERR_USAGE' }, `"${bad}" refused`);
  }
});
