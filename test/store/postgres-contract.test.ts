/**
 * The Store contract (test/store/contract.ts) on the PostgreSQL store: each contract test gets a
 * fresh database on the run's throwaway server, dropped when the store closes.
 */
import { PostgresStore } from '../../src/store/postgres/index.js';
import { storeContract } from './contract.js';
import { createTestDatabase } from './postgres-database.js';

storeContract('postgres', async (options) => {
  const db = await createTestDatabase('sigload_contract');
  const store = await PostgresStore.open({ database_url: db.url, webhook_queue_capacity: options.webhook_queue_capacity, pool_size: 4 });
  const closeStore = store.close.bind(store);
  store.close = async () => {
    await closeStore();
    await db.drop();
  };
  return store;
});
