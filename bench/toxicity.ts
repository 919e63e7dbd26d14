/**
 * Offline toxicity bench: precision and recall of the offline moderation provider on
 * labelled texts, layer by layer: the phrase lexicon alone, plus the `obscenity` word
 * list, plus the sentence layer (moderation-semantic.ts, nearest toxic vs benign
 * exemplar on the compact word-vector table the monitors use). Measured the same way
 * as refusals: sets written and committed before the change they measure.
 *
 *   npm run bench:toxicity -- [--set holdout|fresh2|fresh|eval|tune|tune2|tune3|tune4|tune5|tune6|tune7|tune8|tune9|eval,fresh,tune,tune2,tune3,tune4,tune5,tune6,tune7,tune8,tune9] [--errors] [--calibrate]
 *
 * - toxicity-holdout.jsonl (200: 100 toxic in six kinds, 100 not incl. 50 false
 *   friends): written and frozen before the sentence layer; never tuned on, never read
 *   with --errors. The figure of record (default).
 * - toxicity-fresh2.jsonl (60): the previous figure of record, written before the
 *   sentence rules; not tuned on since.
 * - tuning sets: toxicity-eval.jsonl (200, the lexicon was written after reading it),
 *   toxicity-fresh.jsonl (100, seen before the sentence rules), toxicity-tune.jsonl
 *   (103), toxicity-tune2.jsonl (94) and toxicity-tune3.jsonl (66), written for the
 *   sentence layer's exemplars and margin; toxicity-tune4.jsonl (105), toxicity-tune5.jsonl (72), toxicity-tune6.jsonl (67), toxicity-tune7.jsonl (47), toxicity-tune8.jsonl (40) and toxicity-tune9.jsonl (35), written for the
 *   targeted-sentence rules of moderation.ts (insults, self-harm encouragement, threats
 *   and their false friends). --calibrate prints the
 *   full provider's precision and recall per margin of the sentence layer.
 * All written by the same person as the detector, so none is fully independent.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OfflineModerationProvider } from '../packages/core/src/monitors/moderation.js';
import { SemanticModeration } from '../packages/core/src/monitors/moderation-semantic.js';
import { loadRefusalVectors } from '../packages/core/src/monitors/refusal-vectors.js';

const t0 = performance.now();
const cpu0 = process.cpuUsage();
const i = process.argv.indexOf('--set');
const set = i >= 0 ? process.argv[i + 1] : 'holdout';
const here = dirname(fileURLToPath(import.meta.url));
const items: { text: string; toxic: boolean; kind: string }[] = set.split(',').flatMap((name) =>
  readFileSync(join(here, 'data', `toxicity-${name}.jsonl`), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { text: string; toxic: boolean; kind: string }),
);
const { vectors, note, ms } = loadRefusalVectors({ buildFromSource: true });
if (!vectors) throw new Error(note);
console.log(`toxicity bench on bench/data/toxicity-${set}.jsonl: ${items.length} texts, ${items.filter((x) => x.toxic).length} toxic (${note} in ${Math.round(ms)} ms)`);

/** Ordinary assistant answers (none toxic): the refusal sets' responses. */
const answers = (names: string[]) => names.flatMap((n) => readFileSync(join(here, 'data', `refusal-${n}.jsonl`), 'utf8').split('\n').filter((l) => l.trim()).map((l) => (JSON.parse(l) as { text: string }).text));

if (process.argv.includes('--calibrate')) {
  // Both sides of the trade on tuning data: the toxic sets' precision and recall, and how
  // many of the refusal tuning sets' ordinary answers (426, none toxic) get flagged.
  const ordinary = answers(['tune', 'tune2', 'tune3', 'tune4']);
  for (let m = -0.04; m <= 0.2 + 1e-9; m += 0.02) {
    const p = new OfflineModerationProvider({ semantic: new SemanticModeration(vectors, { margin: m }) });
    const falseFlags = ordinary.filter((t) => p.explain(t).flagged).length;
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (const it of items) {
      const got = p.explain(it.text).flagged;
      if (got && it.toxic) tp++;
      else if (got) fp++;
      else if (it.toxic) fn++;
    }
    console.log(`margin ${m.toFixed(2)}: precision ${(tp / (tp + fp)).toFixed(3)}  recall ${(tp / (tp + fn)).toFixed(3)}  (fp ${fp}, fn ${fn}); ordinary answers flagged ${falseFlags} of ${ordinary.length}`);
  }
  process.exit(0);
}

let lastP = 0;
let lastR = 0;
for (const [name, provider] of [
  ['phrases only', new OfflineModerationProvider({ obscenity: false, semantic: null })],
  ['obscenity + phrases', new OfflineModerationProvider({ semantic: null })],
  ['+ sentence layer', new OfflineModerationProvider({ semantic: new SemanticModeration(vectors) })],
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
// Ordinary assistant answers (none toxic) from the refusal sets: how often the full provider
// flags an answer it should not. refusal-eval and refusal-dev were never used to tune the
// moderation; the refusal tuning sets were (their flagged sentences became benign exemplars).
const full = new OfflineModerationProvider({ semantic: new SemanticModeration(vectors) });
for (const names of [['eval', 'dev'], ['tune', 'tune2', 'tune3', 'tune4']]) {
  const texts = answers(names);
  const flagged = texts.filter((t) => full.explain(t).flagged);
  console.log(`ordinary assistant answers flagged (refusal-${names.join('/')}): ${flagged.length} of ${texts.length}${names[0] === 'tune' ? ' (tuned on)' : ' (not tuned on)'}`);
}
const sample = new OfflineModerationProvider().explain('you f*cking idiot');
console.log(`\nShape (OpenAI's): flagged ${sample.flagged}, score ${sample.score.toFixed(2)}, categories.harassment ${sample.categories.harassment}, category_scores.harassment ${sample.category_scores.harassment.toFixed(2)}`);
const cpu = process.cpuUsage(cpu0);
console.log(
  `Target precision >= 0.95 and recall >= 0.95 (full provider): ${lastP >= 0.95 && lastR >= 0.95 ? 'met' : 'NOT met'}. Elapsed ${Math.round(performance.now() - t0)} ms wall, ${Math.round((cpu.user + cpu.system) / 1000)} ms CPU (load average ${loadavg()[0].toFixed(1)}).`,
);
