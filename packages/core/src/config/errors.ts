import type { z } from 'zod';

/** A configuration or input value is wrong. The message names the key path and what was expected. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    message: string,
    readonly issues: { path: string; message: string }[] = [],
  ) {
    super(message);
  }
}

/** "actions.dry_run" style path; array indexes as models[0].name. */
export function keyPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || '(root)';
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}; remove ${issue.keys.length > 1 ? 'them' : 'it'} or check the spelling`;
    default:
      return issue.message;
  }
}

/** Turns a zod error into a ConfigError whose message lists every bad key of `source`. */
export function configErrorFrom(source: string, error: z.ZodError): ConfigError {
  const issues = error.issues.map((i) => {
    const base = keyPath(i.path);
    const path = i.code === 'unrecognized_keys' && i.keys.length === 1 ? (base === '(root)' ? i.keys[0] : `${base}.${i.keys[0]}`) : base;
    return { path, message: describeIssue(i) };
  });
  const lines = issues.map((i) => `  ${i.path}: ${i.message}`);
  return new ConfigError(`invalid configuration in ${source}:\n${lines.join('\n')}`, issues);
}
