import t from 'tap';

import { demoConfig, describeDifference, parseAgentSummary, parseCollectorSummary, routeOf, summarizeDiff } from '../../cli/demo.js';

// The demo's own bookkeeping, without a lab: flags, the diff JSONL it reads back from
// `podspan replay --diff`, and the summaries the agent and the collector print.

t.test('routeOf folds id segments and drops the query, as the replay report does', async (t) => {
  t.equal(routeOf('GET', '/api/products/7'), 'GET /api/products/{id}');
  t.equal(routeOf('GET', '/api/products/7/reviews/12?x=1'), 'GET /api/products/{id}/reviews/{id}');
  t.equal(routeOf('GET', '/api/search?q=milk'), 'GET /api/search');
  t.equal(routeOf('POST', '/v2/items'), 'POST /v2/items', 'digits inside a segment stay');
});

t.test('summarizeDiff groups mismatches per endpoint and counts every replayed request', async (t) => {
  const lines = [
    { method: 'GET', path: '/api/products/1', match: true, differences: [] },
    { method: 'GET', path: '/api/products/9', match: true, differences: [] },
    { method: 'POST', path: '/api/cart/quote', match: false, differences: [{ kind: 'body', where: '$.totalCents', production: '1080', shadow: '1000' }] },
    { method: 'POST', path: '/api/cart/quote', match: false, differences: [{ kind: 'body', where: '$.totalCents', production: '540', shadow: '500' }, { kind: 'header', where: 'content-length', production: '90', shadow: '89' }] },
    { method: 'GET', path: '/health', match: true, differences: [] },
    { method: 'GET', path: '/health', match: null, differences: [] },
  ].map((o) => JSON.stringify(o));
  const s = summarizeDiff([...lines, '', 'not json', '{"method":"GET"}'].join('\n'));
  t.equal(s.replayed, 6);
  t.equal(s.matched, 3);
  t.equal(s.mismatched, 2);
  t.equal(s.notCompared, 1, 'match null: no production response to compare with');
  t.equal(s.unreadable, 2, 'a line that is not JSON and one without "match"');
  t.same(s.endpoints, {
    'GET /api/products/{id}': { replayed: 2, mismatched: 0 },
    'POST /api/cart/quote': { replayed: 2, mismatched: 2 },
    'GET /health': { replayed: 2, mismatched: 0 },
  });
  t.equal(s.mismatches.length, 1);
  const m = s.mismatches[0]!;
  t.equal(m.endpoint, 'POST /api/cart/quote');
  t.equal(m.replayed, 2);
  t.equal(m.mismatched, 2);
  t.same(m.differences.map((d) => [d.what, d.count]), [['body $.totalCents', 2], ['header content-length', 1]]);
  t.equal(m.differences[0]!.example, 'body $.totalCents: 1080 -> 1000', 'the first example is kept');
});

t.test('describeDifference copes with strings and unknown shapes', async (t) => {
  t.same(describeDifference('status 200 != 500'), { what: 'status 200 != 500', example: 'status 200 != 500' });
  t.same(describeDifference({ kind: 'status', production: '200', shadow: '500' }), { what: 'status', example: 'status: 200 -> 500' });
  t.same(describeDifference({ kind: 'shadow_error', detail: 'timeout' }), { what: 'shadow_error', example: 'shadow_error: timeout' });
  t.match(describeDifference({ odd: true }).what, /odd/);
  t.match(describeDifference(42).what, '42');
});

t.test('parseAgentSummary and parseCollectorSummary read what the agent and collector print', async (t) => {
  const agent = [
    '2500 packets captured',
    '2500 packets received by filter',
    '0 packets dropped by kernel',
    '0 packets dropped by podspan (batch_full 0, write_error 0, after_stop 0)',
    '2498 packets exported to vxlan://127.0.0.1:4789?vni=4242, 2 not exported (export_queue_full 2, export_send_error 0), export_truncated 1',
    '0 reattachments',
  ].join('\n');
  t.same(parseAgentSummary(agent), { captured: 2500, receivedByFilter: 2500, droppedByKernel: 0, droppedByPodspan: 0, exported: 2498, notExported: 2, exportTruncated: 1 });
  t.equal(parseAgentSummary('podspan: listening on veth0\n'), undefined, 'no summary yet');
  const coll = 'podspan collector: stopped after 3.1 s\nvxlan: received 6, delivered 3, dropped 3 (short=1, bad_flags=2)\nstore: received 3, delivered 3, dropped 0\n';
  t.same(parseCollectorSummary(coll), {
    vxlan: { received: 6, delivered: 3, dropped: 3, reasons: { short: 1, bad_flags: 2 } },
    store: { received: 3, delivered: 3, dropped: 0, reasons: {} },
  });
});

t.test('demoConfig: defaults and usage errors', async (t) => {
  const c = demoConfig({}, new Date(Date.UTC(2026, 0, 2, 3, 4, 5)));
  t.match(c.outDir, /\/podspan-demo-20260102-030405$/);
  t.equal(c.requests, 1200);
  t.equal(c.clients, 4);
  t.equal(c.prefix, 'psl-demo-');
  t.equal(c.json, false);
  for (const bad of [{ requests: '0' }, { requests: 'x' }, { clients: '1000' }, { prefix: 'demo-' }, { prefix: 'psl-toolongname-' }, { subnet: '10.0.0.0/30' }, { subnet: 'ten' }, { out: '' }]) {
    t.throws(() => demoConfig(bad), { code: 'PODSPAN_ERR_USAGE' }, JSON.stringify(bad));
  }
});
