import { PermanentError, deliverNotification, type AppContext, type Processor } from '@driftwatch/core';

/**
 * Delivers one notification to one webhook. The webhook is looked up by url in the
 * current config (format, secret): a webhook removed from the config since is skipped.
 * Failures are retried by the queue (deployment queues.notify: attempts, backoff).
 */
export function notifyProcessor(ctx: AppContext): Processor<'notify', { delivered: boolean; status?: number }> {
  return async (_job, data) => {
    const hook = ctx.config.notifications.webhooks.find((h) => h.url === data.webhook_url);
    if (!hook) return { delivered: false };
    if (!hook.events.includes(data.notification.type)) return { delivered: false };
    try {
      const { status } = await deliverNotification(data.notification, hook);
      return { delivered: true, status };
    } catch (e) {
      if (e instanceof PermanentError) throw e;
      throw new Error((e as Error).message);
    }
  };
}
