import { randomBytes } from 'node:crypto';
import { PermanentError, WaitForExternalError } from '../errors.js';
import { getModelVersion, getPromotedVersion, promoteModelVersion, reserveModelVersion, updateModelVersion } from '../db/repo/models.js';
import { recordDecisionProgress } from '../db/repo/progress.js';
import { apiCostUsdTotal } from '../metrics/registry.js';
import { evaluationSet, gateOutcome, scoreModel, MIN_EVAL_ITEMS } from './evaluation.js';
import { MIN_TRAINING_EXAMPLES, trainingExamples } from './training-data.js';
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
 * 1. Training data: recent interactions rated >= actions.min_feedback_score, no error,
 *    at most actions.training_limit (training-data.ts); fewer than
 *    MIN_TRAINING_EXAMPLES is a permanent failure.
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
 * 4. Evaluation gate (evaluation.ts): the candidate against the promoted version
 *    (or the base model) on the model's evaluation set; promoted (previous version
 *    retired) or rejected, both accuracies recorded on the version.
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
      const examples = await trainingExamples(ctx.db, { model: decision.model, minScore: a.min_feedback_score, before: decision.window_end, limit: a.training_limit });
      if (examples.length < MIN_TRAINING_EXAMPLES) {
        throw new PermanentError(
          `only ${examples.length} interactions of ${decision.model} are rated >= ${a.min_feedback_score} without errors; a fine-tune needs at least ${MIN_TRAINING_EXAMPLES}. Collect more feedback or lower actions.min_feedback_score`,
        );
      }
      if (!p.start_key || !p.version) {
        // Reserve the version (status training) and the idempotency key before anything is started.
        const start_key = `dw-${decision.id}-${randomBytes(6).toString('hex')}`;
        const row = await reserveModelVersion(ctx.db, { model: decision.model, provider: ft.name, base_model: baseModel, status: 'training', decision_id: decision.id, details: { start_key } });
        await save({ status: 'starting', start_key, version: row.version, model_version_id: row.id, provider: ft.name, base_model: baseModel });
      }
      await save({ training_examples: examples.length });
      try {
        started = await ft.start({ model: decision.model, base_model: baseModel, examples, suffix: suffixFor(decision.model, p.version!), idempotency_key: p.start_key });
      } catch (e) {
        if (e instanceof PermanentError) await updateModelVersion(ctx.db, p.model_version_id!, { status: 'failed', details: { error: e.message } });
        throw e;
      }
    }
    await updateModelVersion(ctx.db, p.model_version_id!, { details: { job_id: started.job_id, file_id: started.file_id, training_examples: p.training_examples } });
    await save({ status: 'training', ...started, polls: 0 });
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
  };

  // Step 4: the evaluation gate (once: a version already promoted or rejected keeps its verdict).
  const cur = (await getModelVersion(ctx.db, decision.model, p.version!))!;
  if (cur.status === 'promoted' || cur.status === 'rejected') {
    return { ...base, status: cur.status, outcome: cur.status, candidate_accuracy: cur.eval_accuracy, incumbent_accuracy: cur.baseline_accuracy, ...(cur.details.gate as object) };
  }
  const items = await evaluationSet(ctx.db, decision.model);
  const incumbentRow = await getPromotedVersion(ctx.db, decision.model);
  const incumbentModel = incumbentRow?.provider_model_id ?? baseModel;
  if (!ctx.providers.answers || items.length < MIN_EVAL_ITEMS) {
    const why = !ctx.providers.answers
      ? 'no answer provider to evaluate with'
      : `the evaluation set has ${items.length} items with expected answers, fewer than the ${MIN_EVAL_ITEMS} the gate needs; the version stays a candidate`;
    await updateModelVersion(ctx.db, cur.id, { details: { gate: { eval_items: items.length, reason: why } } });
    return { ...base, status: 'held', outcome: 'held', eval_items: items.length, reason: why };
  }
  const candidate = await scoreModel(ctx.providers.answers, (p.fine_tuned_model ?? cur.provider_model_id)!, items);
  let incumbent;
  let incumbentNote: string | null = null;
  try {
    incumbent = await scoreModel(ctx.providers.answers, incumbentModel, items);
  } catch (e) {
    // The promoted version cannot be asked with these providers (trained by another provider, deleted):
    // compare with the base model instead, and say so.
    if (!(e instanceof PermanentError) || incumbentModel === baseModel) throw e;
    incumbentNote = `the promoted model ${incumbentModel} could not be evaluated (${e.message}); compared with the base model ${baseModel}`;
    ctx.logger.warn({ decision: decision.id }, incumbentNote);
    incumbent = await scoreModel(ctx.providers.answers, baseModel, items);
  }
  const evalCost = candidate.cost_usd + incumbent.cost_usd;
  if (evalCost > 0) apiCostUsdTotal.inc({ provider: ctx.providers.answers.name, operation: 'evaluation' }, evalCost);
  const outcome = gateOutcome(items.length, candidate.accuracy, incumbent.accuracy);
  const gate = {
    eval_items: items.length,
    candidate_correct: candidate.correct,
    incumbent_correct: incumbent.correct,
    incumbent_model: incumbent.model,
    ...(incumbentNote ? { incumbent_note: incumbentNote } : {}),
    incumbent_version: incumbentRow?.version ?? null,
    evaluation_cost_usd: evalCost,
  };
  let retired: string | null = null;
  if (outcome === 'promoted') {
    const r = await promoteModelVersion(ctx.db, cur.id, { eval_accuracy: candidate.accuracy, baseline_accuracy: incumbent.accuracy, details: { gate } });
    retired = r.retired?.version ?? null;
  } else {
    await updateModelVersion(ctx.db, cur.id, { status: 'rejected', eval_accuracy: candidate.accuracy, baseline_accuracy: incumbent.accuracy, details: { gate } });
  }
  ctx.logger.info({ decision: decision.id, version: p.version, outcome, candidate: candidate.accuracy, incumbent: incumbent.accuracy }, 'fine-tune evaluated');
  return { ...base, status: outcome, outcome, candidate_accuracy: candidate.accuracy, incumbent_accuracy: incumbent.accuracy, retired_version: retired, ...gate };
};
