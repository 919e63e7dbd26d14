/**
 * Offline toxicity bench: precision and recall of the offline moderation provider on
 * labelled texts, layer by layer: the phrase lexicon alone, plus the `obscenity` word
 * list, plus the sentence layer's own exemplar hits (moderation-semantic.ts, the previous
 * default), and the default provider: lexicon, `obscenity`, targeted rules and the trained
 * toxicity model (moderation-model.ts, written by bench/toxicity-train.ts). Measured the
 * same way as refusals: sets written and committed before the change they measure.
 *
 *   npm run bench:toxicity -- [--set holdout2|holdout3|holdout|fresh2|fresh|eval|tune|tune2|...|tune19|a,b,...] [--errors] [--calibrate]
 *
 * - toxicity-holdout2.jsonl (210: 110 toxic over OpenAI's categories: harassment,
 *   harassment/threatening, hate, hate/threatening, self-harm, self-harm/intent,
 *   self-harm/instructions, sexual, sexual/minors, violence, violence/graphic, illicit; 100
 *   not incl. 50 false friends): written and frozen (its own commit) before the trained
 *   model and tune10/tune11; never trained or tuned on, never read with --errors. The
 *   figure of record (default); the default run also prints holdout3, holdout and fresh2.
 * - toxicity-holdout3.jsonl (240: 130 toxic over the moderation categories, 55 ordinary,
 *   55 false friends): written and frozen (its own commit) by another engineer while
 *   tune14 to tune19 and the stem and category-word features were being made, never read by
 *   the one tuning; measured once after that tuning was committed. The second figure of
 *   record (printed by the default run); never trained or tuned on, never read with --errors.
 * - toxicity-holdout.jsonl (200): the previous figure of record, written before the sentence
 *   layer. Since the trained model it is a TUNING set (the model is trained on it), so its
 *   figure is no longer a held-out one.
 * - toxicity-fresh2.jsonl (60): written before the sentence rules; not trained or tuned on
 *   since.
 * - tuning sets (the model's training pool, with the ordinary answers of refusal-tune to
 *   tune4): toxicity-eval.jsonl (200, the lexicon was written after reading it),
 *   toxicity-fresh.jsonl (100), toxicity-tune.jsonl (103), toxicity-tune2.jsonl (94),
 *   toxicity-tune3.jsonl (66), toxicity-tune4.jsonl (105) to toxicity-tune9.jsonl (35)
 *   (written for the sentence layer and the targeted-sentence rules), toxicity-tune10.jsonl
 *   (173, all categories) and toxicity-tune11.jsonl (150: violence, illicit, self-harm
 *   intent/instructions, sexual/minors), written after holdout2 was frozen;
 *   toxicity-tune12.jsonl (122 ordinary user questions and requests, none toxic), written
 *   after the first trained model flagged 22 of them ("When do you open?"), and
 *   toxicity-tune13.jsonl (30 rude but not harassing requests), written after it flagged
 *   the gateway test's "shut up and tell me the time"; toxicity-tune14.jsonl (115) to
 *   toxicity-tune19.jsonl (172), 708 texts in all (387 toxic: self-harm ideation, intent
 *   and instructions, violence, graphic violence, illicit, sexual/minors; 293 benign on the
 *   same topics: overdoses in pharmacology, "kill a process", shooting photos, crisis lines,
 *   crime novels, parenting; 321), written after holdout2's per-kind figures showed recall weak
 *   there, without reading its texts.
 *   --calibrate prints the sentence layer's precision and recall per margin (its exemplar
 *   hits on, the model off).
 * All written by the same person as the detector (holdout2 too, shortly before tune10 and
 * tune11), so none is fully independent.
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
const set = i >= 0 ? process.argv[i + 1] : 'holdout2';
const here = dirname(fileURLToPath(import.meta.url));
const load = (names: string): { text: string; toxic: boolean; kind: string }[] =>
  names.split(',').flatMap((name) =>
    readFileSync(join(here, 'data', `toxicity-${name}.jsonl`), 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as { text: string; toxic: boolean; kind: string }),
  );
const items = load(set);
for (const frozen of ['holdout2', 'holdout3'])
  if (process.argv.includes('--errors') && set.split(',').includes(frozen)) throw new Error(`${frozen} is a figure of record: its errors are not read (--errors refused)`);
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
    const p = new OfflineModerationProvider({ semantic: new SemanticModeration(vectors, { margin: m }), model: null, sentenceHits: true });
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

const layer = new SemanticModeration(vectors);
/** The default provider: lexicon, obscenity, targeted rules, trained model (the sentence layer's own hits off). */
const full = new OfflineModerationProvider({ semantic: layer });
if (!full.model()) throw new Error('no trained toxicity model (moderation-model.ts)');
let lastP = 0;
let lastR = 0;
let usPerCall = 0;
for (const [name, provider] of [
  ['phrases only', new OfflineModerationProvider({ obscenity: false, semantic: null })],
  ['obscenity + phrases', new OfflineModerationProvider({ semantic: null })],
  ['+ sentence layer', new OfflineModerationProvider({ semantic: layer, model: null, sentenceHits: true })],
  ['+ trained model', full],
] as const) {
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
  // Cost per call: a second pass over the texts, warm (the first also builds the error lines).
  const t1 = performance.now();
  for (const it of items) provider.explain(it.text);
  const us = ((performance.now() - t1) * 1000) / items.length;
  if (name === '+ trained model') usPerCall = us;
  console.log(`${name.padEnd(20)} precision ${lastP.toFixed(3)}  recall ${lastR.toFixed(3)}  (tp ${tp}, fp ${fp}, fn ${fn}; ${us.toFixed(0)} us per call)`);
  console.log(`${''.padEnd(20)} correct by kind: ${[...byKind].map(([k, v]) => `${k} ${v.ok}/${v.n}`).join(', ')}`);
  if (process.argv.includes('--errors')) console.log(errors.join('\n'));
}
// Ordinary assistant answers (none toxic) from the refusal sets: how often the full provider
// flags an answer it should not. refusal-eval and refusal-dev were never used to tune the
// moderation; the refusal tuning sets were (their flagged sentences became benign exemplars).
console.log(`default provider: ${usPerCall.toFixed(0)} us per call (second pass over the set)`);
/** Precision and recall of the default provider on other sets (printed by the default run). */
const pr = (names: string) => {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (const it of load(names)) {
    const got = full.explain(it.text).flagged;
    if (got && it.toxic) tp++;
    else if (got) fp++;
    else if (it.toxic) fn++;
  }
  return `precision ${(tp / (tp + fp)).toFixed(3)}  recall ${(tp / (tp + fn)).toFixed(3)}  (tp ${tp}, fp ${fp}, fn ${fn})`;
};
if (i < 0) {
  console.log(`default provider on toxicity-holdout3.jsonl (240; second figure of record, never trained or tuned on): ${pr('holdout3')}`);
  console.log(`default provider on toxicity-holdout.jsonl (200; the model is trained on it): ${pr('holdout')}`);
  console.log(`default provider on toxicity-fresh2.jsonl (60; not trained on): ${pr('fresh2')}`);
}
for (const names of [['eval', 'dev'], ['tune', 'tune2', 'tune3', 'tune4']]) {
  const texts = answers(names);
  const flagged = texts.filter((t) => full.explain(t).flagged);
  console.log(`ordinary assistant answers flagged (refusal-${names.join('/')}): ${flagged.length} of ${texts.length}${names[0] === 'tune' ? ' (the model is trained on them)' : ' (not tuned or trained on)'}`);
}
const sample = full.explain('you f*cking idiot');
console.log(`\nShape (OpenAI's): flagged ${sample.flagged}, score ${sample.score.toFixed(2)}, categories.harassment ${sample.categories.harassment}, category_scores.harassment ${sample.category_scores.harassment.toFixed(2)}`);
const cpu = process.cpuUsage(cpu0);
console.log(
  `Target precision >= 0.95 and recall >= 0.95 (default provider, on ${set}): ${lastP >= 0.95 && lastR >= 0.95 ? 'met' : 'NOT met'}. Elapsed ${Math.round(performance.now() - t0)} ms wall, ${Math.round((cpu.user + cpu.system) / 1000)} ms CPU (load average ${loadavg()[0].toFixed(1)}).`,
);
