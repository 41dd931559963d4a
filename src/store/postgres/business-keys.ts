/**
 * The PostgreSQL store's BusinessKeyStore (businesses' Signal identity and one-time prekeys).
 */
import type { BusinessKeyStore, BusinessIdentityRecord, SealedPreKey } from '../store.js';
import { PostgresContext, toBuffer, toBytes, toNumber } from './context.js';

export function postgresBusinessKeys(ctx: PostgresContext): BusinessKeyStore {
  return {
    async getBusinessIdentity(phoneNumberId: string): Promise<BusinessIdentityRecord | undefined> {
      const region = await ctx.regionOf(phoneNumberId);
      if (!region) return undefined;
      const { rows } = await ctx.query<{ sealed: Buffer; updated_at_ms: string }>(
        `SELECT sealed, updated_at_ms FROM ${ctx.schema(region)}.business_identities WHERE phone_number_id = $1`,
        [phoneNumberId],
      );
      return rows[0] ? { phone_number_id: phoneNumberId, sealed: toBytes(rows[0].sealed), updated_at_ms: toNumber(rows[0].updated_at_ms) } : undefined;
    },

    async putBusinessIdentity(record: BusinessIdentityRecord): Promise<void> {
      const region = await ctx.requireRegion(record.phone_number_id);
      await ctx.query(
        `INSERT INTO ${ctx.schema(region)}.business_identities (phone_number_id, sealed, updated_at_ms) VALUES ($1, $2, $3)
         ON CONFLICT (phone_number_id) DO UPDATE SET sealed = EXCLUDED.sealed, updated_at_ms = EXCLUDED.updated_at_ms`,
        [record.phone_number_id, toBuffer(record.sealed), record.updated_at_ms],
      );
    },

    /**
     * Removes and returns one one-time prekey no other call gets: `FOR UPDATE SKIP LOCKED` makes
     * concurrent takers (in any process) pick different rows without waiting on each other. (The
     * server keeps the private half of a handed-out key with the device's session record.)
     */
    async takeBusinessPreKey(phoneNumberId: string): Promise<SealedPreKey | undefined> {
      const region = await ctx.regionOf(phoneNumberId);
      if (!region) return undefined;
      const s = ctx.schema(region);
      const { rows } = await ctx.query<{ id: number; sealed: Buffer }>(
        `DELETE FROM ${s}.business_pre_keys
          WHERE phone_number_id = $1 AND id = (
            SELECT id FROM ${s}.business_pre_keys WHERE phone_number_id = $1
            ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
          RETURNING id, sealed`,
        [phoneNumberId],
      );
      return rows[0] ? { id: rows[0].id, sealed: toBytes(rows[0].sealed) } : undefined;
    },

    async addBusinessPreKeys(phoneNumberId: string, preKeys: readonly SealedPreKey[]): Promise<void> {
      const region = await ctx.requireRegion(phoneNumberId);
      if (preKeys.length === 0) return;
      await ctx.query(
        `INSERT INTO ${ctx.schema(region)}.business_pre_keys (phone_number_id, id, sealed, stored_at_ms)
         SELECT $1, id, sealed, $4 FROM unnest($2::integer[], $3::bytea[]) AS k (id, sealed)
         ON CONFLICT (phone_number_id, id) DO UPDATE SET sealed = EXCLUDED.sealed, stored_at_ms = EXCLUDED.stored_at_ms`,
        [phoneNumberId, preKeys.map((k) => k.id), preKeys.map((k) => toBuffer(k.sealed)), ctx.options.now_ms()],
      );
    },

    async businessPreKeyCount(phoneNumberId: string): Promise<number> {
      const region = await ctx.regionOf(phoneNumberId);
      if (!region) return 0;
      const { rows } = await ctx.query<{ n: string }>(
        `SELECT count(*) AS n FROM ${ctx.schema(region)}.business_pre_keys WHERE phone_number_id = $1`,
        [phoneNumberId],
      );
      return toNumber(rows[0]!.n);
    },
  };
}
