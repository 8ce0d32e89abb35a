import t from 'tap';
import { Buffer } from 'node:buffer';
import { Http1Framer, HTTP_KIND, type HttpMessage } from '../../packet/http/http1.js';
import { rewriteRequest } from '../../collector/replay/rewrite.js';
import { inSample } from '../../collector/replay/sample.js';

function req(raw: string): [HttpMessage, Buffer] {
  const msgs: HttpMessage[] = [];
  const f = new Http1Framer(HTTP_KIND.REQUEST, { onMessage: (m) => msgs.push(m) });
  const b = Buffer.from(raw, 'latin1');
  f.push(b);
  const m = msgs[0]!;
  return [m, b.subarray(m.startOff, m.endOff)];
}

t.test('without rewrites the captured bytes are sent unchanged (a view, not a copy)', async (t) => {
  const [m, raw] = req('GET /a HTTP/1.1\r\nhost: x\r\n\r\n');
  t.equal(rewriteRequest(m, raw, { set: [], remove: [] }), raw);
});

t.test('Host is replaced in place, set headers replace every same-named field, removed ones go; the chunked body is kept as captured', async (t) => {
  const [m, raw] = req('POST /p?q=1 HTTP/1.1\r\nhost: old\r\nCookie: a=1\r\nX-Env: prod\r\nx-env: prod2\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n');
  const out = rewriteRequest(m, raw, { host: 'new:8080', set: [['X-Env', 'shadow']], remove: ['cookie'] }).toString('latin1');
  t.equal(out, 'POST /p?q=1 HTTP/1.1\r\nhost: new:8080\r\nTransfer-Encoding: chunked\r\nX-Env: shadow\r\n\r\n3\r\nabc\r\n0\r\n\r\n');
});

t.test('a missing Host is added first', async (t) => {
  const [m, raw] = req('GET / HTTP/1.0\r\nAccept: */*\r\n\r\n');
  t.equal(rewriteRequest(m, raw, { host: 'h', set: [], remove: [] }).toString(), 'GET / HTTP/1.0\r\nHost: h\r\nAccept: */*\r\n\r\n');
});

t.test('sampling is consistent and close to the percentage', async (t) => {
  let n = 0;
  for (let i = 0; i < 10000; i++) if (inSample(`key-${i}`, 25)) n++;
  t.ok(n > 2200 && n < 2800, `${n} of 10000 at 25 %`);
  t.equal(inSample('same', 50), inSample('same', 50));
  t.ok(inSample('x', 100));
  t.notOk(inSample('x', 0));
});
