import t from 'tap';
import { Buffer } from 'node:buffer';
import { Http1Framer, HTTP_FRAMER_STATUS, HTTP_KIND, type HttpKind, type HttpMessage, type Http1FramerOptions, headerValues } from '../../../packet/http/http1.js';
import { HttpConversation, type HttpExchange } from '../../../packet/http/exchange.js';

/** Deterministic PRNG (mulberry32) so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

type Chunking = 'whole' | 1 | 7 | 'random';

function split(data: Buffer, how: Chunking, seed = 1): Buffer[] {
  if (how === 'whole') return [data];
  const out: Buffer[] = [];
  const r = rng(seed);
  for (let i = 0; i < data.length; ) {
    const n = how === 'random' ? 1 + Math.floor(r() * 40) : how;
    out.push(data.subarray(i, i + n));
    i += n;
  }
  return out;
}

function frame(kind: HttpKind, bytes: string | Buffer, how: Chunking = 'whole', opts: Http1FramerOptions = {}, method?: string[]) {
  const msgs: HttpMessage[] = [];
  const f = new Http1Framer(kind, { onMessage: (m) => msgs.push(m) }, opts, (n) => (method?.[n] !== undefined ? { method: method[n]! } : undefined));
  const data = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
  for (const c of split(data, how)) f.push(c);
  return { f, msgs };
}

const CHUNKINGS: Chunking[] = ['whole', 1, 7, 'random'];

/** Summary of a message for table comparisons. */
function brief(m: HttpMessage) {
  return {
    first: m.kind === 'request' ? `${m.method} ${m.target} 1.${m.versionMinor}` : `${m.status} ${m.reason}`,
    headers: m.headers.map((h) => `${h.name}: ${h.value}`),
    body: m.body.toString('latin1'),
    trailers: m.trailers.map((h) => `${h.name}: ${h.value}`),
    span: [m.startOff, m.headEndOff, m.endOff],
  };
}

interface Row {
  name: string;
  kind: HttpKind;
  bytes: string;
  methods?: string[];
  end?: boolean;
  want: ReturnType<typeof brief>[];
  status: string;
}

// Byte sequences as curl 8 / Node 20's http module / nginx put them on the wire.
const TABLE: Row[] = [
  {
    name: 'a GET with repeated headers keeps both, in order and with their case',
    kind: HTTP_KIND.REQUEST,
    bytes: 'GET /a?x=1 HTTP/1.1\r\nHost: h\r\nAccept: a\r\nX-Dup: 1\r\nx-dup: 2\r\n\r\n',
    want: [{ first: 'GET /a?x=1 1.1', headers: ['Host: h', 'Accept: a', 'X-Dup: 1', 'x-dup: 2'], body: '', trailers: [], span: [0, 63, 63] }],
    status: 'ok',
  },
  {
    name: 'a POST with Content-Length then a pipelined GET',
    kind: HTTP_KIND.REQUEST,
    bytes: 'POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET /g HTTP/1.1\r\nHost: h\r\n\r\n',
    want: [
      { first: 'POST /p 1.1', headers: ['Host: h', 'Content-Length: 5'], body: 'hello', trailers: [], span: [0, 48, 53] },
      { first: 'GET /g 1.1', headers: ['Host: h'], body: '', trailers: [], span: [53, 81, 81] },
    ],
    status: 'ok',
  },
  {
    name: 'a chunked request with extensions and trailers',
    kind: HTTP_KIND.REQUEST,
    bytes: 'PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 9\r\n\r\n',
    want: [{ first: 'PUT /c 1.1', headers: ['Transfer-Encoding: chunked'], body: 'hello world', trailers: ['X-Sum: 9'], span: [0, 47, 89] }],
    status: 'ok',
  },
  {
    name: 'a chunked response without trailers, then a Content-Length response (keep-alive)',
    kind: HTTP_KIND.RESPONSE,
    bytes: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n0\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno',
    want: [
      { first: '200 OK', headers: ['Transfer-Encoding: chunked'], body: '0123456789', trailers: [], span: [0, 47, 67] },
      { first: '404 Not Found', headers: ['Content-Length: 2'], body: 'no', trailers: [], span: [67, 112, 114] },
    ],
    status: 'ok',
  },
  {
    name: 'a 100 Continue before the final response is its own (interim) message',
    kind: HTTP_KIND.RESPONSE,
    bytes: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n',
    want: [
      { first: '100 Continue', headers: [], body: '', trailers: [], span: [0, 25, 25] },
      { first: '201 Created', headers: ['Content-Length: 0'], body: '', trailers: [], span: [25, 68, 68] },
    ],
    status: 'ok',
  },
  {
    name: 'responses to HEAD, 204 and 304 have no body despite Content-Length',
    kind: HTTP_KIND.RESPONSE,
    methods: ['HEAD', 'GET', 'GET'],
    bytes:
      'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n' +
      'HTTP/1.1 204 No Content\r\n\r\n' +
      'HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n',
    want: [
      { first: '200 OK', headers: ['Content-Length: 100'], body: '', trailers: [], span: [0, 40, 40] },
      { first: '204 No Content', headers: [], body: '', trailers: [], span: [40, 67, 67] },
      { first: '304 Not Modified', headers: ['Content-Length: 50'], body: '', trailers: [], span: [67, 116, 116] },
    ],
    status: 'ok',
  },
  {
    name: 'a response without length runs until the connection closes',
    kind: HTTP_KIND.RESPONSE,
    end: true,
    bytes: 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nall of this until close',
    want: [{ first: '200 OK', headers: ['Content-Type: text/plain'], body: 'all of this until close', trailers: [], span: [0, 45, 68] }],
    status: 'ok',
  },
  {
    name: 'an Upgrade request stops framing: what follows is another protocol',
    kind: HTTP_KIND.REQUEST,
    bytes: 'GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x85garbage',
    want: [{ first: 'GET /ws 1.1', headers: ['Connection: Upgrade', 'Upgrade: websocket'], body: '', trailers: [], span: [0, 61, 61] }],
    status: 'switched',
  },
  {
    name: 'a 2xx answer to CONNECT switches protocols',
    kind: HTTP_KIND.RESPONSE,
    methods: ['CONNECT'],
    bytes: 'HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01tls',
    want: [{ first: '200 Connection established', headers: [], body: '', trailers: [], span: [0, 39, 39] }],
    status: 'switched',
  },
  {
    name: 'a 101 Switching Protocols ends framing',
    kind: HTTP_KIND.RESPONSE,
    bytes: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n\x00\x00\x12\x04',
    want: [{ first: '101 Switching Protocols', headers: ['Upgrade: h2c'], body: '', trailers: [], span: [0, 50, 50] }],
    status: 'switched',
  },
  {
    name: 'bare LF line ends and leading empty lines are accepted (RFC 9112 §2.2)',
    kind: HTTP_KIND.REQUEST,
    bytes: '\r\n\r\nGET / HTTP/1.0\nHost: h\n\n',
    want: [{ first: 'GET / 1.0', headers: ['Host: h'], body: '', trailers: [], span: [4, 28, 28] }],
    status: 'ok',
  },
  {
    name: 'Transfer-Encoding wins over Content-Length',
    kind: HTTP_KIND.REQUEST,
    bytes: 'POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nA\r\n0\r\n\r\n',
    want: [{ first: 'POST / 1.1', headers: ['Content-Length: 3', 'Transfer-Encoding: chunked'], body: 'A', trailers: [], span: [0, 66, 77] }],
    status: 'ok',
  },
  {
    name: 'conflicting Content-Length values are malformed',
    kind: HTTP_KIND.REQUEST,
    bytes: 'POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
    want: [],
    status: 'malformed',
  },
  {
    name: 'whitespace before the colon is malformed (RFC 9112 §5.1)',
    kind: HTTP_KIND.REQUEST,
    bytes: 'GET / HTTP/1.1\r\nHost : h\r\n\r\n',
    want: [],
    status: 'malformed',
  },
  {
    name: 'a bad chunk size is malformed, the message before it is kept',
    kind: HTTP_KIND.RESPONSE,
    bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    want: [{ first: '200 OK', headers: ['Content-Length: 1'], body: 'x', trailers: [], span: [0, 38, 39] }],
    status: 'malformed',
  },
  {
    name: 'a message cut by the end of the stream is truncated',
    kind: HTTP_KIND.REQUEST,
    end: true,
    bytes: 'GET /1 HTTP/1.1\r\n\r\nPOST /2 HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc',
    want: [{ first: 'GET /1 1.1', headers: [], body: '', trailers: [], span: [0, 19, 19] }],
    status: 'truncated',
  },
  {
    name: 'another protocol is malformed as soon as its first line is complete',
    kind: HTTP_KIND.REQUEST,
    bytes: 'SSH-2.0-OpenSSH_9.2\r\n' + 'x'.repeat(70000),
    want: [],
    status: 'malformed',
  },
  {
    name: 'HTTP/2 preface is not HTTP/1',
    kind: HTTP_KIND.REQUEST,
    bytes: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
    want: [],
    status: 'malformed',
  },
];

for (const row of TABLE) {
  t.test(row.name, async (t) => {
    for (const how of CHUNKINGS) {
      const { f, msgs } = frame(row.kind, row.bytes, how, {}, row.methods);
      if (row.end === true) f.end();
      t.same(msgs.map(brief), row.want, `messages (${how} chunks)`);
      t.equal(f.status, row.status, `status (${how} chunks)`);
    }
  });
}

t.test('header limits stop framing and are counted', async (t) => {
  const big = `GET / HTTP/1.1\r\nX: ${'a'.repeat(200)}\r\n\r\n`;
  for (const how of CHUNKINGS) {
    const a = frame(HTTP_KIND.REQUEST, big, how, { maxHeaderBytes: 100 });
    t.equal(a.f.status, HTTP_FRAMER_STATUS.HEADER_TOO_LARGE);
    t.equal(a.f.counters.headerTooLarge, 1);
    t.equal(a.msgs.length, 0);
  }
  const many = `GET / HTTP/1.1\r\n${Array.from({ length: 10 }, (_, i) => `H${i}: v\r\n`).join('')}\r\n`;
  const b = frame(HTTP_KIND.REQUEST, many, 'whole', { maxHeaders: 5 });
  t.equal(b.f.status, HTTP_FRAMER_STATUS.TOO_MANY_HEADERS);
  t.equal(b.f.counters.tooManyHeaders, 1);
  const ok = frame(HTTP_KIND.REQUEST, many, 'whole', { maxHeaders: 10 });
  t.equal(ok.msgs.length, 1);
  t.equal(ok.f.status, 'ok');
});

t.test('bodies above maxBodyBytes are framed whole, kept in part, and counted', async (t) => {
  const { f, msgs } = frame(HTTP_KIND.REQUEST, `POST / HTTP/1.1\r\nContent-Length: 20\r\n\r\n${'b'.repeat(20)}GET / HTTP/1.1\r\n\r\n`, 7, { maxBodyBytes: 8 });
  t.equal(msgs.length, 2);
  t.equal(msgs[0]!.body.toString(), 'bbbbbbbb');
  t.equal(msgs[0]!.bodyBytes, 20);
  t.ok(msgs[0]!.bodyTruncated);
  t.equal(f.counters.bodyBytesNotKept, 12);
});

t.test('headerValues is case-insensitive and keeps order', async (t) => {
  const { msgs } = frame(HTTP_KIND.REQUEST, 'GET / HTTP/1.1\r\nSet-Thing: 1\r\nset-thing: 2\r\nSET-THING: 3\r\n\r\n');
  t.same(headerValues(msgs[0]!.headers, 'Set-Thing'), ['1', '2', '3']);
});

t.test('a conversation pairs pipelined requests with responses, 100-continue and HEAD included', async (t) => {
  const c2s =
    'GET /a HTTP/1.1\r\nHost: h\r\n\r\n' +
    'HEAD /b HTTP/1.1\r\nHost: h\r\n\r\n' +
    'POST /c HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nbody' +
    'GET /d HTTP/1.1\r\nHost: h\r\n\r\n';
  const s2c =
    'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA' +
    'HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n' +
    'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nC\r\n0\r\n\r\n';
  for (const how of CHUNKINGS) {
    const out: HttpExchange[] = [];
    const conv = new HttpConversation({ onExchange: (e) => out.push(e) });
    // Interleaved as on the wire: requests first, responses after.
    for (const c of split(Buffer.from(c2s), how, 3)) conv.pushRequestBytes(c);
    for (const c of split(Buffer.from(s2c), how, 5)) conv.pushResponseBytes(c);
    conv.flush();
    t.same(
      out.map((e) => [e.index, e.request.method, e.request.target, e.interim.map((m) => m.status), e.response?.status ?? null, e.response?.body.toString() ?? null]),
      [
        [0, 'GET', '/a', [], 200, 'A'],
        [1, 'HEAD', '/b', [], 200, ''],
        [2, 'POST', '/c', [100], 201, 'C'],
        [3, 'GET', '/d', [], null, null],
      ],
      `${how} chunks`,
    );
    t.equal(conv.counters.unanswered, 1);
  }
});

t.test('never throws on random or mutated input, and offsets stay within what was pushed', async (t) => {
  const seeds = [
    'GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nT: 1\r\n\r\n',
    'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n',
  ];
  const r = rng(42);
  const deadline = Date.now() + 3000;
  let runs = 0;
  while (Date.now() < deadline && runs < 20000) {
    runs++;
    let data: Buffer;
    if (r() < 0.3) {
      data = Buffer.alloc(Math.floor(r() * 300));
      for (let i = 0; i < data.length; i++) data[i] = Math.floor(r() * 256);
    } else {
      data = Buffer.from(seeds[Math.floor(r() * seeds.length)]!.repeat(1 + Math.floor(r() * 3)), 'latin1');
      const flips = 1 + Math.floor(r() * 6);
      for (let k = 0; k < flips; k++) data[Math.floor(r() * data.length)] = [0x0d, 0x0a, 0x3a, 0x20, 0x30, 0x66, Math.floor(r() * 256)][Math.floor(r() * 7)]!;
    }
    for (const kind of [HTTP_KIND.REQUEST, HTTP_KIND.RESPONSE]) {
      const msgs: HttpMessage[] = [];
      const f = new Http1Framer(kind, { onMessage: (m) => msgs.push(m) }, { maxHeaderBytes: 128, maxHeaders: 8, maxBodyBytes: 64 }, () => (r() < 0.5 ? { method: 'HEAD' } : undefined));
      try {
        for (const c of split(data, 'random', runs)) f.push(c);
        f.end();
      } catch (e) {
        t.fail(`threw on ${data.toString('hex')}: ${(e as Error).stack}`);
        return;
      }
      for (const m of msgs) {
        if (!(m.startOff >= 0 && m.startOff <= m.headEndOff && m.headEndOff <= m.endOff && m.endOff <= data.length)) {
          t.fail(`offsets out of bounds on ${data.toString('hex')}: ${JSON.stringify([m.startOff, m.headEndOff, m.endOff])}`);
          return;
        }
      }
    }
  }
  t.ok(runs > 100, `${runs} inputs`);
});
