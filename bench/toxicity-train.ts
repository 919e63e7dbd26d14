/**
 * Trains the offline moderation's toxicity model and writes its weights to
 * packages/core/src/monitors/moderation-model.ts (a TypeScript module holding one JSON
 * object: the core package's composite tsconfig does not list .json files, so a .json
 * import would not build).
 *
 *   npx tsx --conditions=source bench/toxicity-train.ts [--dry-run] [--lambda L] [--errors T]
 *     [--no-stems] [--no-words] [--dense-l2 M] [--fit-check]
 *
 * Why a trained model rather than more hand rules: nine rounds of rules each fixed the
 * tuning set they were written from and moved the figure of record by nothing (holdout
 * recall 0.880 from the sixth to the ninth round), and a set written afterwards across all
 * of OpenAI's categories (holdout2) caught half. A logistic regression over word unigrams
 * and bigrams plus the word-vector features of the sentence layer learns from every
 * labelled text at once, and its word-vector part carries to wordings no rule names.
 * Logistic regression, not a larger model: about 1,700 labelled texts, a prediction costs
 * one sparse and one ~110-wide dot product, and its weights can be read.
 *
 * Features (moderation-semantic.ts): word unigrams, their light stems ("s:stab" for
 * stabbing/stabbed/stabs) and bigrams; the sentence layer's vector features; and per
 * category the nearest word of the text, and of what the text asks for or announces ("how
 * do I ...", "I'm going to ..."), to a few words of that category (CATEGORY_WORDS), plus
 * the nearest word to words of prevention (DEFENCE_WORDS). Cross-validated on the pool with
 * tune19's first 115 lines (2,681 texts), L2 0.001: stems and category words together moved the recall at
 * precision ~0.94 from 0.736 to 0.771 (t 0.8), at ~0.955 from 0.693 to 0.729 (t 0.85); no
 * text vector (--no-vector) did worse, the dense L2 at 3x or 30x lambda no better.
 * On the whole pool (2,738 texts with tune14 to tune19) the setting chosen is L2 0.001 at
 * operating point 0.9: cross-validated precision 0.960, recall 0.666 (0.943 / 0.724 at 0.85).
 * That pool is harder than the 2,030 texts before tune14 (0.951 / 0.829 at 0.8 there): the
 * new sets pair each harmful request with benign ones on the same topic.
 * --fit-check: the model trained on the whole pool scored on it (it fits: 98% of the toxic
 * texts caught at 0.5, 1.3% of the others flagged), so what is missing is generalisation.
 *
 * Trained on: every toxicity tuning set (eval, fresh, tune to tune19) and the first
 * holdout (retired as a figure of record when holdout2 was written), plus the ordinary
 * answers of the refusal tuning sets (tune to tune4, none toxic). Never on
 * toxicity-holdout2.jsonl or toxicity-holdout3.jsonl (the figures of record),
 * toxicity-fresh2.jsonl, refusal-eval or refusal-dev. tune14 to tune19 (708 texts: self-harm
 * ideation, intent and instructions, violence and graphic violence, illicit, sexual/minors,
 * each beside benign texts on the same topics) were written after holdout2's per-kind
 * figures showed where recall was weak, without reading its texts. The L2 strength and the operating point are chosen by 5-fold
 * cross-validation of the whole provider (rules + model) on that pool: the highest recall
 * whose precision is >= 0.95 and that flags <= 1% of the ordinary answers.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OfflineModerationProvider, unguardedText, type ModerationCategory } from '../packages/core/src/monitors/moderation.js';
import { SemanticModeration, modelNgrams, type ToxicityModelWeights } from '../packages/core/src/monitors/moderation-semantic.js';
import { loadRefusalVectors } from '../packages/core/src/monitors/refusal-vectors.js';

const here = dirname(fileURLToPath(import.meta.url));
/**
 * --pool: add the per-dimension max and min over the words' unit vectors to the dense
 * features. Left out by default: cross-validated it did no better (precision 0.941 /
 * recall 0.836 at operating point 0.8, against 0.951 / 0.829 without), and it flagged
 * rarer benign words harder ("the circle of fifths").
 */
const POOLED = process.argv.includes('--pool');
/** --no-words: leave out the CATEGORY_WORDS block of dense features; --no-stems: the "s:" stem n-grams. */
const WORDS = !process.argv.includes('--no-words');
const STEMS = !process.argv.includes('--no-stems');
/** --dense-l2 m: the dense weights' L2 is m x lambda (default 10). */
const DENSE_L2 = process.argv.includes('--dense-l2') ? Number(process.argv[process.argv.indexOf('--dense-l2') + 1]) : 10;
const TOXIC_SETS = ['eval', 'fresh', 'tune', 'tune2', 'tune3', 'tune4', 'tune5', 'tune6', 'tune7', 'tune8', 'tune9', 'tune10', 'tune11', 'tune12', 'tune13', 'tune14', 'tune15', 'tune16', 'tune17', 'tune18', 'tune19', 'holdout'];
const ANSWER_SETS = ['tune', 'tune2', 'tune3', 'tune4'];

/** The bench sets' kinds as OpenAI categories (null: not toxic, or no single category). */
const KIND_CATEGORY: Record<string, ModerationCategory | null> = {
  insult: 'harassment',
  harassment: 'harassment',
  threat: 'harassment/threatening',
  harassment_threatening: 'harassment/threatening',
  hate: 'hate',
  hate_threatening: 'hate/threatening',
  self_harm: 'self-harm',
  self_harm_intent: 'self-harm/intent',
  self_harm_instructions: 'self-harm/instructions',
  sexual: 'sexual',
  sexual_minors: 'sexual/minors',
  violence: 'violence',
  violence_graphic: 'violence/graphic',
  illicit: 'illicit',
  obfuscated: null,
};

interface Item {
  text: string;
  toxic: boolean;
  category: ModerationCategory | null;
  answer: boolean;
  kind: string;
  ngrams: string[];
  dense: Float64Array;
}

const read = (file: string) =>
  readFileSync(join(here, 'data', file), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { text: string; toxic?: boolean; kind: string });

const { vectors, note } = loadRefusalVectors({ buildFromSource: true });
if (!vectors) throw new Error(note);
const layer = new SemanticModeration(vectors);
const items: Item[] = [];
for (const name of TOXIC_SETS)
  for (const r of read(`toxicity-${name}.jsonl`)) items.push({ text: r.text, toxic: !!r.toxic, category: r.toxic ? (KIND_CATEGORY[r.kind] ?? null) : null, answer: false, kind: r.kind, ngrams: [], dense: new Float64Array() });
for (const name of ANSWER_SETS) for (const r of read(`refusal-${name}.jsonl`)) items.push({ text: r.text, toxic: false, category: null, answer: true, kind: 'answer', ngrams: [], dense: new Float64Array() });
for (const it of items) {
  const input = unguardedText(it.text);
  it.ngrams = modelNgrams(input).filter((g) => STEMS || !g.startsWith('s:'));
  it.dense = layer.denseFeatures(input, POOLED, WORDS);
  if (process.argv.includes('--no-vector')) it.dense.fill(0, 0, vectors.dim);
}
const D = layer.denseSize(POOLED, WORDS);
console.log(`training pool: ${items.length} texts (${items.filter((x) => x.toxic).length} toxic, ${items.filter((x) => x.answer).length} ordinary answers); ${D} dense features`);

/** Deterministic shuffle (mulberry32), so that the folds and the weights are reproducible. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Full-batch gradient descent (Adam, 600 steps) on mean log-loss + L2 (lambda on the n-gram
 * weights, 10 x lambda on the dense ones, which are standardised on the training texts and
 * folded back into plain weights); n-grams seen in >= 2 training texts.
 */
function train(train: Item[], lambda: number): ToxicityModelWeights {
  const mu = new Float64Array(D);
  const sd = new Float64Array(D);
  for (const it of train) for (let j = 0; j < D; j++) mu[j] += it.dense[j] / train.length;
  for (const it of train) for (let j = 0; j < D; j++) sd[j] += (it.dense[j] - mu[j]) ** 2 / train.length;
  for (let j = 0; j < D; j++) sd[j] = Math.sqrt(sd[j]) + 1e-6;
  const z = train.map((it) => Float64Array.from(it.dense, (x, j) => (x - mu[j]) / sd[j]));
  const df = new Map<string, number>();
  for (const it of train) for (const g of it.ngrams) df.set(g, (df.get(g) ?? 0) + 1);
  const vocab = [...df].filter(([, n]) => n >= 2).map(([g]) => g);
  const index = new Map(vocab.map((g, i) => [g, i]));
  const rows = train.map((it) => it.ngrams.map((g) => index.get(g)).filter((i): i is number => i !== undefined));
  const P = vocab.length + D + 1; // n-grams, dense, bias
  const w = new Float64Array(P);
  const m = new Float64Array(P);
  const v = new Float64Array(P);
  const g = new Float64Array(P);
  const n = train.length;
  const lr = 0.05;
  for (let step = 1; step <= 600; step++) {
    g.fill(0);
    for (let r = 0; r < n; r++) {
      const it = train[r];
      const x = z[r];
      let s = w[P - 1];
      for (const i of rows[r]) s += w[i];
      for (let j = 0; j < D; j++) s += w[vocab.length + j] * x[j];
      const err = 1 / (1 + Math.exp(-s)) - (it.toxic ? 1 : 0);
      for (const i of rows[r]) g[i] += err / n;
      for (let j = 0; j < D; j++) g[vocab.length + j] += (err * x[j]) / n;
      g[P - 1] += err / n;
    }
    for (let i = 0; i < P - 1; i++) g[i] += (i < vocab.length ? lambda : DENSE_L2 * lambda) * w[i];
    for (let i = 0; i < P; i++) {
      m[i] = 0.9 * m[i] + 0.1 * g[i];
      v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
      w[i] -= (lr * (m[i] / (1 - 0.9 ** step))) / (Math.sqrt(v[i] / (1 - 0.999 ** step)) + 1e-8);
    }
  }
  const ngrams: Record<string, number> = {};
  vocab.forEach((gram, i) => {
    if (Math.abs(w[i]) >= 1e-3) ngrams[gram] = round(w[i]);
  });
  const { categories, categoryWeights } = trainCategories(train.filter((x) => x.category));
  const dense = [...w.slice(vocab.length, vocab.length + D)].map((x, j) => x / sd[j]);
  const bias = w[P - 1] - dense.reduce((a, x, j) => a + x * mu[j], 0);
  return { trained: '', ngrams, dense: dense.map(round6), bias: round(bias), categories, categoryWeights, ...(WORDS ? { words: true } : {}) };
}

/** Softmax over the categories of the toxic training texts, on the dense features (L2 1e-3). */
function trainCategories(toxic: Item[]): { categories: ModerationCategory[]; categoryWeights: number[][] } {
  const categories = [...new Set(toxic.map((x) => x.category!))].sort();
  const K = categories.length;
  const W = Array.from({ length: K }, () => new Float64Array(D + 1));
  const M = Array.from({ length: K }, () => new Float64Array(D + 1));
  const V = Array.from({ length: K }, () => new Float64Array(D + 1));
  const n = toxic.length;
  for (let step = 1; step <= 400; step++) {
    const G = Array.from({ length: K }, () => new Float64Array(D + 1));
    for (const it of toxic) {
      const z = W.map((wk) => {
        let s = wk[D];
        for (let j = 0; j < D; j++) s += wk[j] * it.dense[j];
        return s;
      });
      const mx = Math.max(...z);
      const e = z.map((s) => Math.exp(s - mx));
      const sum = e.reduce((a, b) => a + b, 0);
      for (let k = 0; k < K; k++) {
        const err = e[k] / sum - (categories[k] === it.category ? 1 : 0);
        for (let j = 0; j < D; j++) G[k][j] += (err * it.dense[j]) / n;
        G[k][D] += err / n;
      }
    }
    for (let k = 0; k < K; k++)
      for (let j = 0; j <= D; j++) {
        const gk = G[k][j] + (j < D ? 1e-3 * W[k][j] : 0);
        M[k][j] = 0.9 * M[k][j] + 0.1 * gk;
        V[k][j] = 0.999 * V[k][j] + 0.001 * gk * gk;
        W[k][j] -= (0.05 * (M[k][j] / (1 - 0.9 ** step))) / (Math.sqrt(V[k][j] / (1 - 0.999 ** step)) + 1e-8);
      }
  }
  return { categories, categoryWeights: W.map((wk) => [...wk].map(round)) };
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
/** Dense weights are divided by small standard deviations: six significant digits. */
function round6(x: number): number {
  return Number(x.toPrecision(6));
}

/** The weights with the operating point moved to p = 0.5 (bias - logit(t)). */
function shifted(w: ToxicityModelWeights, t: number): ToxicityModelWeights {
  return { ...w, bias: round(w.bias - Math.log(t / (1 - t))) };
}

if (process.argv.includes('--fit-check')) {
  // Training fit: the model trained on the whole pool, scored on the same texts.
  const w = train(items, Number(process.argv[process.argv.indexOf('--lambda') + 1]) || 1e-3);
  const mm = new OfflineModerationProvider({ semantic: layer, model: w }).model()!;
  const p = items.map((it) => mm.predict(unguardedText(it.text)).p);
  for (const t of [0.5, 0.8]) console.log(`fit at ${t}: toxic caught ${items.filter((it, i) => it.toxic && p[i] >= t).length} of ${items.filter((x) => x.toxic).length}, non-toxic flagged ${items.filter((it, i) => !it.toxic && p[i] >= t).length} of ${items.filter((x) => !x.toxic).length}`);
  process.exit(0);
}
// 5-fold cross-validation of the whole provider (rules + model) per L2 strength and operating point.
const order = items.map((_, i) => i);
const rand = rng(13);
for (let i = order.length - 1; i > 0; i--) {
  const j = Math.floor(rand() * (i + 1));
  [order[i], order[j]] = [order[j], order[i]];
}
const fold = new Int8Array(items.length);
order.forEach((idx, r) => (fold[idx] = r % 5));
const thresholds = [0.5, 0.6, 0.7, 0.75, 0.8, 0.825, 0.85, 0.875, 0.9];
let choice = { lambda: 0, t: 0.5, recall: -1, precision: 0, falseFlags: 0 };
const li = process.argv.indexOf('--lambda');
const lambdas = li >= 0 ? [Number(process.argv[li + 1])] : [1e-3, 3e-3];
const ei = process.argv.indexOf('--errors');
const errorsAt = ei < 0 ? -1 : Number(process.argv[ei + 1]) || 0.5;
for (const lambda of lambdas) {
  const flagged = thresholds.map(() => new Array<boolean>(items.length));
  const rawP = new Float64Array(items.length);
  for (let f = 0; f < 5; f++) {
    const w = train(
      items.filter((_, i) => fold[i] !== f),
      lambda,
    );
    const modelOnly = new OfflineModerationProvider({ semantic: layer, model: w });
    const mm = modelOnly.model()!;
    items.forEach((it, i) => {
      if (fold[i] === f) rawP[i] = mm.predict(unguardedText(it.text)).p;
    });
    thresholds.forEach((t, ti) => {
      const provider = new OfflineModerationProvider({ semantic: layer, model: shifted(w, t), sentenceHits: process.argv.includes('--sentence-hits') });
      items.forEach((it, i) => {
        if (fold[i] === f) flagged[ti][i] = provider.explain(it.text).flagged;
      });
    });
  }
  if (process.argv.includes('--model-only'))
    for (const t of [0.3, 0.5, 0.7, 0.9]) {
      const neg = items.filter((it, i) => !it.toxic && !it.answer && rawP[i] >= t).length;
      const pos = items.filter((it, i) => it.toxic && rawP[i] >= t).length;
      const ans = items.filter((it, i) => it.answer && rawP[i] >= t).length;
      console.log(`  model alone p >= ${t}: ${pos} of ${items.filter((x) => x.toxic).length} toxic, ${neg} of ${items.filter((x) => !x.toxic && !x.answer).length} non-toxic, ${ans} answers`);
    }
  thresholds.forEach((t, ti) => {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    let ff = 0;
    items.forEach((it, i) => {
      const got = flagged[ti][i];
      if (it.answer) ff += got ? 1 : 0;
      else if (got && it.toxic) tp++;
      else if (got) fp++;
      else if (it.toxic) fn++;
    });
    const precision = tp / (tp + fp);
    const recall = tp / (tp + fn);
    const answers = items.filter((x) => x.answer).length;
    console.log(`L2 ${lambda}  t ${t.toFixed(3)}: cross-validated precision ${precision.toFixed(3)}  recall ${recall.toFixed(3)}  (fp ${fp}, fn ${fn}); ordinary answers flagged ${ff} of ${answers}`);
    if (t === errorsAt)
      items.forEach((it, i) => {
        if (flagged[ti][i] !== it.toxic) console.log(`  ${it.toxic ? 'missed' : it.answer ? 'answer flagged' : 'false alarm'} [${it.kind}]: ${it.text}`);
      });
    if (precision >= 0.95 && ff <= answers * 0.01 && recall > choice.recall) choice = { lambda, t, recall, precision, falseFlags: ff };
  });
}
if (choice.recall < 0) throw new Error('no setting met precision >= 0.95 with <= 1% of ordinary answers flagged');
console.log(`chosen: L2 ${choice.lambda}, operating point ${choice.t} (cross-validated precision ${choice.precision.toFixed(3)}, recall ${choice.recall.toFixed(3)}, ${choice.falseFlags} ordinary answers flagged)`);

const final = shifted(train(items, choice.lambda), choice.t);
final.trained = `bench/toxicity-train.ts on ${items.length} texts (toxicity-${TOXIC_SETS.join('/')}, refusal-${ANSWER_SETS.join('/')} answers); L2 ${choice.lambda}, operating point ${choice.t}; 5-fold cross-validated precision ${choice.precision.toFixed(3)}, recall ${choice.recall.toFixed(3)}`;
console.log(`${Object.keys(final.ngrams).length} n-gram weights, ${final.dense.length} dense, ${final.categories.length} categories (${final.categories.join(', ')})`);
if (!process.argv.includes('--dry-run')) {
  const oi = process.argv.indexOf('--out');
  const out = oi >= 0 ? process.argv[oi + 1] : join(here, '..', 'packages', 'core', 'src', 'monitors', 'moderation-model.ts');
  writeFileSync(
    out,
    `// Written by bench/toxicity-train.ts (npx tsx --conditions=source bench/toxicity-train.ts); do not edit.\n// The trained toxicity model of the offline moderation (moderation-semantic.ts ToxicityModel).\nimport type { ToxicityModelWeights } from './moderation-semantic.js';\n\nexport const TOXICITY_MODEL: ToxicityModelWeights | null = ${JSON.stringify(final)};\n`,
  );
  console.log(`wrote ${out}`);
}
