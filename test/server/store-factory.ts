/**
 * The store the server suites run against: SIGLOAD_TEST_STORE=memory (default) | postgres.
 * The postgres engineer extends `makeTestStore` with their store; every server suite takes its
 * store from here, so the same tests cover both.
 */
import { MemoryStore } from '../../src/store/memory/index.js';
import { PostgresStore } from '../../src/store/postgres/index.js';
import { createTestDatabase } from '../store/postgres-database.js';
import type { Store } from '../../src/store/store.js';

export type TestStoreKind = 'memory' | 'postgres';

export function testStoreKind(): TestStoreKind {
  const kind = process.env['SIGLOAD_TEST_STORE'] ?? 'memory';
  if (kind !== 'memory' && kind !== 'postgres') throw new Error(`SIGLOAD_TEST_STORE must be memory or postgres, got ${kind}`);
  return kind;
}

export interface TestStoreOptions {
  /** The server clock, for records whose operation carries no time. */
  readonly now: () => number;
}

/** A fresh, empty store; the caller closes it. */
export async function makeTestStore(options: TestStoreOptions): Promise<Store> {
  const kind = testStoreKind();
  if (kind === 'memory') return new MemoryStore({ now: options.now });
  // postgres: a fresh database on the run's throwaway server (SIGLOAD_TEST_DATABASE_URL), dropped on close.
  const db = await createTestDatabase('sigload_server');
  const store = await PostgresStore.open({ database_url: db.url, now_ms: options.now, pool_size: 4 });
  const closeStore = store.close.bind(store);
  store.close = async () => {
    await closeStore();
    await db.drop();
  };
  return store;
}
