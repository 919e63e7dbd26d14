/**
 * Refusal detection bench: precision and recall of the pattern detector, the
 * semantic detector (offline wink word vectors) and their combination on a labelled
 * set of responses.
 *
 *   npm run bench:refusal -- [--set eval|tune] [--errors] [--margin 0.03]
 *
 * bench/data/refusal-eval.jsonl (210 responses: 100 refusals in seven wordings, 50
 * ordinary answers, 60 false friends) was written and committed before any tuning and
 * is the set the figures of record come from; bench/data/refusal-tune.jsonl (116) is
 * the set the exemplars and the margin were tuned on. --errors lists the misclassified
 * responses (meant for the tune set).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isRefusal } from '../packages/core/src/monitors/refusal.js';
import { SemanticRefusalDetector, refusalClassifier } from '../packages/core/src/monitors/refusal-semantic.js';
import { loadWinkVectors } from '../packages/core/src/providers/word-vectors.js';

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
const items: Item[] = readFileSync(join(here, 'data', `refusal-${set}.jsonl`), 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l));

const t0 = performance.now();
const { vectors, ms } = loadWinkVectors();
const semantic = new SemanticRefusalDetector(vectors, { margin: arg('--margin') ? Number(arg('--margin')) : undefined });
const combined = refusalClassifier({ semantic });
console.log(`refusal bench on bench/data/refusal-${set}.jsonl: ${items.length} responses, ${items.filter((x) => x.refusal).length} refusals (word vectors loaded in ${Math.round(ms)} ms)`);

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
console.log(`\nTarget precision >= 0.95 and recall >= 0.95 (combined): ${Number(p) >= 0.95 && Number(r) >= 0.95 ? 'met' : 'NOT met'}. Elapsed ${Math.round(performance.now() - t0)} ms.`);
