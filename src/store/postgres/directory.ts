/**
 * The PostgreSQL store's BusinessDirectoryStore (the business directory: profiles, their region and access-token lookup).
 */
import { StoreError, isRegion } from '../store.js';
import type { BusinessDirectoryStore, BusinessRecord, Region } from '../store.js';
import { PostgresContext, CORE_SCHEMA, toBuffer, toBytes, toNumber } from './context.js';

export function postgresBusinessDirectory(ctx: PostgresContext): BusinessDirectoryStore {
  const directory: BusinessDirectoryStore = {
    async createBusiness(business: BusinessRecord): Promise<void> {
      if (!isRegion(business.region)) throw new StoreError('invalid', `unknown region ${String(business.region)}`);
      await ctx.ensureRegion(business.region);
      const s = ctx.schema(business.region);
      await ctx.transaction(async (client) => {
        await client.query(`INSERT INTO ${CORE_SCHEMA}.business_directory (phone_number_id, region, access_token_hash) VALUES ($1, $2, $3)`, [
          business.phone_number_id,
          business.region,
          business.access_token_hash,
        ]);
        await client.query(
          `INSERT INTO ${s}.businesses (phone_number_id, waba_id, region, access_token_hash, created_at_ms, wrapped_data_key, sealed_profile, stored_at_ms)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [business.phone_number_id, business.waba_id, business.region, business.access_token_hash, business.created_at_ms, toBuffer(business.wrapped_data_key), toBuffer(business.sealed_profile), ctx.options.now_ms()],
        );
      });
      ctx.businessRegion.set(business.phone_number_id, business.region);
    },

    async getBusiness(phoneNumberId: string): Promise<BusinessRecord | undefined> {
      const region = await ctx.regionOf(phoneNumberId);
      if (!region) return undefined;
      const { rows } = await ctx.query<BusinessRow>(`SELECT * FROM ${ctx.schema(region)}.businesses WHERE phone_number_id = $1`, [phoneNumberId]);
      return rows[0] ? businessRecord(rows[0]) : undefined;
    },

    async getBusinessByTokenHash(accessTokenHash: string): Promise<BusinessRecord | undefined> {
      const { rows } = await ctx.query<{ phone_number_id: string }>(`SELECT phone_number_id FROM ${CORE_SCHEMA}.business_directory WHERE access_token_hash = $1`, [accessTokenHash]);
      return rows[0] ? directory.getBusiness(rows[0].phone_number_id) : undefined;
    },

    async updateBusinessProfile(phoneNumberId: string, sealedProfile: Uint8Array): Promise<void> {
      const region = await ctx.requireRegion(phoneNumberId);
      const result = await ctx.query(`UPDATE ${ctx.schema(region)}.businesses SET sealed_profile = $2, stored_at_ms = $3 WHERE phone_number_id = $1`, [
        phoneNumberId,
        toBuffer(sealedProfile),
        ctx.options.now_ms(),
      ]);
      if (result.rowCount === 0) throw new StoreError('not-found', `business ${phoneNumberId}`);
    },

    async listBusinesses(): Promise<readonly BusinessRecord[]> {
      const out: BusinessRecord[] = [];
      for (const region of await ctx.loadRegions()) {
        const { rows } = await ctx.query<BusinessRow>(`SELECT * FROM ${ctx.schema(region)}.businesses ORDER BY created_at_ms, phone_number_id`);
        out.push(...rows.map((row) => businessRecord(row)));
      }
      return out.sort((a, b) => a.created_at_ms - b.created_at_ms);
    },
  };
  return directory;
}

function businessRecord(row: BusinessRow): BusinessRecord {
  return {
    phone_number_id: row.phone_number_id,
    waba_id: row.waba_id,
    region: row.region as Region,
    access_token_hash: row.access_token_hash,
    created_at_ms: toNumber(row.created_at_ms),
    wrapped_data_key: toBytes(row.wrapped_data_key),
    sealed_profile: toBytes(row.sealed_profile),
  };
}

interface BusinessRow {
  phone_number_id: string;
  waba_id: string;
  region: string;
  access_token_hash: string;
  created_at_ms: string;
  wrapped_data_key: Buffer;
  sealed_profile: Buffer;
}
