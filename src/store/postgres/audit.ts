/**
 * The PostgreSQL store's AuditStore (the listing of every record at rest in a region).
 */
import { StoreError, isRegion } from '../store.js';
import type { AuditStore, AuditRecord, RecordKind, Region } from '../store.js';
import { PostgresContext, toNumber, storeError } from './context.js';

export function postgresAudit(ctx: PostgresContext): AuditStore {
  return {
    async *auditRecords(region: Region): AsyncIterable<AuditRecord> {
      if (!isRegion(region)) throw new StoreError('invalid', `unknown region ${String(region)}`);
      if (!(await ctx.loadRegions()).includes(region)) return;
      const s = ctx.schema(region);
      const sources: { kind: RecordKind; sql: string }[] = [
        { kind: 'business', sql: `SELECT phone_number_id AS key, stored_at_ms AS at, sealed_profile AS bytes FROM ${s}.businesses` },
        { kind: 'business_key', sql: `SELECT phone_number_id || '/data_key' AS key, stored_at_ms AS at, wrapped_data_key AS bytes FROM ${s}.businesses` },
        { kind: 'business_key', sql: `SELECT phone_number_id || '/identity' AS key, updated_at_ms AS at, sealed AS bytes FROM ${s}.business_identities` },
        { kind: 'business_key', sql: `SELECT phone_number_id || '/pre_key/' || id AS key, stored_at_ms AS at, sealed AS bytes FROM ${s}.business_pre_keys` },
        { kind: 'contact', sql: `SELECT wa_id AS key, created_at_ms AS at, '\\x'::bytea AS bytes FROM ${s}.contacts` },
        { kind: 'contact', sql: `SELECT wa_id || '.' || device_id AS key, registered_at_ms AS at, sealed_keys AS bytes FROM ${s}.devices` },
        { kind: 'contact', sql: `SELECT wa_id || '.' || device_id || '/pre_key/' || id AS key, stored_at_ms AS at, sealed AS bytes FROM ${s}.device_pre_keys` },
        {
          kind: 'contact',
          sql: `SELECT c.wa_id || '.' || c.device_id || '/inbox_cursor' AS key, COALESCE(d.registered_at_ms, 0) AS at, '\\x'::bytea AS bytes
                  FROM ${s}.inbox_cursors c LEFT JOIN ${s}.devices d ON d.wa_id = c.wa_id AND d.device_id = c.device_id`,
        },
        { kind: 'contact', sql: `SELECT phone_number_id || '/' || wa_id AS key, stored_at_ms AS at, '\\x'::bytea AS bytes FROM ${s}.conversations` },
        { kind: 'session', sql: `SELECT phone_number_id || '/' || wa_id || '.' || device_id AS key, updated_at_ms AS at, sealed AS bytes FROM ${s}.sessions` },
        { kind: 'message', sql: `SELECT phone_number_id || '/' || id AS key, created_at_ms AS at, sealed AS bytes FROM ${s}.messages` },
        { kind: 'inbox', sql: `SELECT wa_id || '.' || device_id || '/' || id AS key, created_at_ms AS at, sealed AS bytes FROM ${s}.inbox` },
        { kind: 'status', sql: `SELECT phone_number_id || '/' || id || '/' || status AS key, created_at_ms AS at, sealed AS bytes FROM ${s}.statuses` },
        { kind: 'webhook', sql: `SELECT phone_number_id || '/' || id AS key, created_at_ms AS at, sealed AS bytes FROM ${s}.webhooks` },
      ];
      const client = await ctx.pool.connect().catch((error: unknown) => {
        throw storeError(error);
      });
      try {
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        for (const source of sources) {
          await client.query(`DECLARE audit_cursor NO SCROLL CURSOR FOR ${source.sql}`);
          for (;;) {
            const { rows } = await client.query<{ key: string; at: string; bytes: Buffer }>('FETCH 1000 FROM audit_cursor');
            for (const row of rows) {
              yield { region, kind: source.kind, key: row.key, stored_at: new Date(toNumber(row.at)).toISOString(), bytes: row.bytes.toString('base64') };
            }
            if (rows.length < 1000) break;
          }
          await client.query('CLOSE audit_cursor');
        }
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw storeError(error);
      } finally {
        client.release();
      }
    },
  };
}
