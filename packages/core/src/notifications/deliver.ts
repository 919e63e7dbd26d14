import { createHmac } from 'node:crypto';
import { PermanentError } from '../errors.js';
import type { Notification, WebhookConfig } from './events.js';

/** The request body for a webhook's format. */
export function formatNotification(n: Notification, format: WebhookConfig['format']): string {
  if (format === 'slack') {
    const extra = typeof n.details.approve_command === 'string' ? `\nApprove with \`${n.details.approve_command}\`` : '';
    return JSON.stringify({ text: `[Driftwatch] ${n.type.replace(/_/g, ' ')} (${n.model}): ${n.summary}${extra}` });
  }
  return JSON.stringify(n);
}

/** `t=<unix>,v1=<hex>`: HMAC-SHA256 of "<t>.<body>" with the secret (a receiver recomputes it and checks t is recent). */
export function signature(secret: string, body: string, unixSeconds: number): string {
  return `t=${unixSeconds},v1=${createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex')}`;
}

/**
 * POSTs one notification. A 2xx is delivered; 429, 5xx, timeouts and network errors throw
 * (the notify job is retried with backoff); any other 4xx is permanent (the receiver
 * refuses it: retrying will not help).
 */
export async function deliverNotification(n: Notification, hook: WebhookConfig, env: NodeJS.ProcessEnv = process.env, timeoutMs = 10_000): Promise<{ status: number }> {
  const body = formatNotification(n, hook.format);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'driftwatch', 'x-driftwatch-event': n.type, 'x-driftwatch-id': n.id };
  const secret = env[hook.secret_env];
  if (secret) headers['x-driftwatch-signature'] = signature(secret, body, Math.floor(Date.now() / 1000));
  const res = await fetch(hook.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
  await res.arrayBuffer().catch(() => undefined);
  if (res.ok) return { status: res.status };
  if (res.status >= 400 && res.status < 500 && res.status !== 429 && res.status !== 408) throw new PermanentError(`webhook ${hook.url} refused ${n.type} ${n.id}: HTTP ${res.status}`);
  throw new Error(`webhook ${hook.url} answered HTTP ${res.status} to ${n.type} ${n.id}; will retry`);
}
