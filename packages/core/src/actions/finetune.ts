import { randomBytes } from 'node:crypto';
import type { Queryable } from '../db/types.js';
import { PermanentError, WaitForExternalError } from '../errors.js';
import { getModelVersion, getPromotedVersion, promoteModelVersion, reserveModelVersion, updateModelVersion } from '../db/repo/models.js';
import { recordDecisionProgress } from '../db/repo/progress.js';
import { apiCostUsdTotal } from '../metrics/registry.js';
import { modelEvalAccuracy } from '../metrics/retraining.js';
import { notifyAwaitingApproval, notifyGateVerdict } from '../notifications/emit.js';
import { FINE_TUNE_TRAINING_PRICES, PRICES_AS_OF, baseModelName, fineTuneCost } from '../providers/prices.js';
import { askModel, holdoutItems, judge } from './evaluation.js';
import { buildTrainingData, describeExclusions, type TrainingDataReport } from './training-data.js';
import type { ActionRunner } from './types.js';

/** What the fine-tune action records on its decision while it runs (decisions.result). */
interface FinetuneProgress {
  status?: string;
  /** Idempotency key of the provider job's start, recorded before start() is called. */
  start_key?: string;
  job_id?: string;
  file_id?: string;
  version?: string;
  model_version_id?: number;
  provider?: string;
  base_model?: string;
  training_examples?: number;
  job_status?: string;
  polls?: number;
  fine_tuned_model?: string;
  trained_tokens?: number | null;
  cost_usd?: number;
  cost_recorded?: boolean;
  /** Where the uploaded training file is kept (offline: a path under DRIFTWATCH_DATA_DIR; OpenAI: its file id). */
  training_file?: string;
  /** What the dataset builder kept, excluded and redacted. */
  training_data?: Omit<TrainingDataReport, 'examples'>;
  cost_estimate?: CostEstimate;
  /** When the cost guard asked for approval (an approval after it lets the fine-tune go on). */
  cost_approval_requested_at?: string;
}

/** The cost guard's estimate: tokens in the file x epochs x the dated price per 1M trained tokens. */
export interface CostEstimate {
  usd: number;
  file_tokens: number;
  epochs: number;
  trained_tokens: number;
  usd_per_1m_tokens: number;
  prices_as_of: string;
  provider: string;
  base_model: string;
}

export function estimateFineTuneCost(provider: string, baseModel: string, fileTokens: number, epochs: number): CostEstimate {
  // The offline provider trains on this machine: free.
  const price = provider === 'offline' ? 0 : (FINE_TUNE_TRAINING_PRICES[baseModelName(baseModel)] ?? 0);
  const trained = fileTokens * epochs;
  return {
    usd: provider === 'offline' ? 0 : fineTuneCost(baseModel, trained),
    file_tokens: fileTokens,
    epochs,
    trained_tokens: trained,
    usd_per_1m_tokens: price,
    prices_as_of: PRICES_AS_OF,
    provider,
    base_model: baseModel,
  };
}

/** An OpenAI fine-tune suffix: letters, digits and '-', at most 40 characters here (OpenAI allows 64). */
function suffixFor(model: string, version: string): string {
  const m = model.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  return `${m.slice(0, 40 - version.length - 1)}-${version}`;
}

/**
 * Fine-tune the model (accuracy or behaviour drift), in four steps that survive a
 * crash or a retry at any point:
 *
 * 1. Training data (training-data.ts): the window's interactions rated >=
 *    actions.finetune.min_feedback, clean, deduplicated, scrubbed, without any
 *    evaluation question; fewer than actions.finetune.min_examples is a permanent
 *    failure with the counts. Cost guard: tokens x epochs x the dated price; above
 *    actions.finetune.max_cost_usd the decision goes back to awaiting_approval with
 *    the estimate in its reason, and carries on once approved.
 * 2. Start the provider's job ONCE: a model_versions row (status training) under
 *    the next free version name and an idempotency key are recorded before start(),
 *    the job and file ids right after it returns. A retry finds the
 *    ids and polls the same job; a retry after a start whose outcome is unknown (a
 *    crash in between, a lost response) looks the job up by its key (findJob) before
 *    starting another.
 * 3. Poll: while the job runs the action throws WaitForExternalError, so the queue
 *    job waits in delayed for deployment.queues.finetune.poll_interval_ms holding no
 *    worker slot; a failed or cancelled job marks the version failed and fails the
 *    decision; success makes the version a candidate and books the training cost
 *    to api_cost_usd_total{operation="fine_tune"}.
 * 4. Evaluation gate (evaluation.ts): the challenger against the champion (the
 *    promoted version, or the base model) on held-out items, exact McNemar test and
 *    margin; promoted (previous version retired), rejected, or held (stays a
 *    candidate); every figure recorded on the version (details.gate) and exported as
 *    model_eval_accuracy{model,version,role}.
 *
 * The result's `outcome` (promoted, rejected, held) is the outcome label of
 * retrain_events_total, counted by the action processor.
 */
export const finetune: ActionRunner = async (ctx, decision) => {
  const ft = ctx.providers.finetune;
  if (!ft) throw new PermanentError('no fine-tune provider is configured; set OPENAI_API_KEY, or run with the offline providers');
  const a = ctx.config.actions;
  const modelCfg = ctx.config.models.find((m) => m.name === decision.model);
  const baseModel = modelCfg?.base_model ?? 'gpt-4o-mini-2024-07-18';
  let p = { ...(decision.result ?? {}) } as FinetuneProgress;
  const save = async (patch: FinetuneProgress) => {
    p = { ...p, ...patch };
    await recordDecisionProgress(ctx.db, decision.id, patch as Record<string, unknown>);
  };

  // Step 1 and 2: training data, then start the job exactly once.
  if (!p.job_id) {
    // A start whose outcome is unknown (a crash right after it, a lost response) left its key: find that job before starting another.
    let started = p.start_key && ft.findJob ? await ft.findJob(p.start_key) : null;
    if (started) ctx.logger.info({ decision: decision.id, job: started.job_id }, 'fine-tune job of an earlier attempt found; resuming it');
    if (!started) {
      const f = a.finetune;
      const minFeedback = f.min_feedback ?? a.min_feedback_score;
      const data = await buildTrainingData(ctx.db, {
        model: decision.model,
        since: decision.window_start,
        before: decision.window_end,
        minFeedback,
        limit: a.training_limit,
        minExamples: f.min_examples,
        nearDuplicateJaccard: f.near_duplicate_jaccard,
        maxExampleTokens: f.max_example_tokens,
        privacy: ctx.config.privacy,
      });
      const examples = data.examples;
      const { examples: _n, ...report } = data.report;
      await save({ training_examples: examples.length, training_data: report });
      if (examples.length < f.min_examples) {
        throw new PermanentError(
          `only ${examples.length} usable training examples of ${decision.model} (rated >= ${minFeedback}, no error or moderation flag, in the decision's window; ${data.report.candidates} candidates, ${describeExclusions(data.report)}); a fine-tune needs at least ${f.min_examples}. Collect more feedback or lower actions.finetune.min_feedback`,
        );
      }
      // The cost guard, before anything is uploaded.
      const estimate = estimateFineTuneCost(ft.name, baseModel, data.report.tokens, f.epochs);
      await save({ cost_estimate: estimate });
      const approvedAfterAsking = p.cost_approval_requested_at && decision.decided_at && new Date(decision.decided_at) > new Date(p.cost_approval_requested_at);
      if (estimate.usd > f.max_cost_usd && !approvedAfterAsking) {
        const why = `fine-tune cost estimate $${estimate.usd.toFixed(2)} (${estimate.trained_tokens} trained tokens = ${estimate.file_tokens} x ${estimate.epochs} epochs at $${estimate.usd_per_1m_tokens}/1M, prices of ${estimate.prices_as_of}) exceeds actions.finetune.max_cost_usd $${f.max_cost_usd}; approve with \`driftwatch approve ${decision.id}\` to go on`;
        const asked = new Date().toISOString();
        p = { ...p, cost_approval_requested_at: asked, status: 'awaiting_approval' };
        await parkForApproval(ctx.db, decision.id, why, p as Record<string, unknown>);
        ctx.logger.info({ decision: decision.id, estimate: estimate.usd }, 'fine-tune waits for approval of its cost');
        await notifyAwaitingApproval(ctx, { ...decision, reason: `${decision.reason} | waiting for approval: ${why}` });
        return { ...p, awaiting_approval: true, reason: why };
      }
      if (!p.start_key || !p.version) {
        // Reserve the version (status training) and the idempotency key before anything is started.
        const start_key = `dw-${decision.id}-${randomBytes(6).toString('hex')}`;
        const row = await reserveModelVersion(ctx.db, { model: decision.model, provider: ft.name, base_model: baseModel, status: 'training', decision_id: decision.id, details: { start_key } });
        await save({ status: 'starting', start_key, version: row.version, model_version_id: row.id, provider: ft.name, base_model: baseModel });
      }
      try {
        started = await ft.start({ model: decision.model, base_model: baseModel, examples, suffix: suffixFor(decision.model, p.version!), idempotency_key: p.start_key });
      } catch (e) {
        if (e instanceof PermanentError) await updateModelVersion(ctx.db, p.model_version_id!, { status: 'failed', details: { error: e.message } });
        throw e;
      }
    }
    const training_file = started.training_file ?? `${ft.name} file ${started.file_id}`;
    await updateModelVersion(ctx.db, p.model_version_id!, { details: { job_id: started.job_id, file_id: started.file_id, training_file, training_examples: p.training_examples } });
    await save({ status: 'training', job_id: started.job_id, file_id: started.file_id, training_file, polls: 0 });
    ctx.logger.info({ decision: decision.id, job: started.job_id, version: p.version, examples: p.training_examples }, 'fine-tune started');
  }

  const mv = await getModelVersion(ctx.db, decision.model, p.version!);
  if (!mv) throw new PermanentError(`model version ${p.version} of ${decision.model} recorded by decision ${decision.id} is missing from model_versions`);

  // Step 3: poll until the job finishes.
  if (mv.status === 'training') {
    const st = await ft.status(p.job_id!);
    const polls = (p.polls ?? 0) + 1;
    if (st.status === 'validating_files' || st.status === 'queued' || st.status === 'running') {
      await save({ job_status: st.status, polls });
      throw new WaitForExternalError(`fine-tune job ${p.job_id} is ${st.status}`, ctx.deployment.queues.finetune.poll_interval_ms);
    }
    if (st.status !== 'succeeded' || !st.fine_tuned_model) {
      const error = st.error ?? (st.status === 'succeeded' ? 'the job succeeded without naming a model' : st.status);
      await updateModelVersion(ctx.db, mv.id, { status: 'failed', details: { error, job_status: st.status } });
      await save({ job_status: st.status, polls, status: 'failed' });
      throw new PermanentError(`fine-tune job ${p.job_id} of ${decision.model} ${st.status}: ${error}`);
    }
    // Progress first, then the cost, then the version: a crash in between neither loses the model nor books the cost twice.
    const first = !p.cost_recorded;
    await save({ job_status: 'succeeded', polls, status: 'evaluating', fine_tuned_model: st.fine_tuned_model, trained_tokens: st.trained_tokens, cost_usd: st.cost_usd, cost_recorded: true });
    if (first && st.cost_usd > 0) apiCostUsdTotal.inc({ provider: ft.name, operation: 'fine_tune' }, st.cost_usd);
    await updateModelVersion(ctx.db, mv.id, { status: 'candidate', provider_model_id: st.fine_tuned_model, details: { trained_tokens: st.trained_tokens, cost_usd: st.cost_usd } });
  }

  const base = {
    job_id: p.job_id,
    start_key: p.start_key,
    file_id: p.file_id,
    version: p.version,
    provider: p.provider,
    base_model: p.base_model,
    fine_tuned_model: p.fine_tuned_model,
    training_examples: p.training_examples,
    trained_tokens: p.trained_tokens ?? null,
    polls: p.polls,
    cost_usd: p.cost_usd ?? 0,
    cost_estimate: p.cost_estimate,
    training_file: p.training_file,
    training_data: p.training_data,
  };

  // Step 4: the evaluation gate (once: a version already judged keeps its verdict).
  const cur = (await getModelVersion(ctx.db, decision.model, p.version!))!;
  const stored = cur.details.gate as { outcome?: string; reason?: string } | undefined;
  if (cur.status !== 'candidate' || stored?.outcome === 'held') {
    const outcome = stored?.outcome ?? cur.status;
    return { ...base, status: outcome, outcome, candidate_accuracy: cur.eval_accuracy, incumbent_accuracy: cur.baseline_accuracy, gate: cur.details.gate };
  }
  const f = a.finetune;
  if (!ctx.providers.answers) {
    const why = 'no answer provider to evaluate with; the version stays a candidate';
    await updateModelVersion(ctx.db, cur.id, { details: { gate: { outcome: 'held', reason: why } } });
    return { ...base, status: 'held', outcome: 'held', reason: why };
  }
  const items = await holdoutItems(ctx.db, decision.model, { since: decision.window_start, share: f.holdout_share });
  const championRow = await getPromotedVersion(ctx.db, decision.model);
  const championModel = championRow?.provider_model_id ?? baseModel;
  const challengerModel = (p.fine_tuned_model ?? cur.provider_model_id)!;
  const challenger = await askModel(ctx.providers.answers, ctx.providers.moderation, challengerModel, items);
  let champion;
  let championNote: string | null = null;
  try {
    champion = await askModel(ctx.providers.answers, ctx.providers.moderation, championModel, items);
  } catch (e) {
    // The promoted version cannot be asked with these providers (trained by another provider, deleted):
    // compare with the base model instead, and say so.
    if (!(e instanceof PermanentError) || championModel === baseModel) throw e;
    championNote = `the promoted model ${championModel} could not be evaluated (${e.message}); compared with the base model ${baseModel}`;
    ctx.logger.warn({ decision: decision.id }, championNote);
    champion = await askModel(ctx.providers.answers, ctx.providers.moderation, baseModel, items);
  }
  const evalCost = challenger.cost_usd + champion.cost_usd;
  if (evalCost > 0) apiCostUsdTotal.inc({ provider: ctx.providers.answers.name, operation: 'evaluation' }, evalCost);
  const verdict = judge(champion, challenger, f);
  const gate = {
    ...verdict,
    champion_model: champion.model,
    champion_version: championRow && champion.model === championModel ? championRow.version : null,
    challenger_model: challengerModel,
    ...(championNote ? { champion_note: championNote } : {}),
    evaluation_cost_usd: evalCost,
  };
  const figures = { eval_accuracy: verdict.accuracy.challenger, baseline_accuracy: verdict.accuracy.champion, details: { gate } };
  let retired: string | null = null;
  if (verdict.outcome === 'promoted') {
    const r = await promoteModelVersion(ctx.db, cur.id, figures);
    retired = r.retired?.version ?? null;
  } else {
    await updateModelVersion(ctx.db, cur.id, { ...figures, ...(verdict.outcome === 'rejected' ? { status: 'rejected' as const } : {}) });
  }
  if (verdict.n > 0) {
    modelEvalAccuracy.set({ model: decision.model, version: p.version!, role: 'challenger' }, verdict.accuracy.challenger);
    modelEvalAccuracy.set({ model: decision.model, version: p.version!, role: 'champion' }, verdict.accuracy.champion);
  }
  ctx.logger.info({ decision: decision.id, version: p.version, outcome: verdict.outcome, reason: verdict.reason }, 'fine-tune evaluated');
  await notifyGateVerdict(ctx, { model: decision.model, decision_id: decision.id, version: p.version!, verdict: verdict.outcome, candidate_accuracy: verdict.accuracy.challenger, incumbent_accuracy: verdict.accuracy.champion, reason: verdict.reason });
  return {
    ...base,
    status: verdict.outcome,
    outcome: verdict.outcome,
    reason: verdict.reason,
    eval_items: verdict.n,
    candidate_accuracy: verdict.accuracy.challenger,
    incumbent_accuracy: verdict.accuracy.champion,
    incumbent_model: champion.model,
    incumbent_version: gate.champion_version,
    ...(championNote ? { incumbent_note: championNote } : {}),
    p_value: verdict.accuracy.p_value,
    retired_version: retired,
    gate,
  };
};

/**
 * running -> awaiting_approval, with `why` appended to the decision's reason and the
 * progress kept; `driftwatch approve ID` queues it again and the runner carries on.
 */
async function parkForApproval(db: Queryable, id: number, why: string, progress: Record<string, unknown>): Promise<void> {
  await db.query(
    `UPDATE decisions SET state = 'awaiting_approval', updated_at = now(), reason = reason || ' | waiting for approval: ' || $2, result = $3::jsonb
      WHERE id = $1 AND state = 'running'`,
    [id, why, JSON.stringify(progress)],
  );
}
