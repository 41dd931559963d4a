/**
 * The store the retention benchmarks sweep: one business in region US on a `MemoryStore`, and
 * its messages from 1,000 users spread evenly over a time span. Shared by the instructions
 * suite's sweep (bench/instructions-child.ts) and the retention suite's child (bench/retention-child.ts).
 */
import { MemoryStore } from '../src/store/memory/index.js';
import type { MessageRecord } from '../src/store/store.js';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
/** The store's epoch: the first message's time. */
export const START_MS = Date.UTC(2026, 0, 1);
export const USERS = 1000;
export const PHONE_NUMBER_ID = 'bench-pnid-1';

/** A memory store holding only the benchmark business. */
export async function storeWithBusiness(): Promise<MemoryStore> {
  const store = new MemoryStore();
  await store.createBusiness({
    phone_number_id: PHONE_NUMBER_ID,
    waba_id: 'bench-waba-1',
    region: 'US',
    access_token_hash: '00'.repeat(32),
    created_at_ms: START_MS,
    wrapped_data_key: new Uint8Array(60),
    sealed_profile: new Uint8Array(64),
  });
  return store;
}

/** The benchmark users' wa_ids. */
export const waIds: readonly string[] = Array.from({ length: USERS }, (_, i) => `1555${String(i).padStart(7, '0')}`);

/** Message i of n spread evenly over [fromMs, fromMs + spanMs), from user i mod USERS. */
export function spreadMessage(i: number, n: number, fromMs: number, spanMs: number, sealed: Uint8Array): MessageRecord {
  return {
    phone_number_id: PHONE_NUMBER_ID,
    id: `wamid.${fromMs.toString(36)}.${i.toString(36)}`,
    wa_id: waIds[i % USERS]!,
    created_at_ms: fromMs + Math.floor((i * spanMs) / n),
    sealed,
  };
}
