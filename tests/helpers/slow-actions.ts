/**
 * Loaded before the CLI in fleet tests (`node --import tsx --import tests/helpers/slow-actions.ts`):
 * every action takes TEST_ACTION_MS before it runs, and each start and end is appended
 * as a JSON line to TEST_ACTION_LOG, so a test can act while a job is running and see
 * which process ran what.
 */
import { appendFileSync } from 'node:fs';
import { ACTION_RUNNERS, type ActionKind } from '@driftwatch/core';

const delayMs = Number(process.env.TEST_ACTION_MS ?? 0);
const log = process.env.TEST_ACTION_LOG;
const note = (event: 'start' | 'end', decision: number) => {
  if (log) appendFileSync(log, JSON.stringify({ event, decision, pid: process.pid, at: Date.now() }) + '\n');
};

for (const kind of Object.keys(ACTION_RUNNERS) as ActionKind[]) {
  const run = ACTION_RUNNERS[kind];
  ACTION_RUNNERS[kind] = async (ctx, decision) => {
    note('start', decision.id);
    await new Promise((r) => setTimeout(r, delayMs));
    const result = await run(ctx, decision);
    note('end', decision.id);
    return result;
  };
}
