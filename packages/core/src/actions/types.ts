import type { DecisionRow } from '../db/repo/decisions.js';
import type { AppContext } from '../queues/context.js';

/** What an action worker runs for one decision. The result is stored on the decision. */
export type ActionRunner = (ctx: AppContext, decision: DecisionRow) => Promise<Record<string, unknown>>;
