/**
 * Offline toxicity bench: precision and recall of the offline moderation provider
 * (obscenity word list + phrase lexicon, OpenAI categories) on labelled texts, next
 * to the phrase lexicon alone (no obscenity).
 *
 *   npm run bench:toxicity -- [--set fresh2|fresh|eval] [--errors]
 *
 * Three labelled sets, each committed before the change it measures, all written by
 * the same person as the detector (so none is fully independent):
 * - toxicity-eval.jsonl (200): before the obscenity provider, but its phrase lexicon
 *   was written after reading the set (optimistic);
 * - toxicity-fresh.jsonl (100): after the lexicon, before the sentence rules (its
 *   aggregate figures were seen before the rules were written);
 * - toxicity-fresh2.jsonl (60): before the sentence rules (threat structure,
 *   dehumanising predicate, insults addressed to the reader): the figure of record.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OfflineModerationProvider } from '../packages/core/src/monitors/moderation.js';

const i = process.argv.indexOf('--set');
const set = i >= 0 ? process.argv[i + 1] : 'fresh2';
const here = dirname(fileURLToPath(import.meta.url));
const items: { text: string; toxic: boolean; kind: string }[] = readFileSync(join(here, 'data', `toxicity-${set}.jsonl`), 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l));
console.log(`toxicity bench on bench/data/toxicity-${set}.jsonl: ${items.length} texts, ${items.filter((x) => x.toxic).length} toxic`);
let lastP = 0;
let lastR = 0;
for (const [name, provider] of [
  ['phrases only', new OfflineModerationProvider({ obscenity: false })],
  ['obscenity + phrases', new OfflineModerationProvider()],
] as const) {
  const t0 = performance.now();
  let tp = 0;
  let fp = 0;
  let fn = 0;
  const errors: string[] = [];
  const byKind = new Map<string, { ok: number; n: number }>();
  for (const it of items) {
    const d = provider.explain(it.text);
    if (d.flagged && it.toxic) tp++;
    else if (d.flagged) fp++;
    else if (it.toxic) fn++;
    const k = byKind.get(it.kind) ?? { ok: 0, n: 0 };
    k.n++;
    if (d.flagged === it.toxic) k.ok++;
    byKind.set(it.kind, k);
    if (d.flagged !== it.toxic) errors.push(`  ${it.toxic ? 'missed' : 'false alarm'} [${it.kind}] ${it.text} (score ${d.score.toFixed(2)}; ${d.matches.join(', ')})`);
  }
  lastP = tp + fp ? tp / (tp + fp) : 1;
  lastR = tp + fn ? tp / (tp + fn) : 1;
  console.log(`${name.padEnd(20)} precision ${lastP.toFixed(3)}  recall ${lastR.toFixed(3)}  (tp ${tp}, fp ${fp}, fn ${fn}; ${(((performance.now() - t0) * 1000) / items.length).toFixed(0)} us/text)`);
  console.log(`${''.padEnd(20)} correct by kind: ${[...byKind].map(([k, v]) => `${k} ${v.ok}/${v.n}`).join(', ')}`);
  if (process.argv.includes('--errors')) console.log(errors.join('\n'));
}
const sample = new OfflineModerationProvider().explain('you f*cking idiot');
console.log(`\nShape (OpenAI's): flagged ${sample.flagged}, score ${sample.score.toFixed(2)}, categories.harassment ${sample.categories.harassment}, category_scores.harassment ${sample.category_scores.harassment.toFixed(2)}`);
console.log(`Target precision >= 0.95 and recall >= 0.95: ${lastP >= 0.95 && lastR >= 0.95 ? 'met' : 'NOT met'}.`);
