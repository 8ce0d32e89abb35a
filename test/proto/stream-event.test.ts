import t from 'tap';

import { DEFAULT_ENVELOPE_LIMITS, STREAM_KIND, WS_ERR, decodeEnvelope, encodeEnvelope, isEnvelopeError, pb, type BatchMsg } from '../../proto/envelope.js';

// StreamEvent (agent `--mode streams`) through the envelope codec: encoded, decoded, and
// checked against the same limits as frames.

const ip4 = (a: number, b: number, c: number, d: number): Buffer => Buffer.from([a, b, c, d]);

function events(): NonNullable<Parameters<typeof encodeEnvelope>[0] & { type: 'batch' }>['streams'] {
  const base = { tsSec: 1764000000, tsNsec: 999_999_999, clientIp: Buffer.alloc(0), clientPort: 0, serverIp: Buffer.alloc(0), serverPort: 0, midStream: false, reason: '', offset: 0, length: 0, dir: 0, data: Buffer.alloc(0) };
  return [
    { ...base, conn: 7, kind: STREAM_KIND.OPEN, clientIp: ip4(10, 77, 80, 1), clientPort: 40000, serverIp: ip4(10, 77, 80, 2), serverPort: 8080, midStream: true },
    { ...base, conn: 7, kind: STREAM_KIND.DATA, dir: 0, offset: 0, data: Buffer.from('GET / HTTP/1.1\r\n\r\n') },
    { ...base, conn: 7, kind: STREAM_KIND.DATA, dir: 1, offset: 2 ** 40, data: Buffer.from('HTTP/1.1 200 OK\r\n\r\n') },
    { ...base, conn: 7, kind: STREAM_KIND.GAP, dir: 0, offset: 18, length: 1460 },
    { ...base, conn: 2 ** 40 + 3, kind: STREAM_KIND.CLOSE, reason: 'agent_drop' },
  ];
}

t.test('a batch of stream events round-trips (fields, 64-bit offsets, data bytes)', async (t) => {
  const evs = events()!;
  const bytes = encodeEnvelope({ type: 'batch', seq: 3, interfaces: [], frames: [], counters: [], streams: evs });
  const m = decodeEnvelope(bytes) as BatchMsg;
  t.equal(m.type, 'batch');
  t.equal(m.frames.length, 0);
  t.equal(m.streams.length, evs.length);
  for (let i = 0; i < evs.length; i++) {
    const a = evs[i]!;
    const b = m.streams[i]!;
    t.same(
      { conn: b.conn, kind: b.kind, dir: b.dir, offset: b.offset, length: b.length, tsSec: b.tsSec, tsNsec: b.tsNsec, clientPort: b.clientPort, serverPort: b.serverPort, midStream: b.midStream, reason: b.reason },
      { conn: a.conn, kind: a.kind, dir: a.dir, offset: a.offset, length: a.length, tsSec: a.tsSec, tsNsec: a.tsNsec, clientPort: a.clientPort, serverPort: a.serverPort, midStream: a.midStream, reason: a.reason },
      `event ${i}: fields`,
    );
    t.ok(b.data.equals(Buffer.from(a.data)), `event ${i}: data bytes`);
    t.ok(b.clientIp.equals(Buffer.from(a.clientIp)) && b.serverIp.equals(Buffer.from(a.serverIp)), `event ${i}: addresses`);
  }
  // A batch without streams decodes with an empty list (older agents).
  const old = decodeEnvelope(encodeEnvelope({ type: 'batch', seq: 1, interfaces: [], frames: [], counters: [] })) as BatchMsg;
  t.same(old.streams, []);
});

t.test('bad stream events are refused with a code', async (t) => {
  const code = (f: () => unknown): string | undefined => {
    try {
      f();
    } catch (e) {
      return isEnvelopeError(e) ? e.code : `not an EnvelopeError: ${String(e)}`;
    }
    return undefined;
  };
  const raw = (ev: Record<string, unknown>): Uint8Array => pb.Envelope.encode({ batch: { seq: 1, streams: [ev] } }).finish();
  t.equal(code(() => decodeEnvelope(raw({ conn: 1, kind: 9 }))), WS_ERR.MALFORMED, 'unknown kind');
  t.equal(code(() => decodeEnvelope(raw({ conn: 1, kind: 1, dir: 2 }))), WS_ERR.MALFORMED, 'unknown dir');
  t.equal(code(() => decodeEnvelope(raw({ conn: 1, kind: 1, tsNsec: 1_000_000_000 }))), WS_ERR.MALFORMED, 'ts_nsec >= 1e9');
  t.equal(code(() => decodeEnvelope(raw({ conn: 1, kind: 0, clientIp: Buffer.alloc(5), serverIp: Buffer.alloc(4) }))), WS_ERR.MALFORMED, 'open with a 5-byte address');
  t.equal(code(() => decodeEnvelope(raw({ conn: 1, kind: 2, data: Buffer.from('x') }))), WS_ERR.MALFORMED, 'data in a gap event');
  const limits = { ...DEFAULT_ENVELOPE_LIMITS, maxStreamEvents: 3, maxStreamEventBytes: 10 };
  t.equal(code(() => decodeEnvelope(raw({ conn: 1, kind: 1, data: Buffer.alloc(11) }), limits)), WS_ERR.TOO_LARGE, 'event data over the limit');
  const four = pb.Envelope.encode({ batch: { seq: 1, streams: [{ kind: 3 }, { kind: 3 }, { kind: 3 }, { kind: 3 }] } }).finish();
  t.equal(code(() => decodeEnvelope(four, limits)), WS_ERR.TOO_MANY, 'more events than the limit (pre-scan, before decoding)');
  t.equal(code(() => encodeEnvelope({ type: 'batch', seq: 1, interfaces: [], frames: [], counters: [], streams: events()!.concat(events()!) }, limits)), WS_ERR.TOO_MANY, 'the encoder refuses the same');
});
