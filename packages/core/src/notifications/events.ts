import { z } from 'zod';

/** What Driftwatch tells webhooks about. A webhook subscribes to some of them (`events`). */
export const NOTIFY_EVENTS = ['drift_detected', 'awaiting_approval', 'action_outcome', 'gate_verdict', 'rollback'] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

/**
 * One notification. `id` names the fact it reports (e.g. `approval.42`): the same fact
 * emitted twice (a replayed trigger, a retried job) is delivered once per webhook.
 */
export const notificationSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9_.-]+$/).max(200),
  type: z.enum(NOTIFY_EVENTS),
  model: z.string().min(1),
  at: z.string().datetime({ offset: true }),
  /** One human sentence. */
  summary: z.string().max(2000),
  /** Ids and figures (decision id, scores, versions), never documents. */
  details: z.record(z.string(), z.unknown()).default({}),
});
export type Notification = z.infer<typeof notificationSchema>;

/** Settings of the notifications (config key `notifications`). */
export const webhookSchema = z
  .object({
    /** Where to POST. */
    url: z.string().url(),
    /** Events sent to it; default all of them. */
    events: z.array(z.enum(NOTIFY_EVENTS)).min(1).default([...NOTIFY_EVENTS]),
    /** `json`: the notification as JSON; `slack`: a Slack incoming-webhook message ({text}). */
    format: z.enum(['json', 'slack']).default('json'),
    /**
     * Environment variable holding the HMAC-SHA256 secret. Every request then carries
     * `X-Driftwatch-Signature: t=<unix seconds>,v1=<hex HMAC of "<t>.<body>">`; without the
     * variable set, requests go unsigned. Default DRIFTWATCH_WEBHOOK_SECRET.
     */
    secret_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).default('DRIFTWATCH_WEBHOOK_SECRET'),
  })
  .strict();
export type WebhookConfig = z.infer<typeof webhookSchema>;

export const notificationsSchema = z
  .object({
    /** Webhooks Driftwatch posts to (through the `notify` queue: retried, never blocking a run). */
    webhooks: z.array(webhookSchema).default([]),
  })
  .strict();
