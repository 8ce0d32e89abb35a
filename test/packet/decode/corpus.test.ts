/**
 * Real captures from the shared corpus (tcpdump's and Suricata's test pcaps), decoded whole.
 * Expected: a histogram of "layer chain, status, tunnels" per file. Each chain was compared
 * with tshark 4.0's frame.protocols (ip.defragment off): they agree except where this
 * decoder differs on purpose: no "raw" pseudo-layer, SLL2 named sll2, VXLAN also on 8472,
 * WCCP redirect header shown as a layer, IPv4/IPv6 length 0 taken as TSO/BIG TCP, quoted IP
 * in ICMP errors not decoded, and bogus headers (IHL < 5, wrong version) not recorded.
 * Skipped when the corpus is not beside the repository (set PODSPAN_CORPUS to point at it).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { LAYER_NAMES } from '../../../packet/decode/layers.js';
import { Parser } from '../../../packet/decode/parser.js';
import { DECODE_STATUS_NAMES } from '../../../packet/decode/status.js';

const CORPUS = process.env['PODSPAN_CORPUS'] ?? fileURLToPath(new URL('../../../../../shared/corpus/', import.meta.url));

/** Minimal classic-pcap reader (either byte order, µs or ns): enough for these files. */
function* records(file: Buffer): Generator<{ linkType: number; data: Buffer; wireLen: number }> {
  const magic = file.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const u32 = (o: number): number => (le ? file.readUInt32LE(o) : file.readUInt32BE(o));
  const linkType = u32(20) & 0xffff;
  for (let o = 24; o + 16 <= file.length; ) {
    const capLen = u32(o + 8);
    if (o + 16 + capLen > file.length) return;
    yield { linkType, data: file.subarray(o + 16, o + 16 + capLen), wireLen: u32(o + 12) };
    o += 16 + capLen;
  }
}

const EXPECTED: Record<string, Record<string, number>> = {
  'the-tcpdump-group+tcpdump/tests/vxlan.pcap': {
    "eth:ipv4:udp:vxlan:eth:ipv4:icmp ok vxlan=100": 8,
    "eth:ipv4:udp:vxlan:eth:arp ok vxlan=100": 2,
  },
  'the-tcpdump-group+tcpdump/tests/geneve.pcap': {
    "eth:ipv4:udp:geneve:eth:ipv4:icmp ok geneve=10": 3,
    "eth:ipv4:udp:geneve:eth:ipv4:icmp ok geneve=11": 3,
    "eth:ipv4:udp:geneve:eth:ipv4:tcp ok geneve=11": 17,
    "eth:ipv4:udp:geneve:eth:ipv4:tcp ok geneve=10": 16,
  },
  'the-tcpdump-group+tcpdump/tests/erspan-type-i-4.pcap': {
    "eth:ipv4:gre:erspan:eth:ipv4:icmp ok gre,erspan": 80,
    "eth:ipv4:gre:erspan:eth:vlan:ipv4 unsupported gre,erspan": 8,
    "eth:ipv4 unsupported": 16,
    "eth:ipv4:gre:ipv4 unsupported gre": 8,
    "eth unsupported": 7,
  },
  'the-tcpdump-group+tcpdump/tests/erspan-type-ii-3.pcap': {
    "eth:ipv4:gre:erspan:eth:llc unsupported gre,erspan=101": 70,
    "eth:ipv4:gre:erspan:eth:vlan:llc unsupported gre,erspan=101": 28,
    "eth:ipv4:gre:erspan:eth:vlan:arp ok gre,erspan=101": 10,
  },
  'the-tcpdump-group+tcpdump/tests/erspan-type-iii-ft-0.pcap': {
    "eth:ipv4:gre:erspan:eth:vlan:ipv4:icmp ok gre,erspan=0": 9,
  },
  'the-tcpdump-group+tcpdump/tests/erspan-type-iii-ft-7.pcap': {
    "eth:ipv4:gre:erspan unsupported gre,erspan=101": 58,
  },
  'the-tcpdump-group+tcpdump/tests/erspan-type-iii-pb-1.pcap': {
    "ipv6:gre truncated gre": 1,
  },
  'the-tcpdump-group+tcpdump/tests/pptp.pcap': {
    "eth:ipv4:tcp ok": 22,
    "eth:ipv4:gre:ppp unsupported gre=0": 1,
  },
  'the-tcpdump-group+tcpdump/tests/802.1ad_QinQ.pcap': {
    "eth:vlan:vlan:arp ok": 2,
  },
  'the-tcpdump-group+tcpdump/tests/bigtcp-ipv4-vxlan-ipv4.pcap': {
    "eth:ipv4:udp:vxlan:eth:ipv4:tcp ok vxlan=5001": 1,
  },
  'the-tcpdump-group+tcpdump/tests/ipv6_jumbogram_1.pcap': {
    "eth:ipv6:icmpv6 ok": 1,
  },
  'the-tcpdump-group+tcpdump/tests/ipv6-too-long-jumbo.pcap': {
    "eth:ipv6 malformed": 1,
  },
  'the-tcpdump-group+tcpdump/tests/various_gre.pcap': {
    "eth unsupported": 5,
    "eth:vlan:llc unsupported": 21,
    "eth:llc unsupported": 44,
    "eth:vlan:ipv4:gre:cmd:ipv4:gre unsupported gre=40,gre=40": 8,
    "eth:vlan:ipv4:gre unsupported gre=40": 10,
    "eth:vlan:ipv4:gre:cmd:ipv4:icmp ok gre=40": 10,
    "eth:vlan:ipv4:gre:cmd:ipv4 unsupported gre=40": 2,
  },
  'the-tcpdump-group+tcpdump/tests/LINKTYPE_IPV4_invalid.pcap': {
    "ipv6:udp ok": 1,
  },
  'the-tcpdump-group+tcpdump/tests/tcp-handshake-nano.pcap': {
    "sll:ipv4:tcp ok": 3,
  },
  'OISF+suricata-verify/tests/decode-sll2-01/input.pcap': {
    "sll2:ipv4:tcp ok": 5,
  },
  'OISF+suricata-verify/tests/decode-teredo-01/input.pcap': {
    "eth:ipv4:udp ok": 41,
    "eth:ipv4:tcp ok": 33,
    "eth:ipv4:udp:teredo:ipv6:icmpv6 ok teredo": 3,
    "eth:ipv4:udp:teredo:ipv6 ok teredo": 1,
  },
  'OISF+suricata-verify/tests/vxlan-non-zero-reserved-fields/input.pcap': {
    "eth:ipv4:udp:vxlan:eth:ipv4:tcp ok vxlan=11": 10,
  },
  'OISF+suricata-verify/tests/defrag/bug-6887-defrag-ppp-ipv6-tcp/frag-ppp-ipv6-tcp.pcap': {
    "ppp:ipv6:tcp ok": 1,
    "ppp:ipv6 ok": 2,
  },
  'the-tcpdump-group+tcpdump/tests/ipv4_invalid_hdr_length.pcap': {
    "eth malformed": 1,
  },
  'the-tcpdump-group+tcpdump/tests/vxlan_port_8472.pcap': {
    "eth:ipv4:udp:vxlan:eth:ipv4:icmp ok vxlan=100": 8,
    "eth:ipv4:udp:vxlan:eth:arp ok vxlan=100": 2,
  },
  'the-tcpdump-group+tcpdump/tests/wccp_redirect_gre.pcap': {
    "eth:ipv4:gre:wccp:ipv4:tcp ok gre": 1,
  },
};

const parser = new Parser();
for (const [name, want] of Object.entries(EXPECTED)) {
  const path = CORPUS + name;
  t.test(`decodes ${name.replace(/^.*tests\//, '')} like tshark`, { skip: existsSync(path) ? false : `corpus not found at ${CORPUS}` }, async (t) => {
    const got: Record<string, number> = {};
    for (const r of records(readFileSync(path))) {
      parser.decode(r.data, r.linkType, r.wireLen);
      const chain = Array.from(parser.layers.subarray(0, parser.layerCount), (l) => LAYER_NAMES[l]).join(':');
      const tunnels = parser.tunnels.slice(0, parser.tunnelCount).map((s) => `${LAYER_NAMES[s.type]}${s.hasId ? '=' + s.id : ''}`);
      const key = `${chain} ${DECODE_STATUS_NAMES[parser.status]}${tunnels.length > 0 ? ' ' + tunnels.join(',') : ''}`;
      got[key] = (got[key] ?? 0) + 1;
    }
    t.same(got, want);
  });
}
