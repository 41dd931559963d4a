/**
 * Runs the versioned migrations of src/store/migrations at start.
 *
 * Per schema: `CREATE SCHEMA IF NOT EXISTS`, a `schema_migrations (version, name, applied_at)`
 * ledger, then every missing version in order, all in one transaction that first takes a
 * transaction-scoped advisory lock on the schema. Several processes starting together serialize
 * on that lock; the ones that come second find the versions applied and do nothing.
 */
import type pg from 'pg';
import { ident, partitionLockKey } from './postgres-partitions.js';
import type { Migration } from './migrations/index.js';

export interface MigrationReport {
  readonly schema: string;
  readonly applied: readonly number[];
}

export async function runMigrations(pool: pg.Pool, schema: string, migrations: readonly Migration[]): Promise<MigrationReport> {
  const versions = migrations.map((m) => m.version);
  if (versions.some((v, i) => i > 0 && v <= versions[i - 1]!)) throw new Error(`migrations of ${schema} are not in increasing version order`);
  const client = await pool.connect();
  const applied: number[] = [];
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [partitionLockKey(`migrate:${schema}`)]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${ident(schema)}.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = new Set((await client.query<{ version: number }>(`SELECT version FROM ${ident(schema)}.schema_migrations`)).rows.map((r) => r.version));
    for (const migration of migrations) {
      if (done.has(migration.version)) continue;
      await client.query(migration.sql.replaceAll('$schema', ident(schema)));
      await client.query(`INSERT INTO ${ident(schema)}.schema_migrations (version, name) VALUES ($1, $2)`, [migration.version, migration.name]);
      applied.push(migration.version);
    }
    await client.query('COMMIT');
    return { schema, applied };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
