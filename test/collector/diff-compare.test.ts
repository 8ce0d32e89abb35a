import t from 'tap';
import { gzipSync } from 'node:zlib';
import { Buffer } from 'node:buffer';
import { Http1Framer, HTTP_KIND, type HttpMessage } from '../../packet/http/http1.js';
import { compareResponses, DEFAULT_IGNORED_HEADERS } from '../../collector/diff/compare.js';
import { diffJson, formatJsonPath, JsonIgnore, parseJsonPath } from '../../collector/diff/json-path.js';
import { endpointOf } from '../../collector/diff/sink.js';

function response(head: string, body: Buffer | string = ''): HttpMessage {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  const msgs: HttpMessage[] = [];
  const f = new Http1Framer(HTTP_KIND.RESPONSE, { onMessage: (m) => msgs.push(m) });
  f.push(Buffer.concat([Buffer.from(`${head.replace(/\n/g, '\r\n')}\r\nContent-Length: ${b.length}\r\n\r\n`), b]));
  if (msgs.length !== 1) throw new Error(`not one response: ${head}`);
  return msgs[0]!;
}

const opts = (paths: string[] = [], extra: string[] = []) => ({ ignoreHeaders: new Set([...DEFAULT_IGNORED_HEADERS, ...extra]), ignorePaths: JsonIgnore.parse(paths) });

t.test('JSON bodies compare structurally: key order and whitespace do not matter, values and array order do', async (t) => {
  const a = response('HTTP/1.1 200 OK\nContent-Type: application/json', '{"a":1,"b":{"c":[1,2,3]},"d":"x"}');
  const b = response('HTTP/1.1 200 OK\nContent-Type: application/json', '{ "d": "x", "b": {"c": [1, 2, 3]}, "a": 1.0 }');
  t.same(compareResponses(a, b, opts()), [], 'same value');
  const c = response('HTTP/1.1 200 OK\nContent-Type: application/json', '{"a":2,"b":{"c":[1,3,2]},"e":null}');
  t.same(compareResponses(a, c, opts()), [
    { kind: 'header', where: 'content-length', production: '33', shadow: '34' },
    { kind: 'body', where: '$.a', production: '1', shadow: '2' },
    { kind: 'body', where: '$.b.c[1]', production: '2', shadow: '3' },
    { kind: 'body', where: '$.b.c[2]', production: '3', shadow: '2' },
    { kind: 'body', where: '$.d', production: '"x"', shadow: null },
    { kind: 'body', where: '$.e', production: null, shadow: 'null' },
  ]);
  t.same(
    compareResponses(a, c, opts(['$.a', '$.b.c[*]', '$.d', '$.e'])).map((d) => d.where),
    [],
    'ignored paths hide their subtree; bodies equal after that, so Content-Length is not compared',
  );
});

t.test('status, headers: defaults ignored (Date, Server, Set-Cookie, …), others compared case-insensitively', async (t) => {
  const a = response('HTTP/1.1 200 OK\nDate: Mon, 01 Jan 2026 00:00:00 GMT\nServer: v1\nSet-Cookie: a=1\nX-Feature: on\nCache-Control: no-store', 'same');
  const b = response('HTTP/1.1 503 Service Unavailable\ndate: Tue, 02 Jan 2026 00:00:00 GMT\nserver: v2\nset-cookie: a=2\nx-feature: off\ncache-control: no-store', 'same');
  t.same(compareResponses(a, b, opts()), [
    { kind: 'status', production: '200', shadow: '503' },
    { kind: 'header', where: 'x-feature', production: 'on', shadow: 'off' },
  ]);
  t.same(compareResponses(a, b, opts([], ['x-feature'])).map((d) => d.kind), ['status']);
});

t.test('credential headers are compared but never written: values redacted', async (t) => {
  const ign = new Set(DEFAULT_IGNORED_HEADERS.filter((h) => h !== 'set-cookie'));
  const a = response('HTTP/1.1 200 OK\nSet-Cookie: session=topsecret1', 'x');
  const b = response('HTTP/1.1 200 OK\nSet-Cookie: session=topsecret2', 'x');
  const d = compareResponses(a, b, { ignoreHeaders: ign, ignorePaths: JsonIgnore.parse([]) });
  t.equal(d.length, 1);
  t.notMatch(JSON.stringify(d), /topsecret/);
  t.match(d[0]!.production, /^\[redacted\]/);
});

t.test('other bodies compare as bytes, after content decoding', async (t) => {
  const a = response('HTTP/1.1 200 OK\nContent-Type: text/plain\nContent-Encoding: gzip', gzipSync('hello world', { level: 1 }));
  const b = response('HTTP/1.1 200 OK\nContent-Type: text/plain\nContent-Encoding: gzip', gzipSync('hello world', { level: 9 }));
  t.same(compareResponses(a, b, opts()).filter((d) => d.kind === 'body'), [], 'same content, different compression');
  const c = response('HTTP/1.1 200 OK\nContent-Type: text/plain', 'hello there');
  const d = compareResponses(response('HTTP/1.1 200 OK\nContent-Type: text/plain', 'hello world'), c, opts());
  t.same(d, [{ kind: 'body', production: 'hello world', shadow: 'hello there', detail: '11 vs 11 bytes' }]);
  const bad = response('HTTP/1.1 200 OK\nContent-Type: application/json', '{not json');
  t.equal(compareResponses(bad, bad, opts()).length, 0, 'unparseable JSON falls back to bytes');
});

t.test('JSON paths parse, format and match with wildcards', async (t) => {
  t.same(formatJsonPath(['a', 0, 'b c', "it's"]), "$.a[0]['b c']['it\\'s']");
  t.ok(parseJsonPath("$.a[0]['b c'].*[*]"));
  t.equal(parseJsonPath('a.b'), null);
  t.equal(parseJsonPath('$.'), null);
  t.throws(() => JsonIgnore.parse(['nope']), RangeError);
  const ig = JsonIgnore.parse(['$.items[*].ts', "$['meta']"]);
  t.same(diffJson({ items: [{ ts: 1, v: 1 }, { ts: 2, v: 2 }], meta: { x: 1 } }, { items: [{ ts: 9, v: 1 }, { ts: 8, v: 3 }], meta: { x: 2 } }, ig), [
    { path: '$.items[1].v', production: '2', shadow: '3' },
  ]);
  t.equal(diffJson(Array.from({ length: 100 }, (_, i) => i), [], ig, 5).length, 5, 'capped');
});

t.test('endpoints fold ids and drop the query', async (t) => {
  t.equal(endpointOf('GET', '/users/123/orders/9f86d081884c7d659a2feaa0c55ad015?x=1'), 'GET /users/{id}/orders/{id}');
  t.equal(endpointOf('POST', '/echo'), 'POST /echo');
});

t.test('responses without a body (HEAD, 304): Content-Length is the size the client would get, so it is compared', async (t) => {
  const head = (len: number): HttpMessage => {
    const msgs: HttpMessage[] = [];
    const f = new Http1Framer(HTTP_KIND.RESPONSE, { onMessage: (m) => msgs.push(m) }, {}, () => ({ method: 'HEAD' }));
    f.push(Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${len}\r\n\r\n`));
    return msgs[0]!;
  };
  t.same(compareResponses(head(50), head(100), opts()), [{ kind: 'header', where: 'content-length', production: '50', shadow: '100' }]);
  t.same(compareResponses(head(50), head(50), opts()), []);
});
