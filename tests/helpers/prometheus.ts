import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { freePort } from '../../packages/core/src/net.js';
import { stringify } from 'yaml';
import { tempDir, writeYaml } from './env.js';

export const PROMETHEUS = '/usr/bin/prometheus';

export interface TestPrometheus {
  url: string;
  /** An instant query; returns the result vector. */
  query(q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  /** Active alerts (pending or firing) of the loaded rules. */
  alerts(): Promise<{ labels: Record<string, string>; state: 'pending' | 'firing'; value: string }[]>;
  close(): Promise<void>;
}

/**
 * A real Prometheus on a loopback port scraping `targets` (host:port) every second, with its data in a temp folder.
 * `rules`: alert rule files to evaluate every second; `alertmanager`: host:port of an Alertmanager to send alerts to.
 */
export async function startPrometheus(targets: string[], labels: Record<string, string> = {}, opts: { rules?: string[]; alertmanager?: string; jobName?: string } = {}): Promise<TestPrometheus> {
  if (!existsSync(PROMETHEUS)) throw new Error(`${PROMETHEUS} is missing: apt-get install -y prometheus`);
  const dir = tempDir('driftwatch-prom-');
  const config = writeYaml(dir, 'prometheus.yml', stringify({
    global: { scrape_interval: '1s', evaluation_interval: '1s' },
    ...(opts.rules ? { rule_files: opts.rules } : {}),
    ...(opts.alertmanager ? { alerting: { alertmanagers: [{ static_configs: [{ targets: [opts.alertmanager] }] }] } } : {}),
    scrape_configs: [{ job_name: opts.jobName ?? 'driftwatch', scrape_interval: '1s', scrape_timeout: '900ms', static_configs: [{ targets, labels }] }],
  }));
  const port = await freePort();
  const child: ChildProcess = spawn(PROMETHEUS, [`--config.file=${config}`, `--storage.tsdb.path=${dir}/data`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || i > 150) {
      child.kill('SIGKILL');
      throw new Error(`prometheus did not start: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    query: async (q) => {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(q)}`);
      const body = (await res.json()) as { status: string; error?: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
      if (body.status !== 'success') throw new Error(`query ${q}: ${body.error}`);
      return body.data.result;
    },
    alerts: async () => {
      const body = (await (await fetch(`${url}/api/v1/alerts`)).json()) as { data: { alerts: { labels: Record<string, string>; state: 'pending' | 'firing'; value: string }[] } };
      return body.data.alerts;
    },
    close: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

export const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';

/** A real Alertmanager (Debian's prometheus-alertmanager) on a loopback port, routing every alert to `webhookUrl` at once. */
export async function startAlertmanager(webhookUrl: string): Promise<{ address: string; close(): Promise<void> }> {
  if (!existsSync(ALERTMANAGER)) throw new Error(`${ALERTMANAGER} is missing: apt-get install -y prometheus-alertmanager`);
  const dir = tempDir('driftwatch-am-');
  const config = writeYaml(dir, 'alertmanager.yml', stringify({
    route: { receiver: 'driftwatch-test', group_by: ['alertname', 'model'], group_wait: '1s', group_interval: '1s', repeat_interval: '1h' },
    receivers: [{ name: 'driftwatch-test', webhook_configs: [{ url: webhookUrl, send_resolved: false }] }],
  }));
  const port = await freePort();
  const child: ChildProcess = spawn(ALERTMANAGER, [`--config.file=${config}`, `--storage.path=${dir}/data`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const address = `127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`http://${address}/-/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || i > 150) {
      child.kill('SIGKILL');
      throw new Error(`alertmanager did not start: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    address,
    close: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
