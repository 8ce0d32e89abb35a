/**
 * Address text and TCP flag letters, against what tshark 4.0 and tcpdump 4.99 print.
 * The IPv6 table was produced by writing each address into a LINKTYPE_IPV6 pcap and reading
 * it back with `tshark -T fields -e ipv6.src` and `tcpdump -nn`: both printed exactly the
 * `text` column (IPv4-mapped and IPv4-compatible tails included).
 */
import t from 'tap';
import { formatIPv4, formatIPv6, isIPv4, isIPv6, tcpFlagsString, writeIPv4, writeIPv6 } from '../../../packet/wire/ip-addr.js';
import { TCP_FLAG } from '../../../packet/wire/tcp.js';

// [input accepted by writeIPv6, text printed by tshark and tcpdump]
const V6: [string, string][] = [
  ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
  ['::1.2.3.4', '::1.2.3.4'],
  ['::1', '::1'],
  ['::', '::'],
  ['1::', '1::'],
  ['1:0:0:1:0:0:0:1', '1:0:0:1::1'],
  ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
  ['::2', '::2'],
  ['::1:2', '::0.1.0.2'],
  ['::ffff:0:1.2.3.4', '::ffff:0:102:304'],
  ['0:0:0:0:0:1:0:0', '::1:0:0'],
  ['fe80::1:0:0:0', 'fe80::1:0:0:0'],
  ['::ffff:0.0.0.0', '::ffff:0.0.0.0'],
  ['::0.1.0.0', '::0.1.0.0'],
  ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
  ['ABCD::0DB8', 'abcd::db8'],
  ['2001:0db8:0000:0000:0000:ff00:0042:8329', '2001:db8::ff00:42:8329'],
  ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
];

t.test('formatIPv6 prints RFC 5952 text exactly as tshark and tcpdump do', async (t) => {
  for (const [input, text] of V6) {
    const b = Buffer.alloc(26, 0xa5);
    t.equal(writeIPv6(input, b, 10), 26);
    t.equal(formatIPv6(b, 10), text, input);
    const again = Buffer.alloc(16);
    writeIPv6(text, again, 0);
    t.same(again, b.subarray(10), `${text} parses back to the same bytes`);
  }
});

t.test('formatIPv4 and writeIPv4 round-trip dotted quads', async (t) => {
  const b = Buffer.alloc(14, 0xa5);
  for (const s of ['0.0.0.0', '255.255.255.255', '10.0.0.1', '192.168.100.200']) {
    writeIPv4(s, b, 10);
    t.equal(formatIPv4(b, 10), s);
  }
  t.same(b.subarray(0, 10), Buffer.alloc(10, 0xa5));
});

t.test('rejects text that is not an address', async (t) => {
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', 'a.b.c.d', '1.2.3.-4']) {
    t.notOk(isIPv4(bad), bad);
    t.throws(() => writeIPv4(bad, Buffer.alloc(4), 0), TypeError);
  }
  for (const bad of ['', ':', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', 'g::', '::1.2.3', '1:2:3:4:5:6:7::8:9', '::ffff:1.2.3.4:1']) {
    t.notOk(isIPv6(bad), bad);
    t.throws(() => writeIPv6(bad, Buffer.alloc(16), 0), TypeError);
  }
  t.ok(isIPv6('::'));
  t.ok(isIPv4('1.2.3.4'));
});

t.test("tcpFlagsString uses tcpdump's letters and order", async (t) => {
  t.equal(tcpFlagsString(TCP_FLAG.SYN), 'S');
  t.equal(tcpFlagsString(TCP_FLAG.SYN | TCP_FLAG.ACK), 'S.');
  t.equal(tcpFlagsString(TCP_FLAG.FIN | TCP_FLAG.ACK), 'F.');
  t.equal(tcpFlagsString(TCP_FLAG.PSH | TCP_FLAG.ACK), 'P.');
  t.equal(tcpFlagsString(TCP_FLAG.FIN | TCP_FLAG.PSH | TCP_FLAG.ACK), 'FP.');
  t.equal(tcpFlagsString(TCP_FLAG.RST | TCP_FLAG.ACK), 'R.');
  t.equal(tcpFlagsString(TCP_FLAG.ACK), '.');
  t.equal(tcpFlagsString(TCP_FLAG.SYN | TCP_FLAG.ECE | TCP_FLAG.CWR), 'SEW');
  t.equal(tcpFlagsString(TCP_FLAG.ACK | TCP_FLAG.URG | TCP_FLAG.AE), '.Ue', "AE as tcpdump master's 'e'");
  t.equal(tcpFlagsString(0x1ff), 'FSRP.UEWe');
  t.equal(tcpFlagsString(0), 'none');
});
