/**
 * One self-contained HTML report of a compare: inline CSS and SVG, no scripts,
 * no external assets. Shows the verdict, both windows in a 2-D projection
 * (embedding) with the variance its axes explain, which topics grew or shrank, each
 * method's baseline/current figures with one line on what it measures and how to read
 * it, the evidence of each test (a p-value at the permutation floor marked as such),
 * and when, with which config and seed it was made.
 */
import type { MethodResult, MonitorResult } from '@driftwatch/core';

export interface ReportInput {
  result: MonitorResult;
  baselineFile: string;
  currentFile: string;
  alpha: number;
  /** 2-D coordinates (first two principal components) of sampled rows of each window; `explained`: share of the total variance of each axis. */
  scatter?: { baseline: [number, number][]; current: [number, number][]; explained?: [number, number] };
  /** When the report was made, from which config file, with which seed. */
  generatedAt?: Date;
  configFile?: string;
  seed?: number;
  /** Permutations B of the permutation tests: their smallest possible p-value is 1/(B+1). */
  permutations?: number;
}

/** What each method measures and how to read it (one line each). */
export const METHOD_HELP: Record<string, string> = {
  domain_classifier: 'A classifier is trained to tell the windows apart; AUC 0.5 = indistinguishable, 1 = fully separable. Permutation test: p is how often shuffled windows separate as well.',
  mmd: 'Maximum mean discrepancy: distance between the two windows as whole distributions (RBF kernel); 0 = same distribution. Permutation test.',
  ks: 'Kolmogorov-Smirnov on each projected dimension; the largest statistic, calibrated by permutation. Sensitive to a shift along any single direction.',
  centroid_distance: 'Cosine distance between the mean embeddings of the windows (descriptive): how far the centre of the queries moved; compare with distance_threshold.',
  silhouette: 'KMeans silhouette of each window (descriptive): how clearly the queries fall into topics; a large change means the topic structure changed.',
  cluster_shift: 'Topics of the baseline (KMeans) with the current window assigned to them: total variation distance of the two topic mixes (0 = same mix, 1 = disjoint). A new topic raises it; see the topics table.',
  psi: 'Population stability index on the baseline principal directions: < 0.1 stable, 0.1-0.2 moderate, > 0.2 significant shift (descriptive).',
  variance: 'Relative change of the total variance (descriptive): queries became more varied (> 0) or more uniform (< 0).',
  refusal_rate: 'Share of responses that read as refusals. One-sided test that it rose; flagged when significant and above refusal_rate_threshold.',
  toxicity_rate: 'Share of responses a moderation model flags as toxic. One-sided test that it rose; flagged when significant and above toxicity_rate_threshold.',
  error_rate: 'Share of interactions that failed. One-sided test that it rose; flagged when significant and above error_rate_threshold.',
  response_length: 'Median response length in characters; value = relative change. Two-sided Mann-Whitney test; flagged when significant and the change is over length_change_threshold.',
  cost_per_interaction: "Mean of the application's cost per interaction in USD; value = relative change. One-sided Mann-Whitney test; flagged when significant and the rise is over cost_change_threshold.",
  eval_accuracy: 'Evaluation-set accuracy; value = relative drop (baseline - current) / baseline. One-sided test of two proportions; flagged when significant and the drop is over accuracy_threshold.',
  feedback: 'Mean user rating 1-5; value = relative drop. One-sided Mann-Whitney test on the ratings; flagged when significant and the drop is over feedback_threshold.',
  task_success: 'Share of interactions whose task succeeded; value = relative drop. One-sided test of two proportions; flagged when significant and over task_success_threshold.',
};

/** Topics (baseline clusters) of the cluster_shift method that grew or shrank, largest change first. */
export function topicChanges(m: MethodResult | undefined): { cluster: number; baseline: number; current: number; change: number }[] {
  const b = m?.baseline_proportions as number[] | undefined;
  const c = m?.current_proportions as number[] | undefined;
  if (!Array.isArray(b) || !Array.isArray(c)) return [];
  // The last share is "outside": rows far from every baseline topic.
  return b.map((x, i) => ({ cluster: i === b.length - 1 ? 0 : i + 1, baseline: x, current: c[i] ?? 0, change: (c[i] ?? 0) - x })).sort((p, q) => Math.abs(q.change) - Math.abs(p.change));
}

function topicsSection(m: MethodResult | undefined): string {
  const rows = topicChanges(m);
  if (!rows.length) return '';
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const line = (t: (typeof rows)[number]) => {
    const verb = Math.abs(t.change) < 0.02 ? 'stayed about the same' : t.change > 0 ? (t.cluster === 0 ? 'grew: queries unlike any baseline topic (a new topic?)' : 'grew') : 'shrank';
    return `<tr${Math.abs(t.change) >= 0.05 ? ' class="flag"' : ''}><td>${t.cluster === 0 ? 'outside every topic' : `topic ${t.cluster}`}</td><td>${pct(t.baseline)}</td><td>${pct(t.current)}</td><td>${t.change >= 0 ? '+' : ''}${pct(t.change)}</td><td>${verb}</td></tr>`;
  };
  const ratio = typeof m?.distance_ratio === 'number' ? `<p><small>Current queries are on average ${fmt(m.distance_ratio)}x as far from their nearest baseline topic as baseline queries are (1 = as close; well above 1: queries unlike any baseline topic).</small></p>` : '';
  return `<section><h2>Topics that grew or shrank</h2>
<p><small>Topics are the baseline's KMeans clusters; each current query is assigned to the nearest one, or to "outside every topic" when it is farther from it than 95% of that topic's baseline queries (about 5% of the baseline by construction). cluster_shift = ${fmt(m?.value)} (total variation distance of the two mixes).</small></p>
<table><thead><tr><th>topic</th><th>baseline</th><th>current</th><th>change</th><th></th></tr></thead><tbody>
${rows.map(line).join('\n')}
</tbody></table>${ratio}</section>`;
}

const BASE = '#1f77b4';
const CUR = '#ff7f0e';

function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

function fmt(x: unknown): string {
  if (typeof x === 'number') return Number.isInteger(x) ? String(x) : Math.abs(x) < 1e-3 && x !== 0 ? x.toExponential(2) : x.toFixed(4);
  if (typeof x === 'boolean') return x ? 'yes' : 'no';
  return x === null || x === undefined ? '–' : esc(x);
}

function scatterSvg(points: NonNullable<ReportInput['scatter']>): string {
  const ex = points.explained;
  const axis = (i: 0 | 1) => `PC ${i + 1}${ex ? ` (${(ex[i] * 100).toFixed(1)}% of the variance)` : ''}`;
  const all = [...points.baseline, ...points.current];
  if (all.length === 0) return '';
  const W = 520;
  const H = 400;
  const pad = 30;
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const sx = (x: number) => pad + ((x - x0) / (x1 - x0 || 1)) * (W - 2 * pad);
  const sy = (y: number) => H - pad - ((y - y0) / (y1 - y0 || 1)) * (H - 2 * pad);
  const dots = (pts: [number, number][], color: string) => pts.map(([x, y]) => `<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.2" fill="${color}" fill-opacity="0.45"/>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="PCA scatter">
<rect x="0" y="0" width="${W}" height="${H}" fill="#fff" stroke="#ccc"/>
${dots(points.baseline, BASE)}${dots(points.current, CUR)}
<text x="${W / 2}" y="${H - 8}" text-anchor="middle" font-size="11">${esc(axis(0))}</text>
<text x="12" y="${H / 2}" font-size="11" transform="rotate(-90 12 ${H / 2})" text-anchor="middle">${esc(axis(1))}</text>
<rect x="${W - 150}" y="10" width="10" height="10" fill="${BASE}"/><text x="${W - 135}" y="19" font-size="11">baseline (${points.baseline.length})</text>
<rect x="${W - 150}" y="26" width="10" height="10" fill="${CUR}"/><text x="${W - 135}" y="35" font-size="11">current (${points.current.length})</text>
</svg>`;
}

/** Paired bars of baseline and current per method, each pair scaled to its larger value. */
function pairsSvg(methods: [string, MethodResult][]): string {
  const rows = methods.filter(([, m]) => typeof m.baseline === 'number' && typeof m.current === 'number');
  if (rows.length === 0) return '';
  const W = 560;
  const rowH = 34;
  const H = rows.length * rowH + 20;
  const label = 150;
  const width = W - label - 90;
  const bars = rows
    .map(([name, m], i) => {
      const b = m.baseline as number;
      const c = m.current as number;
      const max = Math.max(Math.abs(b), Math.abs(c)) || 1;
      const y = 10 + i * rowH;
      return `<text x="0" y="${y + 16}" font-size="12">${esc(name)}</text>
<rect x="${label}" y="${y}" width="${((Math.abs(b) / max) * width).toFixed(1)}" height="12" fill="${BASE}"/><text x="${label + (Math.abs(b) / max) * width + 4}" y="${y + 10}" font-size="10">${fmt(b)}</text>
<rect x="${label}" y="${y + 14}" width="${((Math.abs(c) / max) * width).toFixed(1)}" height="12" fill="${CUR}"/><text x="${label + (Math.abs(c) / max) * width + 4}" y="${y + 24}" font-size="10">${fmt(c)}</text>`;
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="baseline and current per method">${bars}</svg>`;
}

/**
 * -log10 p per test with a mark at the level that test is held to: its own
 * `threshold` for the embedding tests (weighted Bonferroni), alpha/k otherwise.
 */
function evidenceSvg(methods: [string, MethodResult][], alpha: number, kind: string, floor?: number): string {
  const rows = methods.filter(([, m]) => typeof m.p_value === 'number');
  if (rows.length === 0) return '';
  const W = 700;
  const rowH = 24;
  const H = rows.length * rowH + 30;
  const label = 150;
  const width = W - label - 190;
  const levels = rows.map(([, m]) => (kind === 'embedding' && typeof m.threshold === 'number' ? m.threshold : alpha / rows.length));
  const vals = rows.map(([, m]) => -Math.log10(Math.max(m.p_value as number, 1e-16)));
  const max = Math.max(...levels.map((l) => -Math.log10(l) * 1.5), ...vals);
  const x = (v: number) => label + (v / max) * width;
  const bars = rows
    .map(([name, m], i) => {
      const y = 8 + i * rowH;
      const lx = x(-Math.log10(levels[i])).toFixed(1);
      return `<text x="0" y="${y + 12}" font-size="12">${esc(name)}</text><rect x="${label}" y="${y}" width="${(x(vals[i]) - label).toFixed(1)}" height="14" fill="${m.flagged ? '#d62728' : '#7f7f7f'}"/><line x1="${lx}" y1="${y - 3}" x2="${lx}" y2="${y + 17}" stroke="#000" stroke-width="2"/><text x="${x(vals[i]) + 4}" y="${y + 11}" font-size="10">${atFloor(m.p_value, floor) ? `p≤${fmt(m.p_value)} (permutation floor)` : `p=${fmt(m.p_value)}`} (level ${fmt(levels[i])})</text>`;
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="evidence per test">${bars}
<text x="${label}" y="${H - 4}" font-size="10">bars: −log10 p; black mark: the level the test is held to (family-wise alpha = ${alpha})</text></svg>`;
}

/** True when p is the smallest value a permutation test with B permutations can give, 1/(B+1): the true p-value is at most that. */
function atFloor(p: unknown, floor?: number): boolean {
  return typeof p === 'number' && floor !== undefined && p <= floor * (1 + 1e-9);
}

export function renderHtml(input: ReportInput): string {
  const { result } = input;
  const floor = input.permutations && result.kind === 'embedding' ? 1 / (input.permutations + 1) : undefined;
  const pCell = (p: unknown) => (atFloor(p, floor) ? `≤ ${fmt(p)} <small>(floor 1/(B+1), B=${input.permutations})</small>` : fmt(p));
  const methods = Object.entries(result.methods);
  const colour = result.status === 'drift' ? '#d62728' : result.status === 'no_drift' ? '#2ca02c' : '#7f7f7f';
  const table = methods
    .map(
      ([name, m]) =>
        `<tr${m.flagged ? ' class="flag"' : ''}><td>${esc(name)}</td><td>${fmt(m.baseline)}</td><td>${fmt(m.current)}</td><td>${fmt(m.value)}</td><td>${pCell(m.p_value)}</td><td>${fmt(m.threshold)}</td><td>${fmt(m.flagged ?? false)}</td><td class="help">${esc(METHOD_HELP[name] ?? '')}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Driftwatch compare: ${esc(result.kind)} ${esc(result.status)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;max-width:1100px;color:#222}
.verdict{border-left:8px solid ${colour};padding:.6rem 1rem;background:#f7f7f7}
.verdict h1{margin:.2rem 0;color:${colour}}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ddd;padding:.25rem .6rem;text-align:right}td:first-child,th:first-child{text-align:left}
tr.flag td{background:#fde0e0}td.help{text-align:left;font-size:.85em;color:#444;max-width:420px}.grid{display:flex;flex-wrap:wrap;gap:2rem}small{color:#666}
</style></head><body>
<div class="verdict"><h1>${esc(result.status.replace('_', ' '))}</h1>
<p><b>${esc(result.kind)}</b> monitor · score ${fmt(result.score)} · severity ${esc(result.severity)} · p-value ${fmt(result.p_value)} · baseline n=${result.n_baseline} · current n=${result.n_current}</p>
<p>${esc(result.reason)}</p>
<small>baseline: ${esc(input.baselineFile)} · current: ${esc(input.currentFile)}${input.generatedAt ? ` · made ${esc(input.generatedAt.toISOString())}` : ''}${input.configFile ? ` · config ${esc(input.configFile)}` : ''}${input.seed !== undefined ? ` · seed ${input.seed}` : ''} · alpha ${input.alpha}${floor ? ` · ${input.permutations} permutations (smallest p ${fmt(floor)})` : ''}</small></div>
<div class="grid">
${input.scatter ? `<section><h2>Both windows, first two principal components</h2>${scatterSvg(input.scatter)}<p><small>Each dot is a sampled query; the axes are the pooled sample's two leading principal components${input.scatter.explained ? `, which together explain ${((input.scatter.explained[0] + input.scatter.explained[1]) * 100).toFixed(1)}% of its variance (a low share: the windows may differ in directions this picture does not show)` : ''}.</small></p></section>` : ''}
${topicsSection(result.methods.cluster_shift)}
${methods.some(([, m]) => typeof m.p_value === 'number') ? `<section><h2>Evidence per test</h2>${evidenceSvg(methods, input.alpha, result.kind, floor)}</section>` : ''}
${pairsSvg(methods) ? `<section><h2>Baseline and current</h2>${pairsSvg(methods)}</section>` : ''}
</div>
<h2>Methods</h2>
<table><thead><tr><th>method</th><th>baseline</th><th>current</th><th>value</th><th>p-value</th><th>threshold</th><th>flagged</th><th>what it measures, how to read it</th></tr></thead><tbody>
${table}
</tbody></table>
${result.timings_ms ? `<p><small>time per method (ms): ${esc(Object.entries(result.timings_ms).map(([k, v]) => `${k} ${v}`).join(', '))}</small></p>` : ''}
</body></html>
`;
}
