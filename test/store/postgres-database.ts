/**
 * A fresh database per test file on the server that SIGLOAD_TEST_DATABASE_URL names (the
 * throwaway server scripts/run-tests.mjs starts). Fails, never skips, when the URL is missing.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

export function testServerUrl(): string {
  const url = process.env.SIGLOAD_TEST_DATABASE_URL;
  if (!url) throw new Error('SIGLOAD_TEST_DATABASE_URL is unset: run tests through scripts/run-tests.mjs (npm test), which starts a throwaway PostgreSQL');
  return url;
}

export async function createTestDatabase(prefix = 'sigload_test'): Promise<TestDatabase> {
  const serverUrl = testServerUrl();
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
