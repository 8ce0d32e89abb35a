import t from 'tap';

import {
  DEFAULT_ENVELOPE_LIMITS,
  EnvelopeError,
  WS_ERR,
  decodeEnvelope,
  encodeEnvelope,
  pb,
  type BatchMsg,
  type HelloMsg,
  type TunnelMessage,
} from '../../proto/envelope.js';

function frameBytes(n: number, len: number): Buffer {
  const b = Buffer.alloc(len, n & 0xff);
  b.writeUInt16BE(0x0800, 12);
  if (len >= 18) b.writeUInt32BE(n, 14);
  return b;
}

const hello: HelloMsg = {
  type: 'hello',
  version: 1,
  agent: 'node-1',
  node: 'node-1',
  session: '0123456789abcdef',
  resumeSeq: 41,
  software: 'podspan 0.1.0',
  interfaces: [{ id: 3, name: 'veth1', podIp: '10.77.60.2', podName: 'web-0', podNamespace: 'default', linkType: 1, snapLen: 262144 }],
};

function batch(seq: number, frames: number, len = 60): BatchMsg {
  return {
    type: 'batch',
    seq,
    interfaces: [{ id: 1, name: 'veth1', podIp: '', podName: '', podNamespace: '', linkType: 1, snapLen: 262144 }],
    frames: Array.from({ length: frames }, (_, i) => ({ iface: 1, tsSec: 1764000000 + i, tsNsec: 999_999_999 - i, capLen: len, wireLen: len + i, data: frameBytes(i, len) })),
    counters: [{ stage: 'export', received: 10 * seq, delivered: 9 * seq, dropped: { export_spool_full: seq } }],
    streams: [],
  };
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof EnvelopeError) return e.code;
    return `not an EnvelopeError: ${String(e)}`;
  }
  return 'no error';
}

t.test('every message type round-trips: encode, decode, re-encode gives the same bytes', async (t) => {
  const msgs: TunnelMessage[] = [
    hello,
    { type: 'welcome', version: 1, committedSeq: 2 ** 40 },
    batch(7, 5),
    { type: 'ack', seq: 2 ** 53 - 1 },
    { type: 'error', code: WS_ERR.AUTH, message: 'no' },
  ];
  for (const m of msgs) {
    const bytes = encodeEnvelope(m);
    const back = decodeEnvelope(bytes);
    t.same(back, m, `${m.type} decodes to what was encoded`);
    t.ok(Buffer.from(encodeEnvelope(back)).equals(Buffer.from(bytes)), `${m.type} re-encodes to the same bytes`);
  }
});

t.test('decodes at offset 10 of a larger buffer pre-filled with 0xa5; frame data are views', async (t) => {
  const bytes = encodeEnvelope(batch(1, 3, 100));
  const big = Buffer.alloc(bytes.length + 20, 0xa5);
  Buffer.from(bytes).copy(big, 10);
  const view = big.subarray(10, 10 + bytes.length);
  const m = decodeEnvelope(view);
  t.equal(m.type, 'batch');
  if (m.type !== 'batch') return;
  t.equal(m.frames.length, 3);
  t.ok(m.frames[2]!.data.equals(frameBytes(2, 100)), 'frame bytes intact');
  t.ok(Buffer.isBuffer(m.frames[0]!.data), 'data is a Buffer');
  t.equal(m.frames[0]!.data.buffer, big.buffer, 'data is a view of the message, not a copy');
});

t.test('size limits: oversized messages and too many frames are refused with typed errors, before decoding', async (t) => {
  const limits = { ...DEFAULT_ENVELOPE_LIMITS, maxMessageBytes: 1000, maxFrames: 4, maxInterfaces: 2, maxFrameBytes: 200 };
  t.equal(codeOf(() => decodeEnvelope(encodeEnvelope(batch(1, 20, 100)), limits)), WS_ERR.TOO_LARGE, 'message over maxMessageBytes');
  t.equal(codeOf(() => decodeEnvelope(encodeEnvelope(batch(1, 5, 20)), limits)), WS_ERR.TOO_MANY, 'five frames over maxFrames 4');
  t.equal(codeOf(() => decodeEnvelope(encodeEnvelope(batch(1, 4, 20)), limits)), 'no error', 'four frames pass');
  t.equal(codeOf(() => decodeEnvelope(encodeEnvelope(batch(1, 1, 300)), { ...limits, maxMessageBytes: 10_000 })), WS_ERR.TOO_LARGE, 'a frame over maxFrameBytes');
  const manyIfaces = { ...hello, interfaces: [0, 1, 2].map((id) => ({ ...hello.interfaces[0]!, id })) };
  t.equal(codeOf(() => decodeEnvelope(encodeEnvelope(manyIfaces), limits)), WS_ERR.TOO_MANY, 'hello with 3 interfaces over 2');
  t.equal(codeOf(() => encodeEnvelope(batch(1, 5, 20), limits)), WS_ERR.TOO_MANY, 'the encoder refuses what a peer would refuse');
  // 1 MiB of empty frames: 2 bytes each, half a million Frame objects if decoded.
  const empties = Buffer.alloc(1 << 20);
  for (let i = 0; i < empties.length; i += 2) {
    empties[i] = (3 << 3) | 2; // Batch.frames, LEN
    empties[i + 1] = 0;
  }
  const env = Buffer.concat([Buffer.from([(3 << 3) | 2, 0x80, 0x80, 0x40]), empties]); // Envelope.batch, length 2^20
  t.equal(codeOf(() => decodeEnvelope(env)), WS_ERR.TOO_MANY, 'half a million empty frames are counted, not built');
});

t.test('malformed input gives MALFORMED, never another exception', async (t) => {
  const good = Buffer.from(encodeEnvelope(batch(3, 3)));
  const cases: Array<[string, Uint8Array]> = [
    ['empty message', new Uint8Array(0)],
    ['garbage', Buffer.from('GET / HTTP/1.1\r\n\r\n')],
    ['cut in the middle', good.subarray(0, good.length - 7)],
    ['varint never ends', Buffer.alloc(12, 0xff)],
    ['field number 0', Buffer.from([0x00, 0x01])],
    ['group wire type', Buffer.from([(3 << 3) | 3])],
    ['hello with a bad session', encodeEnvelope({ ...hello, session: 'xyz' } as HelloMsg)],
    ['batch seq 0', pb.Envelope.encode({ batch: { seq: 0 } }).finish()],
    ['cap_len disagrees with data', pb.Envelope.encode({ batch: { seq: 1, frames: [{ capLen: 5, wireLen: 5, data: new Uint8Array(4) }] } }).finish()],
    ['wire_len < cap_len', pb.Envelope.encode({ batch: { seq: 1, frames: [{ capLen: 4, wireLen: 3, data: new Uint8Array(4) }] } }).finish()],
    ['ts_nsec of a second or more', pb.Envelope.encode({ batch: { seq: 1, frames: [{ capLen: 1, wireLen: 1, tsNsec: 1_000_000_000, data: new Uint8Array(1) }] } }).finish()],
  ];
  for (const [name, bytes] of cases) t.equal(codeOf(() => decodeEnvelope(bytes)), WS_ERR.MALFORMED, name);
});

t.test('random corruption never throws anything but EnvelopeError and never hangs', async (t) => {
  const good = Buffer.from(encodeEnvelope(batch(9, 8, 64)));
  let seed = 12345;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  let other = 0;
  let rejected = 0;
  for (let k = 0; k < 3000; k++) {
    const b = Buffer.from(good);
    const flips = 1 + (rnd() % 6);
    for (let j = 0; j < flips; j++) b[rnd() % b.length] = rnd() & 0xff;
    const cut = rnd() % 4 === 0 ? b.subarray(0, rnd() % b.length) : b;
    try {
      decodeEnvelope(cut);
    } catch (e) {
      if (e instanceof EnvelopeError) rejected++;
      else other++;
    }
  }
  t.equal(other, 0, 'only EnvelopeErrors');
  t.ok(rejected > 0, `${rejected} corrupted messages rejected`);
});
