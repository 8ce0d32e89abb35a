import t from 'tap';
import { CaptureError, LiveCapture, NATIVE_ERR, listDevices, libpcapVersion } from '../../native/index.js';

// Open-time failures come back as CaptureError with a stable code and libpcap's own text.

t.test('opening an interface that does not exist fails with CAPTURE_NO_SUCH_DEVICE', async (t) => {
  const err = t.throws(() => LiveCapture.open({ iface: 'psl-nosuch0' })) as CaptureError;
  t.type(err, CaptureError);
  t.equal(err.code, NATIVE_ERR.CAPTURE_NO_SUCH_DEVICE);
  t.match(err.message, /psl-nosuch0/);
});

t.test('a BPF filter that does not compile fails with CAPTURE_BAD_FILTER and pcap_compile text', async (t) => {
  const err = t.throws(() => LiveCapture.open({ iface: 'lo', filter: 'udp port' })) as CaptureError;
  t.type(err, CaptureError);
  t.equal(err.code, NATIVE_ERR.CAPTURE_BAD_FILTER);
  t.match(err.message, /syntax error/);
  const err2 = t.throws(() => LiveCapture.open({ iface: 'lo', filter: 'port 99999999' })) as CaptureError;
  t.equal(err2.code, NATIVE_ERR.CAPTURE_BAD_FILTER);
});

t.test('a filter is never handed to a shell', async (t) => {
  const err = t.throws(() => LiveCapture.open({ iface: 'lo', filter: 'udp; touch /tmp/psl-should-not-exist' })) as CaptureError;
  t.equal(err.code, NATIVE_ERR.CAPTURE_BAD_FILTER);
});

t.test('a network namespace that does not exist fails with NETNS', async (t) => {
  const err = t.throws(() => LiveCapture.open({ iface: 'lo', netns: 'psl-no-such-netns' })) as CaptureError;
  t.equal(err.code, NATIVE_ERR.NETNS);
});

t.test('bad options fail with NATIVE_ARG before reaching libpcap', async (t) => {
  t.throws(() => LiveCapture.open({ iface: 'lo', snapLen: 0 }), { code: NATIVE_ERR.NATIVE_ARG });
  t.throws(() => LiveCapture.open({ iface: 'lo', direction: 'sideways' as 'in' }), { code: NATIVE_ERR.NATIVE_ARG });
});

t.test('a capture opened on lo reports Ethernet link type, ns timestamps and closes without start', async (t) => {
  const cap = LiveCapture.open({ iface: 'lo', filter: 'udp port 9', snapLen: 1500 });
  t.equal(cap.linkType, 1);
  t.equal(cap.linkTypeName, 'EN10MB');
  t.equal(cap.nanoTimestamps, true);
  t.equal(cap.snapLen, 1500);
  t.throws(() => cap.start(), { code: NATIVE_ERR.NATIVE_STATE }, 'start needs onBatch first');
  await cap.close();
  await cap.close();
  t.same(cap.stats().ringFull, 0);
});

t.test('listDevices and libpcapVersion come from libpcap', async (t) => {
  t.match(libpcapVersion(), /libpcap version/);
  t.ok(listDevices().some((d) => d.name === 'lo' && d.loopback));
});
