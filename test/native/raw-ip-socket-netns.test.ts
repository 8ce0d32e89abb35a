import t from 'tap';
import { IP_PROTO, RAW_IP_META, RAW_IP_META_COLS, RawIpSocket, ipv4ToUint32 } from '../../native/index.js';
import { makeVethPair } from './netns-fixture.js';

// Real namespaces: GRE packets (IP protocol 47) sent by a raw socket in one namespace,
// received by a raw socket in the other, header built by the kernel, payload gathered.

t.test('real netns veth: raw GRE socket sends gathered buffers and receives IP packets with header', async (t) => {
  const pair = await makeVethPair(t, 'psl-tn-raw', 75);
  const rx = RawIpSocket.open(IP_PROTO.GRE, { netns: pair.nsB });
  t.teardown(() => rx.close());
  const tx = RawIpSocket.open(IP_PROTO.GRE, { netns: pair.nsA });
  t.teardown(() => tx.close());

  const got: { len: number; src: number; proto: number; payload: Buffer; tsSec: number }[] = [];
  rx.onMessages((b) => {
    for (let i = 0; i < b.count; i++) {
      const r = i * RAW_IP_META_COLS;
      const off = b.meta[r + RAW_IP_META.OFFSET]!;
      const len = b.meta[r + RAW_IP_META.LEN]!;
      const pkt = b.data.subarray(off, off + len);
      const ihl = (pkt.readUInt8(0) & 0x0f) * 4;
      got.push({ len, src: b.meta[r + RAW_IP_META.SRC_ADDR]!, proto: pkt.readUInt8(9), payload: Buffer.from(pkt.subarray(ihl)), tsSec: b.meta[r + RAW_IP_META.TS_SEC]! });
    }
  });

  const COUNT = 20;
  // GRE header, RFC 2784: no flags, version 0, protocol type 0x6558 (transparent Ethernet bridging).
  const gre = Buffer.from([0x00, 0x00, 0x65, 0x58]);
  for (let i = 0; i < COUNT; i++) {
    const frame = Buffer.alloc(60 + i, i);
    t.equal(tx.send([gre, frame], i % 2 === 0 ? pair.ipB : ipv4ToUint32(pair.ipB)), true);
  }
  const deadline = Date.now() + 5_000;
  while (got.length < COUNT && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.equal(got.length, COUNT, 'every packet received');
  t.ok(got.every((g) => g.proto === 47), 'IP header included, protocol 47');
  t.ok(got.every((g) => g.src === ipv4ToUint32(pair.ipA)), 'source address as uint32');
  t.ok(got.every((g) => g.tsSec > 1_600_000_000), 'kernel receive timestamp present');
  t.ok(got.every((g, i) => g.payload.equals(Buffer.concat([gre, Buffer.alloc(60 + i, i)]))), 'payload is the gathered buffers in order');
  t.throws(() => tx.send([gre], 'not-an-ip'), { code: 'PODSPAN_ERR_NATIVE_ARG' });
  rx.close();
  rx.close();
  t.throws(() => rx.send([gre], pair.ipA), { code: 'PODSPAN_ERR_NATIVE_STATE' });
});
