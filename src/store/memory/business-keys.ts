/**
 * The memory store's BusinessKeyStore (businesses' Signal identity and one-time prekeys).
 */
import type { BusinessKeyStore, BusinessIdentityRecord, SealedPreKey } from '../store.js';
import { MemoryContext } from './context.js';

export function memoryBusinessKeys(ctx: MemoryContext): BusinessKeyStore {
  return {
    async getBusinessIdentity(phoneNumberId: string): Promise<BusinessIdentityRecord | undefined> {
      const region = ctx.businessRegion.get(phoneNumberId);
      return region === undefined ? undefined : ctx.partition(region).identities.get(phoneNumberId);
    },

    async putBusinessIdentity(record: BusinessIdentityRecord): Promise<void> {
      ctx.businessPartition(record.phone_number_id).identities.set(record.phone_number_id, record);
    },

    async takeBusinessPreKey(phoneNumberId: string): Promise<SealedPreKey | undefined> {
      const pool = ctx.businessPartition(phoneNumberId).businessPreKeys.get(phoneNumberId);
      if (pool === undefined) return undefined;
      for (const [id, stored] of pool) {
        pool.delete(id);
        return stored.preKey;
      }
      return undefined;
    },

    async addBusinessPreKeys(phoneNumberId: string, preKeys: readonly SealedPreKey[]): Promise<void> {
      const partition = ctx.businessPartition(phoneNumberId);
      let pool = partition.businessPreKeys.get(phoneNumberId);
      if (pool === undefined) partition.businessPreKeys.set(phoneNumberId, (pool = new Map()));
      const nowMs = ctx.now();
      for (const preKey of preKeys) pool.set(preKey.id, { preKey, stored_at_ms: nowMs });
    },

    async businessPreKeyCount(phoneNumberId: string): Promise<number> {
      return ctx.businessPartition(phoneNumberId).businessPreKeys.get(phoneNumberId)?.size ?? 0;
    },
  };
}
