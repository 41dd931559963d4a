/**
 * The PostgreSQL store's DeviceStore (users and their devices, device keys and one-time prekeys (home region)).
 */
import { StoreError, recordKey } from '../store.js';
import type { DeviceStore, ContactRecord, DeviceKeysUpdate, DeviceRecord, RegisterDeviceResult, SealedPreKey } from '../store.js';
import { PostgresContext, toBuffer, toBytes, toNumber, type Queryable } from './context.js';

export function postgresDevices(ctx: PostgresContext): DeviceStore {
  return {
    async registerDevice(device: DeviceRecord, oneTimePreKeys: readonly SealedPreKey[]): Promise<RegisterDeviceResult> {
      const home = ctx.home();
      const regions = await ctx.loadRegions();
      return ctx.transaction(async (client) => {
        if (device.identity_key_hash !== undefined) {
          // One wa_id per identity key: registrations of the same key are serialised on its hash.
          await client.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`identity:${device.identity_key_hash}`]);
          const taken = await client.query(`SELECT 1 FROM ${home}.devices WHERE identity_key_hash = $1 AND wa_id <> $2 LIMIT 1`, [device.identity_key_hash, device.wa_id]);
          if ((taken.rowCount ?? 0) > 0) throw new StoreError('exists', 'identity_key is registered to another wa_id');
        }
        await client.query(
          `INSERT INTO ${home}.contacts (wa_id, created_at_ms, last_activity_ms) VALUES ($1, $2, $2)
           ON CONFLICT (wa_id) DO UPDATE SET last_activity_ms = GREATEST(${home}.contacts.last_activity_ms, EXCLUDED.last_activity_ms)`,
          [device.wa_id, device.registered_at_ms],
        );
        const existing = await client.query(`DELETE FROM ${home}.devices WHERE wa_id = $1 AND device_id = $2 RETURNING 1`, [device.wa_id, device.device_id]);
        const replaced = (existing.rowCount ?? 0) > 0;
        let sessionsDropped = 0;
        if (replaced) {
          await client.query(`DELETE FROM ${home}.device_pre_keys WHERE wa_id = $1 AND device_id = $2`, [device.wa_id, device.device_id]);
          for (const region of regions) {
            const dropped = await client.query(`DELETE FROM ${ctx.schema(region)}.sessions WHERE wa_id = $1 AND device_id = $2`, [device.wa_id, device.device_id]);
            sessionsDropped += dropped.rowCount ?? 0;
            // Entries sealed for the old keys' sessions: the new keys cannot open them.
            await client.query(`DELETE FROM ${ctx.schema(region)}.inbox WHERE wa_id = $1 AND device_id = $2`, [device.wa_id, device.device_id]);
          }
        }
        await client.query(`INSERT INTO ${home}.devices (wa_id, device_id, token_hash, registered_at_ms, sealed_keys, identity_key_hash) VALUES ($1, $2, $3, $4, $5, $6)`, [
          device.wa_id,
          device.device_id,
          device.token_hash,
          device.registered_at_ms,
          toBuffer(device.sealed_keys),
          device.identity_key_hash ?? null,
        ]);
        await insertDevicePreKeys(ctx, client, device.wa_id, device.device_id, oneTimePreKeys);
        return { replaced, sessions_dropped: sessionsDropped };
      });
    },

    async updateDeviceKeys(waId: string, deviceId: number, update: DeviceKeysUpdate): Promise<void> {
      const home = ctx.home();
      await ctx.transaction(async (client) => {
        // The device row's lock serialises uploads of one device, so the cap holds across processes.
        const found = await client.query(`SELECT 1 FROM ${home}.devices WHERE wa_id = $1 AND device_id = $2 FOR UPDATE`, [waId, deviceId]);
        if (found.rowCount === 0) throw new StoreError('not-found', `device ${recordKey.device(waId, deviceId)}`);
        const added = update.add_one_time_pre_keys ?? [];
        if (update.max_one_time_pre_keys !== undefined) {
          const { rows } = await client.query<{ n: string }>(
            `SELECT (SELECT count(*) FROM ${home}.device_pre_keys WHERE wa_id = $1 AND device_id = $2)
                  + (SELECT count(*) FROM unnest($3::integer[]) AS k (id)
                      WHERE NOT EXISTS (SELECT 1 FROM ${home}.device_pre_keys p WHERE p.wa_id = $1 AND p.device_id = $2 AND p.id = k.id)) AS n`,
            [waId, deviceId, added.map((k) => k.id)],
          );
          const after = toNumber(rows[0]!.n);
          if (after > update.max_one_time_pre_keys) throw new StoreError('invalid', `the device would hold ${after} one-time prekeys; at most ${update.max_one_time_pre_keys} are kept`);
        }
        if (update.sealed_keys) {
          await client.query(`UPDATE ${home}.devices SET sealed_keys = $3 WHERE wa_id = $1 AND device_id = $2`, [waId, deviceId, toBuffer(update.sealed_keys)]);
        }
        await insertDevicePreKeys(ctx, client, waId, deviceId, update.add_one_time_pre_keys ?? []);
      });
    },

    async getDevice(waId: string, deviceId: number): Promise<DeviceRecord | undefined> {
      const { rows } = await ctx.query<DeviceRow>(`SELECT * FROM ${ctx.home()}.devices WHERE wa_id = $1 AND device_id = $2`, [waId, deviceId]);
      return rows[0] ? deviceRecord(rows[0]) : undefined;
    },

    async getDeviceByTokenHash(tokenHash: string): Promise<DeviceRecord | undefined> {
      const { rows } = await ctx.query<DeviceRow>(`SELECT * FROM ${ctx.home()}.devices WHERE token_hash = $1`, [tokenHash]);
      return rows[0] ? deviceRecord(rows[0]) : undefined;
    },

    async listDevices(waId: string): Promise<readonly DeviceRecord[]> {
      const { rows } = await ctx.query<DeviceRow>(`SELECT * FROM ${ctx.home()}.devices WHERE wa_id = $1 ORDER BY device_id`, [waId]);
      return rows.map((row) => deviceRecord(row));
    },

    async takeDevicePreKey(waId: string, deviceId: number): Promise<SealedPreKey | undefined> {
      const home = ctx.home();
      const { rows } = await ctx.query<{ id: number; sealed: Buffer }>(
        `DELETE FROM ${home}.device_pre_keys
          WHERE wa_id = $1 AND device_id = $2 AND id = (
            SELECT id FROM ${home}.device_pre_keys WHERE wa_id = $1 AND device_id = $2
            ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
          RETURNING id, sealed`,
        [waId, deviceId],
      );
      return rows[0] ? { id: rows[0].id, sealed: toBytes(rows[0].sealed) } : undefined;
    },

    async devicePreKeyCount(waId: string, deviceId: number): Promise<number> {
      const { rows } = await ctx.query<{ n: string }>(`SELECT count(*) AS n FROM ${ctx.home()}.device_pre_keys WHERE wa_id = $1 AND device_id = $2`, [waId, deviceId]);
      return toNumber(rows[0]!.n);
    },

    async getContact(waId: string): Promise<ContactRecord | undefined> {
      const { rows } = await ctx.query<{ created_at_ms: string; last_activity_ms: string }>(
        `SELECT created_at_ms, last_activity_ms FROM ${ctx.home()}.contacts WHERE wa_id = $1`,
        [waId],
      );
      return rows[0] ? { wa_id: waId, created_at_ms: toNumber(rows[0].created_at_ms), last_activity_ms: toNumber(rows[0].last_activity_ms) } : undefined;
    },
  };
}

function deviceRecord(row: DeviceRow): DeviceRecord {
  return {
    wa_id: row.wa_id,
    device_id: row.device_id,
    token_hash: row.token_hash,
    registered_at_ms: toNumber(row.registered_at_ms),
    sealed_keys: toBytes(row.sealed_keys),
  };
}

async function insertDevicePreKeys(ctx: PostgresContext, client: Queryable, waId: string, deviceId: number, preKeys: readonly SealedPreKey[]): Promise<void> {
  if (preKeys.length === 0) return;
  await client.query(
    `INSERT INTO ${ctx.home()}.device_pre_keys (wa_id, device_id, id, sealed, stored_at_ms)
     SELECT $1, $2, id, sealed, $5 FROM unnest($3::integer[], $4::bytea[]) AS k (id, sealed)
     ON CONFLICT (wa_id, device_id, id) DO UPDATE SET sealed = EXCLUDED.sealed`,
    [waId, deviceId, preKeys.map((k) => k.id), preKeys.map((k) => toBuffer(k.sealed)), ctx.options.now_ms()],
  );
}

interface DeviceRow {
  wa_id: string;
  device_id: number;
  token_hash: string;
  registered_at_ms: string;
  sealed_keys: Buffer;
}
