import t from 'tap';

import { CollectorMetrics, METRIC } from '../../collector/metrics.js';

t.test('every stage keeps received == delivered + Σ dropped, and a violation is reported', async (t) => {
  const m = new CollectorMetrics();
  const s = m.stage('vxlan', ['short', 'bad_header'] as const);
  t.same(s.dropped, { short: 0, bad_header: 0 }, 'every reason present from the start');
  s.received += 5;
  s.delivered += 3;
  s.drop('short');
  s.drop('bad_header');
  t.ok(s.balanced());
  t.same(m.invariantViolations(), []);
  s.received++;
  t.same(m.invariantViolations(), ['vxlan: received 6 != delivered 3 + dropped 2']);
  t.throws(() => m.stage('vxlan', []), /registered twice/);
});

t.test('Prometheus samples: snake_case names with _total and stage/reason labels; ISB comment lines', async (t) => {
  const m = new CollectorMetrics();
  const a = m.stage('gre', ['short'] as const);
  const b = m.stage('store', ['write_error'] as const);
  a.received = 4;
  a.delivered = 3;
  a.deliveredBytes = 300;
  a.drop('short');
  b.received = 3;
  b.delivered = 3;
  m.sources = 2;
  const samples = m.samples();
  const find = (name: string, labels: Record<string, string>) => samples.find((x) => x.name === name && JSON.stringify(x.labels) === JSON.stringify(labels))?.value;
  t.equal(find(METRIC.RECEIVED, { stage: 'gre' }), 4);
  t.equal(find('podspan_collector_frames_delivered_total', { stage: 'gre' }), 3);
  t.equal(find('podspan_collector_frames_dropped_total', { stage: 'gre', reason: 'short' }), 1);
  t.equal(find('podspan_collector_frames_dropped_total', { stage: 'store', reason: 'write_error' }), 0);
  t.equal(find('podspan_collector_bytes_delivered_total', { stage: 'gre' }), 300);
  t.equal(find('podspan_collector_sources', {}), 2);
  t.ok(samples.every((x) => /^podspan_collector_[a-z_]+$/.test(x.name) && x.help.length > 0));
  t.same(m.describe(), ['gre received=4 delivered=3 dropped=1{short=1}', 'store received=3 delivered=3 dropped=0']);
  t.same(m.snapshot()[0], { stage: 'gre', received: 4, delivered: 3, deliveredBytes: 300, dropped: { short: 1 } });
});
