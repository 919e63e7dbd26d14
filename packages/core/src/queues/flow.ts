import type { FlowJob } from 'bullmq';
import { MONITOR_KINDS } from '../monitors/types.js';
import { jobIds, makeRunId, parsePayload } from './catalog.js';
import type { Queues } from './queues.js';

/**
 * Starts one run of the pipeline for a model: a flow whose parent is the trigger job
 * and whose children are the three monitors. Ids are derived from the run, so adding
 * the same run twice (a retried tick) creates nothing new. A monitor that fails for
 * good does not block the trigger: it decides on the results it has.
 */
export async function startRun(queues: Queues, req: { model: string; now: Date; dry_run: boolean; run_id?: string }): Promise<{ run_id: string; trigger_job_id: string }> {
  const run_id = req.run_id ?? makeRunId(req.model, req.now);
  const now = req.now.toISOString();
  const owner = queues.owner ? { owner: queues.owner } : {};
  const trigger = { ...parsePayload('trigger', { run_id, model: req.model, now, dry_run: req.dry_run }), ...owner };
  const flow: FlowJob = {
    name: 'trigger',
    queueName: 'trigger',
    data: trigger,
    opts: { jobId: jobIds.trigger(run_id, queues.owner), ...optsOf(queues, 'trigger') },
    children: MONITOR_KINDS.map((kind) => ({
      name: kind,
      queueName: 'monitor',
      data: { ...parsePayload('monitor', { run_id, model: req.model, monitor: kind, now }), ...owner },
      opts: { jobId: jobIds.monitor(run_id, kind, queues.owner), ignoreDependencyOnFailure: true, ...optsOf(queues, 'monitor') },
    })),
  };
  await queues.flow.add(flow);
  return { run_id, trigger_job_id: jobIds.trigger(run_id, queues.owner) };
}

function optsOf(queues: Queues, q: 'trigger' | 'monitor') {
  return queues.get(q).defaultJobOptions;
}
