import t from 'tap';
import { captureFilter, exclusionClause, isBpfHost } from '../../agent/exclude.js';
import { parseExportTarget } from '../../agent/export/registry.js';

const exportEndpointFromUrl = (url: string) => parseExportTarget(url).endpoint;
import { CaptureError, LiveCapture, NATIVE_ERR } from '../../native/index.js';

t.test('one clause per export transport', async (t) => {
  t.equal(exclusionClause({ host: '10.0.0.9', transport: 'udp', port: 4789 }), 'not (host 10.0.0.9 and udp port 4789) and not (src host 10.0.0.9 and icmp and icmp[17] == 17 and icmp[30:2] == 4789)');
  t.equal(exclusionClause({ host: '10.0.0.9', transport: 'tcp', port: 8443 }), 'not (host 10.0.0.9 and tcp port 8443)');
  t.equal(exclusionClause({ host: '10.0.0.7', transport: 'gre' }), 'not (host 10.0.0.7 and proto gre) and not (src host 10.0.0.7 and icmp and icmp[17] == 47)');
  t.equal(exclusionClause({ host: 'fd00::7', transport: 'udp', port: 4789 }), 'not (host fd00::7 and udp port 4789) and not (src host fd00::7 and icmp6 and ip6[54] == 17 and ip6[90:2] == 4789)');
  t.equal(exclusionClause({ host: 'collector.example', transport: 'tcp', port: 443 }), 'not (host collector.example and tcp port 443)');
});

t.test('the user filter is parenthesised and ANDed with every clause', async (t) => {
  const ex = [
    { host: '10.0.0.9', transport: 'udp', port: 4789 },
    { host: '10.0.0.7', transport: 'gre' },
  ] as const;
  t.equal(captureFilter('tcp port 80 or udp', ex), '(tcp port 80 or udp) and not (host 10.0.0.9 and udp port 4789) and not (src host 10.0.0.9 and icmp and icmp[17] == 17 and icmp[30:2] == 4789) and not (host 10.0.0.7 and proto gre) and not (src host 10.0.0.7 and icmp and icmp[17] == 47)');
  t.equal(captureFilter(undefined, ex), 'not (host 10.0.0.9 and udp port 4789) and not (src host 10.0.0.9 and icmp and icmp[17] == 17 and icmp[30:2] == 4789) and not (host 10.0.0.7 and proto gre) and not (src host 10.0.0.7 and icmp and icmp[17] == 47)', 'no user filter: the clauses alone');
  t.equal(captureFilter('  ', ex.slice(0, 1)), 'not (host 10.0.0.9 and udp port 4789) and not (src host 10.0.0.9 and icmp and icmp[17] == 17 and icmp[30:2] == 4789)', 'a blank filter is no filter');
  t.equal(captureFilter('tcp', []), 'tcp', 'no targets: the user filter unchanged');
  t.equal(captureFilter(undefined, []), undefined, 'neither: capture everything');
});

t.test('hosts and ports that could change the meaning of the filter are refused', async (t) => {
  for (const host of ['10.0.0.9 or 1', '10.0.0.9)', '', 'host', 'a;b', '1.2.3.4 and not 5', ':']) {
    t.notOk(isBpfHost(host), `"${host}" is not a host`);
    t.throws(() => exclusionClause({ host, transport: 'udp', port: 1 }), RangeError);
  }
  t.throws(() => exclusionClause({ host: '10.0.0.9', transport: 'udp' }), RangeError, 'udp needs a port');
  t.throws(() => exclusionClause({ host: '10.0.0.9', transport: 'tcp', port: 70000 }), RangeError);
  t.throws(() => exclusionClause({ host: '10.0.0.9', transport: 'gre', port: 1 }), RangeError, 'gre has no port');
});

t.test('export URLs of the CLI contract map to the endpoints the capture leaves out (each transport\'s ExporterKind.endpoint)', async (t) => {
  t.same(exportEndpointFromUrl('vxlan://10.0.0.9?vni=42'), { host: '10.0.0.9', transport: 'udp', port: 4789 });
  t.same(exportEndpointFromUrl('vxlan://10.0.0.9:8472?vni=1'), { host: '10.0.0.9', transport: 'udp', port: 8472 });
  t.same(exportEndpointFromUrl('gre://10.0.0.7?key=5'), { host: '10.0.0.7', transport: 'gre' });
  t.same(exportEndpointFromUrl('erspan://10.0.0.7?session=1&version=2'), { host: '10.0.0.7', transport: 'gre' });
  t.same(exportEndpointFromUrl('ws://collector:9000'), { host: 'collector', transport: 'tcp', port: 9000 });
  t.same(exportEndpointFromUrl('wss://collector'), { host: 'collector', transport: 'tcp', port: 443 });
  t.same(exportEndpointFromUrl('vxlan://[fd00::9]:4789?vni=1'), { host: 'fd00::9', transport: 'udp', port: 4789 });
  t.throws(() => exportEndpointFromUrl('http://x'), RangeError);
  t.throws(() => exportEndpointFromUrl('not a url'), RangeError);
});

t.test('libpcap compiles every combination (pcap_compile on lo)', async (t) => {
  const ex = [
    { host: '10.0.0.9', transport: 'udp', port: 4789 },
    { host: 'fd00::9', transport: 'tcp', port: 9000 },
    { host: '10.0.0.7', transport: 'gre' },
  ] as const;
  for (const user of [undefined, 'tcp port 80 or udp', 'vlan and ip', 'not icmp']) {
    const filter = captureFilter(user, ex)!;
    const cap = LiveCapture.open({ iface: 'lo', filter, snapLen: 128 });
    await cap.close();
    t.pass(`compiles: ${filter}`);
  }
  // A broken user filter stays broken: the parentheses do not hide the error.
  const err = t.throws(() => LiveCapture.open({ iface: 'lo', filter: captureFilter('udp port', ex)! })) as CaptureError;
  t.equal(err.code, NATIVE_ERR.CAPTURE_BAD_FILTER);
});
