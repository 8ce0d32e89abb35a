/**
 * The kernel's own drops for an ingest socket: datagrams or packets that arrived while the
 * socket's receive buffer was full (the collector stalled, a burst) and never reached
 * userspace. They belong in the ingest stage's balance (ARCHITECTURE.md, no silent loss),
 * as drop reason `kernel_socket_drops`: each one is counted both as received and as dropped,
 * so that `received == delivered + Σ dropped` counts what the kernel got, not only what it
 * handed over.
 *
 * Sources: for a UDP socket (node:dgram gives no descriptor without its deprecated
 * `_handle`), the `drops` column of /proc/net/udp or /proc/net/udp6 (the collector's own
 * namespace), on the row of the socket's bound address and port (bound exclusively, so
 * there is one such row), then by its inode; for the raw GRE socket, the native
 * RawIpSocket.drops (SO_MEMINFO, whatever namespace the socket is in).
 *
 * Polled, not per packet: a timer (unref'd) and once more before the socket closes.
 */
import { readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { endianness } from 'node:os';

/** How often the listeners read the kernel's counter. */
export const KERNEL_DROPS_POLL_MS = 1000;

/** The reason every ingest stage has for them. */
export const KERNEL_SOCKET_DROPS = 'kernel_socket_drops';

/** /proc/net/udp* column indices (net/ipv4/udp.c udp4_format_sock, net/ipv6/datagram.c). */
const COL = { LOCAL: 1, INODE: 9, DROPS: 12 } as const;

/** An address as /proc/net/udp{,6} prints it: each 32-bit word in host byte order, %08X. */
export function procNetAddress(address: string): string {
  let bytes: number[];
  if (isIPv4(address)) bytes = address.split('.').map(Number);
  else if (isIPv6(address)) {
    const parts = address.split('::');
    const head = parts[0] === '' ? [] : parts[0]!.split(':');
    const tail = parts.length > 1 && parts[1] !== '' ? parts[1]!.split(':') : [];
    const groups = parts.length > 1 ? [...head, ...new Array<string>(8 - head.length - tail.length).fill('0'), ...tail] : head;
    bytes = groups.flatMap((g) => [(parseInt(g, 16) >>> 8) & 0xff, parseInt(g, 16) & 0xff]);
  } else return '';
  let out = '';
  for (let w = 0; w < bytes.length; w += 4) {
    const word = bytes.slice(w, w + 4);
    if (endianness() === 'LE') word.reverse();
    out += word.map((b) => b.toString(16).padStart(2, '0')).join('');
  }
  return out.toUpperCase();
}

/**
 * The drops counter of the UDP socket bound to address:port in this process's namespace,
 * read from /proc/net/udp (IPv4) or /proc/net/udp6. Remembers the socket's inode after the
 * first read. Returns -1 when the row is not found (the counter is then left alone).
 */
export class UdpSocketDrops {
  private readonly table: string;
  private readonly local: string;
  private inode: string;

  constructor(address: string, port: number) {
    this.table = isIPv6(address) ? '/proc/net/udp6' : '/proc/net/udp';
    this.local = `${procNetAddress(address)}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
    this.inode = '';
  }

  read(): number {
    let text: string;
    try {
      text = readFileSync(this.table, 'latin1');
    } catch {
      return -1;
    }
    for (const line of text.split('\n')) {
      const c = line.trim().split(/\s+/);
      if (c.length <= COL.DROPS) continue;
      if (this.inode !== '' ? c[COL.INODE] === this.inode : c[COL.LOCAL] === this.local && c[COL.INODE] !== '0') {
        this.inode = c[COL.INODE]!;
        const n = Number(c[COL.DROPS]);
        return Number.isSafeInteger(n) ? n : -1;
      }
    }
    return -1;
  }
}

/**
 * Moves the growth of a kernel drop counter into a stage: received and
 * dropped.kernel_socket_drops both grow by the new drops, so the stage stays balanced.
 */
/** The part of a Stage the poller touches (every ingest stage has the reason). */
export interface KernelDropStage {
  received: number;
  readonly dropped: Record<typeof KERNEL_SOCKET_DROPS, number>;
}

export class KernelDropPoller {
  private readonly read: () => number;
  private readonly stage: KernelDropStage;
  private last: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(read: () => number, stage: KernelDropStage) {
    this.read = read;
    this.stage = stage;
    const first = read();
    this.last = first < 0 ? 0 : first;
    this.timer = undefined;
  }

  /** Reads the counter now and accounts for its growth. */
  poll(): void {
    const n = this.read();
    if (n < 0 || n <= this.last) return;
    const d = n - this.last;
    this.last = n;
    this.stage.received += d;
    this.stage.dropped[KERNEL_SOCKET_DROPS] += d;
  }

  /** Polls every `ms` (the timer does not keep the process alive). */
  start(ms: number = KERNEL_DROPS_POLL_MS): this {
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.poll(), ms);
      this.timer.unref();
    }
    return this;
  }

  /** A last poll, then no more. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.poll();
  }
}
