import t from 'tap';
import { createSocket } from 'node:dgram';
import { endianness } from 'node:os';

import { KernelDropPoller, procNetAddress, UdpSocketDrops } from '../../collector/ingest/kernel-drops.js';

// The kernel's per-socket drop counter, as the collector's listeners read it.

t.test('addresses as /proc/net/udp{,6} print them (32-bit words in host byte order)', async (t) => {
  const le = endianness() === 'LE';
  t.equal(procNetAddress('127.0.0.1'), le ? '0100007F' : '7F000001');
  t.equal(procNetAddress('0.0.0.0'), '00000000');
  t.equal(procNetAddress('::1'), le ? '00000000000000000000000001000000' : '00000000000000000000000000000001');
  t.equal(procNetAddress('fd00::1:2'), le ? '000000FD000000000000000002000100' : 'FD000000000000000000000000010002');
  t.equal(procNetAddress('::'), '0'.repeat(32));
  t.equal(procNetAddress('not an address'), '');
});

t.test('finds a bound UDP socket (IPv4 and IPv6) and reads its drops; -1 for none', async (t) => {
  for (const [type, host] of [['udp4', '127.0.0.1'], ['udp6', '::1']] as const) {
    const s = createSocket(type);
    await new Promise<void>((r) => s.bind(0, host, () => r()));
    const d = new UdpSocketDrops(host, s.address().port);
    t.equal(d.read(), 0, `${host}: a fresh socket has dropped nothing`);
    t.equal(d.read(), 0, `${host}: found again by inode`);
    await new Promise<void>((r) => s.close(() => r()));
  }
  t.equal(new UdpSocketDrops('127.0.0.1', 1).read(), -1, 'no such socket');
});

t.test('the poller moves the counter\'s growth into received and kernel_socket_drops, once', async (t) => {
  let n = 5;
  const stage = { received: 10, dropped: { kernel_socket_drops: 0 } };
  const p = new KernelDropPoller(() => n, stage);
  p.poll();
  t.same(stage, { received: 10, dropped: { kernel_socket_drops: 0 } }, 'drops before the listener started are not ours');
  n = 12;
  p.poll();
  p.poll();
  t.same(stage, { received: 17, dropped: { kernel_socket_drops: 7 } });
  n = -1;
  p.stop();
  t.same(stage, { received: 17, dropped: { kernel_socket_drops: 7 } }, 'an unreadable counter changes nothing');
});
