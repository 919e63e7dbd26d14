import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { heldDataDir, publishHttp } from '../../apps/cli/src/runtime.js';
import { tempDir } from '../helpers/env.js';

/** Who holds an embedded data folder, and whether the CLI may reach it over HTTP. */
describe('heldDataDir and http.json', () => {
  it('nobody, a dead holder (a start that was SIGKILLed), a live one without HTTP, a live one with HTTP', async () => {
    const dir = tempDir();
    expect(heldDataDir(dir)).toBeNull();

    // A live process of another pid: a child that waits on its stdin.
    const other = spawn(process.execPath, ['-e', 'process.stdin.resume()'], { stdio: ['pipe', 'ignore', 'ignore'] });
    const exited = new Promise((r) => other.once('exit', r));
    try {
      const pid = other.pid!;
      writeFileSync(join(dir, 'driftwatch.pid'), String(pid));
      expect(heldDataDir(dir)).toEqual({ pid, http: null });
      // http.json of another (dead) process is not this holder's.
      writeFileSync(join(dir, 'http.json'), JSON.stringify({ pid: pid + 100000, url: 'http://127.0.0.1:1', token: 'x'.repeat(43) }));
      expect(heldDataDir(dir)).toEqual({ pid, http: null });
      writeFileSync(join(dir, 'http.json'), JSON.stringify({ pid, url: 'http://127.0.0.1:3000', token: 't'.repeat(43) }));
      expect(heldDataDir(dir)).toEqual({ pid, http: { pid, url: 'http://127.0.0.1:3000', token: 't'.repeat(43) } });
    } finally {
      other.kill('SIGKILL');
      await exited;
    }
    // The holder died without cleaning up: nobody holds the folder.
    expect(heldDataDir(dir)).toBeNull();
  });

  it('publishHttp writes the file readable by its owner only and removes only its own', () => {
    const dir = tempDir();
    const remove = publishHttp(dir, { url: 'http://127.0.0.1:3000', token: 'secret' });
    const file = join(dir, 'http.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    remove();
    expect(existsSync(file)).toBe(false);
    // A newer holder's file is left alone.
    const removeOld = publishHttp(dir, { url: 'http://127.0.0.1:3000', token: 'old' });
    writeFileSync(file, JSON.stringify({ pid: process.pid + 1, url: 'http://127.0.0.1:3001', token: 'new' }));
    removeOld();
    expect(existsSync(file)).toBe(true);
  });
});
