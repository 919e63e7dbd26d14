import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { ConfigError, configErrorFrom } from './errors.js';
import { driftConfigSchema, type DriftConfig } from './schema.js';
import { deploymentConfigSchema, type DeploymentConfig } from './deployment.js';

function readYaml(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(`cannot read configuration ${path}: ${code === 'ENOENT' ? 'no such file; set DRIFT_CONFIG to an existing file' : (e as Error).message}`);
  }
  try {
    return parseYaml(text) ?? {};
  } catch (e) {
    if (e instanceof YAMLParseError) {
      const pos = e.linePos?.[0];
      throw new ConfigError(`invalid YAML in ${path}${pos ? ` at line ${pos.line}, column ${pos.col}` : ''}: ${e.message.split('\n')[0]}`);
    }
    throw e;
  }
}

function validate<S extends z.ZodType>(schema: S, value: unknown, source: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw configErrorFrom(source, parsed.error);
  return parsed.data;
}

/** Reads and validates a drift configuration (config/drift_config*.yaml). */
export function loadDriftConfig(path: string): DriftConfig {
  return validate(driftConfigSchema, readYaml(path), path);
}

export function parseDriftConfig(value: unknown, source = 'configuration'): DriftConfig {
  return validate(driftConfigSchema, value, source);
}

/** Reads and validates config/deployment_config.yaml; a missing file means every default. */
export function loadDeploymentConfig(path: string, required = false): DeploymentConfig {
  let raw: unknown = {};
  try {
    raw = readYaml(path);
  } catch (e) {
    if (required || !(e instanceof ConfigError) || !e.message.includes('no such file')) throw e;
  }
  return validate(deploymentConfigSchema, raw, path);
}
