import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const serverScript = new URL('../../scripts/server.js', import.meta.url).pathname;

/** Starts `npm start`'s script until it prints its URL, then stops it with SIGTERM. */
async function startAndStop(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [serverScript, '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('listening on')) resolve();
    });
    child.on('exit', () => reject(new Error(`server exited early: ${stderr}`)));
  });
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { code, stdout, stderr };
}

test('--master-keys: a missing file is created 0600 with a key per region and reused on the next start', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigload-keys-'));
  try {
    const file = join(dir, 'nested', 'keys.json');
    const first = await startAndStop(['--master-keys', file]);
    assert.equal(first.code, 0);
    assert.match(first.stderr, /created region master keys/);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const keys = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    assert.ok(Object.keys(keys).includes('US') && Object.keys(keys).includes('DE'));
    for (const hex of Object.values(keys)) assert.match(hex, /^[0-9a-f]{64}$/);
    const second = await startAndStop(['--master-keys', file]);
    assert.equal(second.code, 0);
    assert.doesNotMatch(second.stderr, /created/);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), keys, 'the file is reused, not rewritten');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--master-keys: an unknown region or a short key is refused with exit 2 and a clear message', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigload-keys-'));
  try {
    const cases: Array<[string, RegExp]> = [
      ['{"XX":"' + '00'.repeat(32) + '"}', /unknown region "XX"/],
      ['{"US":"abcd"}', /key for US must be 64 hex characters/],
      ['not json', /not readable JSON/],
    ];
    for (const [content, message] of cases) {
      const file = join(dir, 'keys.json');
      writeFileSync(file, content);
      const run = spawnSync(process.execPath, [serverScript, '--port', '0', '--master-keys', file], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(run.status, 2, run.stderr);
      assert.match(run.stderr, message);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--master-keys: a file readable by group or others is loaded with a warning', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigload-keys-'));
  try {
    const file = join(dir, 'keys.json');
    writeFileSync(file, JSON.stringify({ US: 'ab'.repeat(32) }), { mode: 0o644 });
    const run = await startAndStop(['--master-keys', file]);
    assert.equal(run.code, 0);
    assert.match(run.stderr, /warning: .*keys\.json is readable by group or others \(mode 644\)/);
    writeFileSync(file, JSON.stringify({ US: 'ab'.repeat(32) }), { mode: 0o600 });
    const { chmodSync } = await import('node:fs');
    chmodSync(file, 0o600);
    const quiet = await startAndStop(['--master-keys', file]);
    assert.doesNotMatch(quiet.stderr, /warning/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
