/**
 * Refusal detection bench: precision and recall of the pattern detector, the
 * semantic detector (offline wink word vectors) and their combination on a labelled
 * set of responses.
 *
 *   npm run bench:refusal -- [--set eval|tune|tune2|tune,tune2] [--errors] [--margin 0.03] [--calibrate]
 *
 * bench/data/refusal-eval.jsonl (210 responses: 100 refusals in seven wordings, 50
 * ordinary answers, 60 false friends) was written and committed before any tuning and
 * is the set the figures of record come from: never tuned on, never read with --errors.
 * The detector was tuned on refusal-tune.jsonl (116), -tune2 (142), -tune3 (88), -tune4
 * (80) and -tune5 (41), each written fresh after the previous round of tuning.
 * refusal-dev.jsonl (60) was written after the third round and is only ever read in
 * aggregate, as a second unseen set; the eval set's aggregate figures were printed after
 * each round (its errors never). --errors lists the misclassified responses (for the
 * tuning sets); --calibrate prints the combined detector's precision and recall at each
 * margin (0.03: inside 0.02-0.05, where both are >= 0.98 on the five tuning sets).
 *
 * Uses the same compact word-vector table as the behaviour monitor (refusal-vectors.ts),
 * building it (and the full wink cache) on first run.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { delivers, isRefusal } from '../packages/core/src/monitors/refusal.js';
import { SemanticRefusalDetector, refusalClassifier } from '../packages/core/src/monitors/refusal-semantic.js';
import { loadRefusalVectors } from '../packages/core/src/monitors/refusal-vectors.js';

interface Item {
  text: string;
  refusal: boolean;
  kind: string;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const set = arg('--set') ?? 'eval';
const here = dirname(fileURLToPath(import.meta.url));
// --set tune,tune2 reads both tuning sets.
const items: Item[] = set.split(',').flatMap((name) =>
  readFileSync(join(here, 'data', `refusal-${name}.jsonl`), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Item),
);

const t0 = performance.now();
const cpu0 = process.cpuUsage();
const cpuMs = () => {
  const c = process.cpuUsage(cpu0);
  return Math.round((c.user + c.system) / 1000);
};
// The compact table the behaviour monitor uses (refusal-vectors.ts), built on first run.
const { vectors, ms, note } = loadRefusalVectors({ buildFromSource: true });
if (!vectors) throw new Error(note);
const semantic = new SemanticRefusalDetector(vectors, { margin: arg('--margin') ? Number(arg('--margin')) : undefined });
const combined = refusalClassifier({ semantic });
console.log(`refusal bench on bench/data/refusal-${set}.jsonl: ${items.length} responses, ${items.filter((x) => x.refusal).length} refusals (${note} in ${Math.round(ms)} ms)`);

if (process.argv.includes('--calibrate')) {
  // The margin's calibration (run on the tuning sets only): the combined detector's
  // precision and recall at each margin.
  const scored = items.map((it) => ({ it, pattern: isRefusal(it.text), score: semantic.score(it.text).score, delivers: delivers(it.text) }));
  for (let m = -0.02; m <= 0.1 + 1e-9; m += 0.01) {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (const x of scored) {
      const got = x.pattern || (x.score >= m && !x.delivers);
      if (got && x.it.refusal) tp++;
      else if (got) fp++;
      else if (x.it.refusal) fn++;
    }
    console.log(`margin ${m.toFixed(2)}: precision ${(tp / (tp + fp)).toFixed(3)}  recall ${(tp / (tp + fn)).toFixed(3)}  (fp ${fp}, fn ${fn})`);
  }
  process.exit(0);
}

const detectors: [string, (t: string) => boolean][] = [
  ['patterns', (t) => isRefusal(t)],
  ['semantic', (t) => semantic.isRefusal(t)],
  ['combined', combined],
];
const rows: string[] = [];
for (const [name, detect] of detectors) {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  const byKind = new Map<string, { hit: number; n: number }>();
  const errors: string[] = [];
  const started = performance.now();
  for (const it of items) {
    const got = detect(it.text);
    if (got && it.refusal) tp++;
    else if (got) fp++;
    else if (it.refusal) fn++;
    const k = byKind.get(it.kind) ?? { hit: 0, n: 0 };
    k.n++;
    if (got === it.refusal) k.hit++;
    byKind.set(it.kind, k);
    if (got !== it.refusal) errors.push(`  ${it.refusal ? 'missed' : 'false alarm'} [${it.kind}] ${it.text}${name !== 'patterns' ? ` (semantic ${semantic.score(it.text).score.toFixed(3)})` : ''}`);
  }
  const precision = tp + fp ? tp / (tp + fp) : 1;
  const recall = tp + fn ? tp / (tp + fn) : 1;
  const usPer = ((performance.now() - started) * 1000) / items.length;
  const kinds = [...byKind].map(([k, v]) => `${k} ${v.hit}/${v.n}`).join(', ');
  const refusalsTrue = items.filter((x) => x.refusal).length;
  const detected = tp + fp;
  rows.push(`${name.padEnd(9)} precision ${precision.toFixed(3)}  recall ${recall.toFixed(3)}  (tp ${tp}, fp ${fp}, fn ${fn}; rate ${(detected / items.length).toFixed(3)} vs truth ${(refusalsTrue / items.length).toFixed(3)}; ${usPer.toFixed(0)} us/response)\n          correct by kind: ${kinds}`);
  if (process.argv.includes('--errors') && errors.length) rows.push(errors.join('\n'));
}
console.log(rows.join('\n'));
const last = rows.find((r) => r.startsWith('combined'))!;
const [, p, r] = /precision ([\d.]+)\s+recall ([\d.]+)/.exec(last)!;
console.log(`\nTarget precision >= 0.95 and recall >= 0.95 (combined): ${Number(p) >= 0.95 && Number(r) >= 0.95 ? 'met' : 'NOT met'}. Elapsed ${Math.round(performance.now() - t0)} ms wall, ${cpuMs()} ms CPU (load average ${loadavg()[0].toFixed(1)}).`);
