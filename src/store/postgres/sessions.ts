/**
 * The PostgreSQL store's SessionStore (the business's Signal sessions with user devices (compare-and-set)).
 */
import { StoreError, recordKey } from '../store.js';
import type { SessionStore, SessionRecord } from '../store.js';
import { PostgresContext, CORE_SCHEMA, toBuffer, toBytes, toNumber } from './context.js';

export function postgresSessions(ctx: PostgresContext): SessionStore {
  return {
    async getSession(phoneNumberId: string, waId: string, deviceId: number): Promise<SessionRecord | undefined> {
      const region = await ctx.regionOf(phoneNumberId);
      if (!region) return undefined;
      const { rows } = await ctx.query<{ sealed: Buffer; version: number }>(
        `SELECT sealed, version FROM ${ctx.schema(region)}.sessions WHERE phone_number_id = $1 AND wa_id = $2 AND device_id = $3`,
        [phoneNumberId, waId, deviceId],
      );
      return rows[0] ? { sealed: toBytes(rows[0].sealed), version: toNumber(rows[0].version) } : undefined;
    },

    async putSession(phoneNumberId: string, waId: string, deviceId: number, sealed: Uint8Array, expectedVersion: number): Promise<number> {
      const region = await ctx.requireRegion(phoneNumberId);
      const s = ctx.schema(region);
      const now = ctx.options.now_ms();
      if (expectedVersion === 0 && (await ctx.query(`SELECT 1 FROM ${ctx.home()}.devices WHERE wa_id = $1 AND device_id = $2`, [waId, deviceId])).rowCount === 0) throw new StoreError('not-found', `device ${recordKey.device(waId, deviceId)}`);
      const result =
        expectedVersion === 0
          ? await ctx.query<{ version: number }>(
              `INSERT INTO ${s}.sessions (phone_number_id, wa_id, device_id, sealed, version, updated_at_ms) VALUES ($1, $2, $3, $4, nextval('${CORE_SCHEMA}.session_versions'), $5)
               ON CONFLICT (phone_number_id, wa_id, device_id) DO NOTHING RETURNING version`,
              [phoneNumberId, waId, deviceId, toBuffer(sealed), now],
            )
          : await ctx.query<{ version: number }>(
              `UPDATE ${s}.sessions SET sealed = $4, version = nextval('${CORE_SCHEMA}.session_versions'), updated_at_ms = $6
                WHERE phone_number_id = $1 AND wa_id = $2 AND device_id = $3 AND version = $5 RETURNING version`,
              [phoneNumberId, waId, deviceId, toBuffer(sealed), expectedVersion, now],
            );
      const version = result.rows[0] === undefined ? undefined : toNumber(result.rows[0].version);
      if (version === undefined) throw new StoreError('conflict', `session ${recordKey.session(phoneNumberId, waId, deviceId)} is not at version ${expectedVersion}`);
      return version;
    },

    async deleteSession(phoneNumberId: string, waId: string, deviceId: number): Promise<void> {
      const region = await ctx.regionOf(phoneNumberId);
      if (!region) return;
      await ctx.query(`DELETE FROM ${ctx.schema(region)}.sessions WHERE phone_number_id = $1 AND wa_id = $2 AND device_id = $3`, [phoneNumberId, waId, deviceId]);
    },
  };
}
