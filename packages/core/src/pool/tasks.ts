import type { AccuracyThresholds, BehaviorThresholds, EmbeddingThresholds, MonitorSettings } from '../config/schema.js';
import { accuracyMonitor } from '../monitors/accuracy.js';
import { behaviorMonitor } from '../monitors/behavior.js';
import { embeddingMonitor } from '../monitors/embedding.js';
import type { AccuracyWindow, InteractionRecord, Matrix, MonitorResult } from '../monitors/types.js';

/** A monitor computation as it travels to a worker thread: plain data (structured clone), no functions. */
export type MonitorTask =
  | { kind: 'embedding'; baseline: Matrix; current: Matrix; thresholds: EmbeddingThresholds; settings: MonitorSettings }
  | { kind: 'behavior'; baseline: InteractionRecord[]; current: InteractionRecord[]; thresholds: BehaviorThresholds; settings: MonitorSettings }
  | { kind: 'accuracy'; baseline: AccuracyWindow; current: AccuracyWindow; thresholds: AccuracyThresholds; settings: MonitorSettings };

/** Runs a task here, in this thread: what a pool thread does with each message. */
export function runMonitorTask(task: MonitorTask): MonitorResult {
  switch (task.kind) {
    case 'embedding':
      return embeddingMonitor(task.baseline, task.current, task.thresholds, task.settings);
    case 'behavior':
      return behaviorMonitor(task.baseline, task.current, task.thresholds, task.settings);
    case 'accuracy':
      return accuracyMonitor(task.baseline, task.current, task.thresholds, task.settings);
  }
}
