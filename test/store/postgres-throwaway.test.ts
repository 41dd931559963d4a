import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';

test('SIGLOAD_TEST_DATABASE_URL points at a reachable PostgreSQL with fsync on', async () => {
  const url = process.env.SIGLOAD_TEST_DATABASE_URL;
  assert.ok(url, 'run the tests through scripts/run-tests.mjs (npm test), which provides a database');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ fsync: string; version: string }>(`SELECT current_setting('fsync') AS fsync, current_setting('server_version_num') AS version`);
    assert.equal(rows[0]!.fsync, 'on');
    assert.ok(Number(rows[0]!.version) >= 140000);
  } finally {
    await client.end();
  }
});

test('a throwaway server stops and leaves nothing behind, also when its owner is killed with SIGKILL', { timeout: 60_000 }, async () => {
  const { existsSync } = await import('node:fs');
  const { spawn } = await import('node:child_process');
  const { dirname } = await import('node:path');
  const { startThrowawayPostgres } = await import('../../src/store/postgres-throwaway.js');

  const pgServer = await startThrowawayPostgres();
  const client = new pg.Client({ connectionString: pgServer.url });
  await client.connect();
  await client.end();
  pgServer.stop();
  assert.equal(existsSync(dirname(pgServer.dataDir)), false, 'the temporary folder is removed');
  await assert.rejects(async () => {
    const again = new pg.Client({ connectionString: pgServer.url });
    await again.connect();
  });

  // An owner that dies without stop(): the watchdog stops the server and removes the folder.
  const entry = new URL('../../src/store/postgres-throwaway.js', import.meta.url).href;
  const owner = spawn(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(entry)}); const p = await m.startThrowawayPostgres(); console.log(p.dataDir); setInterval(() => {}, 1000);`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const dataDir = await new Promise<string>((resolve) => owner.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())));
  assert.ok(existsSync(dataDir));
  owner.kill('SIGKILL');
  const deadline = Date.now() + 20_000;
  while (existsSync(dirname(dataDir)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  assert.equal(existsSync(dirname(dataDir)), false, 'the watchdog removed the folder after SIGKILL');
});
