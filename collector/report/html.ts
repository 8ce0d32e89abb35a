/**
 * The self-contained HTML report of an HTTP shadow replay: no external resources (inline CSS
 * and SVG, no script), so it opens from a file, a CI artifact or a mail attachment.
 * Sections: summary counts, mismatches grouped by endpoint and difference kind, the
 * mismatching requests, and production-vs-shadow latency (per-request scatter on log axes,
 * and both latency distributions).
 *
 * Elements carry ids (`count-<name>`, `mismatch-groups`, `mismatch-rows`, `latency-scatter`,
 * `latency-cdf`) so tests and scripts can find them.
 */
import type { Difference } from '../diff/compare.js';
import type { ReportData } from '../diff/sink.js';

export interface ReportMeta {
  capture: string;
  target: string;
  generated: string;
  /** Label → value, in order (from the replay summary). */
  counts: [string, string, number][];
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function ms(usv: number | null): string {
  if (usv === null) return '–';
  return usv >= 10_000 ? `${(usv / 1000).toFixed(0)} ms` : `${(usv / 1000).toFixed(2)} ms`;
}

function diffText(d: Difference): string {
  const side = (v: string | null | undefined): string => (v === null ? '(absent)' : v === undefined ? '' : v);
  const where = d.where !== undefined && d.where !== '' ? `${d.where}: ` : '';
  if (d.kind === 'shadow_error') return `shadow error: ${d.detail ?? ''}`;
  const detail = d.detail !== undefined ? ` (${d.detail})` : '';
  return `${d.kind} ${where}${side(d.production)} → ${side(d.shadow)}${detail}`;
}

const W = 520;
const H = 360;
const PAD = 50;

/** log10 scale over [lo, hi] microseconds onto [a, b] pixels. */
function logScale(lo: number, hi: number, a: number, b: number): (v: number) => number {
  const l0 = Math.log10(Math.max(1, lo));
  const l1 = Math.max(l0 + 1, Math.log10(Math.max(1, hi)));
  return (v: number) => a + ((Math.log10(Math.max(1, v)) - l0) / (l1 - l0)) * (b - a);
}

function ticks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(Math.max(1, lo))); e <= Math.ceil(Math.log10(Math.max(10, hi))); e++) out.push(10 ** e);
  return out;
}

function tickLabel(usv: number): string {
  return usv >= 1000 ? `${usv / 1000} ms` : `${usv} µs`;
}

function scatter(points: readonly [number, number, number][]): string {
  if (points.length === 0) return '<p>No compared requests with both latencies.</p>';
  let lo = Infinity;
  let hi = 0;
  for (const [p, s] of points) {
    lo = Math.min(lo, p, s);
    hi = Math.max(hi, p, s);
  }
  const tk = ticks(lo, hi);
  const x = logScale(tk[0]!, tk[tk.length - 1]!, PAD, W - 10);
  const y = logScale(tk[0]!, tk[tk.length - 1]!, H - PAD, 10);
  const parts: string[] = [];
  parts.push(`<svg id="latency-scatter" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="production vs shadow latency per request">`);
  for (const t of tk) {
    parts.push(`<line x1="${x(t).toFixed(1)}" y1="10" x2="${x(t).toFixed(1)}" y2="${H - PAD}" class="grid"/>`);
    parts.push(`<line x1="${PAD}" y1="${y(t).toFixed(1)}" x2="${W - 10}" y2="${y(t).toFixed(1)}" class="grid"/>`);
    parts.push(`<text x="${x(t).toFixed(1)}" y="${H - PAD + 16}" text-anchor="${t === tk[tk.length - 1] ? 'end' : 'middle'}">${tickLabel(t)}</text>`);
    parts.push(`<text x="${PAD - 4}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${tickLabel(t)}</text>`);
  }
  const a = tk[0]!;
  const b = tk[tk.length - 1]!;
  parts.push(`<line x1="${x(a).toFixed(1)}" y1="${y(a).toFixed(1)}" x2="${x(b).toFixed(1)}" y2="${y(b).toFixed(1)}" class="diag"/>`);
  for (const [p, s, bad] of points) parts.push(`<circle cx="${x(p).toFixed(1)}" cy="${y(s).toFixed(1)}" r="2" class="${bad ? 'bad' : 'ok'}"/>`);
  parts.push(`<text x="${(W + PAD) / 2}" y="${H - 8}" text-anchor="middle">production latency (captured)</text>`);
  parts.push(`<text x="12" y="${(H - PAD) / 2}" text-anchor="middle" transform="rotate(-90 12 ${(H - PAD) / 2})">shadow latency</text>`);
  parts.push('</svg>');
  return parts.join('');
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function cdf(points: readonly [number, number, number][]): string {
  if (points.length === 0) return '';
  const p = points.map((v) => v[0]).sort((m, n) => m - n);
  const s = points.map((v) => v[1]).sort((m, n) => m - n);
  const tk = ticks(Math.min(p[0]!, s[0]!), Math.max(p[p.length - 1]!, s[s.length - 1]!));
  const x = logScale(tk[0]!, tk[tk.length - 1]!, PAD, W - 10);
  const y = (f: number): number => H - PAD - f * (H - PAD - 10);
  const path = (v: number[]): string => {
    const step = Math.max(1, Math.floor(v.length / 400));
    const pts: string[] = [];
    for (let i = 0; i < v.length; i += step) pts.push(`${x(v[i]!).toFixed(1)},${y((i + 1) / v.length).toFixed(1)}`);
    pts.push(`${x(v[v.length - 1]!).toFixed(1)},${y(1).toFixed(1)}`);
    return `M${pts.join('L')}`;
  };
  const parts: string[] = [];
  parts.push(`<svg id="latency-cdf" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="latency distributions">`);
  for (const t of tk) {
    parts.push(`<line x1="${x(t).toFixed(1)}" y1="10" x2="${x(t).toFixed(1)}" y2="${H - PAD}" class="grid"/>`);
    parts.push(`<text x="${x(t).toFixed(1)}" y="${H - PAD + 16}" text-anchor="${t === tk[tk.length - 1] ? 'end' : 'middle'}">${tickLabel(t)}</text>`);
  }
  for (const f of [0, 0.5, 0.9, 1]) {
    parts.push(`<line x1="${PAD}" y1="${y(f).toFixed(1)}" x2="${W - 10}" y2="${y(f).toFixed(1)}" class="grid"/>`);
    parts.push(`<text x="${PAD - 4}" y="${(y(f) + 4).toFixed(1)}" text-anchor="end">${f * 100}%</text>`);
  }
  parts.push(`<path d="${path(p)}" class="prod"/><path d="${path(s)}" class="shadow"/>`);
  parts.push(`<text x="${(W + PAD) / 2}" y="${H - 8}" text-anchor="middle">latency (fraction of requests at or below)</text>`);
  parts.push('</svg>');
  const row = (name: string, v: number[]): string =>
    `<tr><td>${name}</td><td>${ms(quantile(v, 0.5))}</td><td>${ms(quantile(v, 0.9))}</td><td>${ms(quantile(v, 0.99))}</td><td>${ms(v[v.length - 1]!)}</td></tr>`;
  return `${parts.join('')}<table id="latency-quantiles"><tr><th></th><th>p50</th><th>p90</th><th>p99</th><th>max</th></tr>${row('<span class="k prod-k"></span>production', p)}${row('<span class="k shadow-k"></span>shadow', s)}</table>`;
}

const CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f2f2f2}td.n{text-align:right;font-variant-numeric:tabular-nums}
.mismatch{color:#b00020;font-weight:bold}.match{color:#1b7f1b;font-weight:bold}
code{font-size:12px;word-break:break-all}
svg text{font-size:11px;fill:#444}.grid{stroke:#e4e4e4}.diag{stroke:#888;stroke-dasharray:4 3}
circle.ok{fill:#2a6fdb;fill-opacity:.45}circle.bad{fill:#d62728}
path.prod{fill:none;stroke:#2a6fdb;stroke-width:2}path.shadow{fill:none;stroke:#ff7f0e;stroke-width:2}
.k{display:inline-block;width:10px;height:10px;margin-right:6px}.prod-k{background:#2a6fdb}.shadow-k{background:#ff7f0e}
.plots{display:flex;flex-wrap:wrap;gap:24px}
`;

/** Renders the report. Every string from the capture is escaped; credentials were redacted upstream. */
export function renderReport(d: ReportData, meta: ReportMeta): string {
  const h: string[] = [];
  h.push('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">');
  h.push(`<title>podspan replay report: ${esc(meta.capture)}</title><style>${CSS}</style></head><body>`);
  h.push(`<h1>podspan shadow replay: <code>${esc(meta.capture)}</code> → <code>${esc(meta.target)}</code></h1>`);
  h.push(`<p>Generated ${esc(meta.generated)}.</p>`);
  const verdict = d.mismatches + d.shadowErrors === 0 ? '<span class="match">no differences</span>' : `<span class="mismatch">${d.mismatches} mismatching responses, ${d.shadowErrors} shadow errors</span>`;
  h.push(`<p id="verdict">${verdict} in ${d.compared} compared requests.</p>`);
  h.push('<h2>Summary</h2><table id="summary"><tr><th>what</th><th>count</th></tr>');
  for (const [id, label, n] of meta.counts) h.push(`<tr><td>${esc(label)}</td><td class="n" id="count-${esc(id)}">${n}</td></tr>`);
  h.push('</table>');

  h.push('<h2>Mismatches by endpoint and kind</h2>');
  if (d.groups.length === 0) h.push('<p id="mismatch-groups-empty">None.</p>');
  else {
    const groups = [...d.groups].sort((a, b) => b.count - a.count || a.endpoint.localeCompare(b.endpoint));
    h.push('<table id="mismatch-groups"><tr><th>endpoint</th><th>kind</th><th>where</th><th>requests</th><th>example (production → shadow)</th><th>first seen</th></tr>');
    for (const g of groups) {
      h.push(
        `<tr class="group"><td><code>${esc(g.endpoint)}</code></td><td>${esc(g.kind)}</td><td><code>${esc(g.where)}</code></td><td class="n">${g.count}</td>` +
          `<td><code>${esc(diffText(g.example))}</code></td><td><code>${esc(g.exampleConnection)}</code></td></tr>`,
      );
    }
    h.push('</table>');
  }

  h.push('<h2>Latency: production (captured) vs shadow</h2>');
  if (d.pointsSeen > d.points.length) h.push(`<p>A uniform sample of ${d.points.length} of ${d.pointsSeen} requests.</p>`);
  h.push(`<div class="plots">${scatter(d.points)}<div>${cdf(d.points)}</div></div>`);
  h.push('<p>Each dot is one request: above the dashed diagonal the shadow was slower than production; red dots are mismatching responses. Production latency is capture time from the request\'s last byte to the response\'s first byte; shadow latency is wall time from the request sent to the first byte received, replay host included.</p>');
  h.push('<h2>Mismatching requests</h2>');
  if (d.rows.length === 0) h.push('<p id="mismatch-rows-empty">None.</p>');
  else {
    h.push('<table id="mismatch-rows"><tr><th>connection</th><th>#</th><th>request</th><th>production</th><th>shadow</th><th>differences</th></tr>');
    for (const r of d.rows) {
      h.push(
        `<tr class="row"><td><code>${esc(r.connection)}</code></td><td class="n">${r.index}</td><td><code>${esc(r.method)} ${esc(r.path)}</code></td>` +
          `<td>${r.production.status ?? '–'} · ${ms(r.production.latencyUs)}</td><td>${r.shadow.status ?? '–'} · ${ms(r.shadow.latencyUs)}</td>` +
          `<td>${r.differences.map((x) => `<code>${esc(diffText(x))}</code>`).join('<br>')}</td></tr>`,
      );
    }
    h.push('</table>');
    if (d.rowsDropped > 0) h.push(`<p>${d.rowsDropped} more mismatching requests are in the JSON lines output (--diff).</p>`);
  }

  h.push('</body></html>\n');
  return h.join('\n');
}
