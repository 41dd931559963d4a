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
