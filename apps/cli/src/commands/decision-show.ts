import { getDecision, type DecisionRow } from '@driftwatch/core';
import { loadSettings, openDatabase } from '../runtime.js';
import { remoteDecisions, remoteFor } from '../remote.js';
import { parseCommand, positiveId, UsageError, type Io } from './table.js';

export const DECISION_SHOW_USAGE = `Usage: driftwatch decisions show ID [--json]

One decision in full: why it was taken, its state, and what its action recorded. For a
fine-tune: the training file kept, the examples in it, every exclusion (evaluation items,
duplicates, near-duplicates, too long) and redaction (emails, cards, ...), the cost
estimate and the final cost, and the evaluation gate's figures.`;

type Obj = Record<string, any>;
const pct = (x: unknown) => (typeof x === 'number' ? `${(x * 100).toFixed(1)}%` : '-');
const at = (t: Date | string | null | undefined) => (t ? new Date(t).toISOString().slice(0, 19) + 'Z' : '-');

/** A decision as readable lines. */
export function formatDecision(d: DecisionRow): string {
  const r = (d.result ?? {}) as Obj;
  const lines = [
    `decision ${d.id}: ${d.action} for ${d.model}, ${d.state}`,
    `  reason:    ${d.reason}`,
    `  window:    ${at(d.window_start)} .. ${at(d.window_end)}`,
    `  created:   ${at(d.created_at)}${d.decided_by ? `, decided by ${d.decided_by} at ${at(d.decided_at)}` : ''}`,
  ];
  if (typeof r.error === 'string') lines.push(`  error:     ${r.error}`);
  if (d.action === 'finetune') {
    if (r.version) lines.push(`  version:   ${r.version}${r.fine_tuned_model ? ` (${r.fine_tuned_model})` : ''}, ${r.outcome ?? r.status ?? '-'}`);
    if (r.training_file) lines.push(`  training file: ${r.training_file}`);
    if (r.training_examples !== undefined) lines.push(`  examples:  ${r.training_examples}${r.training_data ? ` of ${r.training_data.candidates} candidates` : ''}`);
    if (r.training_data) {
      const ex = Object.entries(r.training_data.excluded ?? {}).map(([k, n]) => `${k} ${n}`);
      const red = Object.entries(r.training_data.redactions ?? {}).map(([k, n]) => `${k} ${n}`);
      lines.push(`  excluded:  ${ex.join(', ') || 'none'}`);
      lines.push(`  redacted:  ${red.join(', ') || 'none'}`);
    }
    if (r.cost_estimate) {
      const c = r.cost_estimate;
      lines.push(`  cost:      estimate $${Number(c.usd).toFixed(4)} (${c.trained_tokens} tokens = ${c.file_tokens} x ${c.epochs} epochs at $${c.usd_per_1m_tokens}/1M, prices of ${c.prices_as_of}); final $${Number(r.cost_usd ?? 0).toFixed(4)}`);
    }
    const g = r.gate as Obj | undefined;
    if (g?.accuracy) {
      lines.push(`  gate:      ${g.outcome} on ${g.n} held-out items: challenger ${pct(g.accuracy.challenger)} vs champion ${pct(g.accuracy.champion)} (${g.champion_version ?? g.champion_model})`);
      lines.push(`             discordant ${g.accuracy.challenger_only} / ${g.accuracy.champion_only}, McNemar p=${Number(g.accuracy.p_value).toPrecision(3)}, margin ${pct(g.min_improvement)}, alpha ${g.gate_alpha}`);
      lines.push(`             refusals ${pct(g.refusal?.challenger)} vs ${pct(g.refusal?.champion)}, toxic ${pct(g.toxicity?.challenger)} vs ${pct(g.toxicity?.champion)}`);
    }
    if (r.reason && r.reason !== d.reason) lines.push(`  verdict:   ${r.reason}`);
  } else if (Object.keys(r).length) {
    lines.push(`  result:    ${JSON.stringify(r)}`);
  }
  return lines.join('\n');
}

/** `driftwatch decisions show ID [--json]`. */
export async function decisionShowCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand('decisions show', args, { json: { type: 'boolean' } }, true);
  const id = positiveId(positionals[0], 'decisions show');
  const s = loadSettings();
  let d: DecisionRow | null | undefined;
  const remote = remoteFor(s);
  if (remote) d = (await remoteDecisions(remote, { limit: 1000 })).find((x) => Number(x.id) === id);
  else {
    const database = await openDatabase(s);
    try {
      d = await getDecision(database.db, id);
    } finally {
      await database.close();
    }
  }
  if (!d) throw new UsageError(`decisions show: no decision ${id}; list them with \`driftwatch decisions\``);
  io.stdout((values.json ? JSON.stringify({ decision: d }, null, 2) : formatDecision(d)) + '\n');
  return 0;
}
