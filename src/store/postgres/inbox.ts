/**
 * The PostgreSQL store's InboxStore (per-device inboxes of ciphertexts, with cursors).
 */
import { StoreError, isRegion, recordKey } from '../store.js';
import type { InboxStore, InboxAppend, InboxEntry, InboxPage, Region } from '../store.js';
import { PostgresContext, toBuffer, toBytes, toNumber, floorMs } from './context.js';

export function postgresInbox(ctx: PostgresContext): InboxStore {
  return {
    async appendInbox(entries: readonly InboxAppend[]): Promise<readonly number[]> {
      if (entries.length === 0) return [];
      const groups = await ctx.byRegion(entries);
      const regionOf = new Map<InboxAppend, Region>();
      for (const [region, group] of groups) for (const e of group) regionOf.set(e, region);
      return ctx.withPartitions(groups, () =>
        ctx.transaction(async (client) => {
          // Per device, in a fixed order (no deadlocks between appenders): reserve cursors.
          const byDevice = new Map<string, InboxAppend[]>();
          for (const e of entries) {
            const key = `${e.wa_id}.${e.device_id}`;
            let list = byDevice.get(key);
            if (!list) byDevice.set(key, (list = []));
            list.push(e);
          }
          const cursors = new Map<InboxAppend, number>();
          const home = ctx.home();
          for (const key of [...byDevice.keys()].sort()) {
            const list = byDevice.get(key)!;
            const found = await client.query(`SELECT 1 FROM ${home}.devices WHERE wa_id = $1 AND device_id = $2`, [list[0]!.wa_id, list[0]!.device_id]);
            if (found.rowCount === 0) throw new StoreError('not-found', `device ${recordKey.device(list[0]!.wa_id, list[0]!.device_id)}`);
            const regions = [...new Set(list.map((e) => regionOf.get(e)!))];
            const { rows } = await client.query<{ last_cursor: string }>(
              `INSERT INTO ${home}.inbox_cursors (wa_id, device_id, last_cursor, regions) VALUES ($1, $2, $3, $4::text[])
               ON CONFLICT (wa_id, device_id) DO UPDATE SET last_cursor = ${home}.inbox_cursors.last_cursor + EXCLUDED.last_cursor,
                 regions = ARRAY(SELECT DISTINCT r FROM unnest(${home}.inbox_cursors.regions || EXCLUDED.regions) AS r ORDER BY r)
               RETURNING last_cursor`,
              [list[0]!.wa_id, list[0]!.device_id, list.length, regions],
            );
            const last = toNumber(rows[0]!.last_cursor);
            list.forEach((e, i) => cursors.set(e, last - list.length + 1 + i));
          }
          for (const [region, group] of groups) {
            await client.query(
              `INSERT INTO ${ctx.schema(region)}.inbox (wa_id, device_id, cursor, phone_number_id, id, created_at_ms, sealed)
               SELECT * FROM unnest($1::text[], $2::integer[], $3::bigint[], $4::text[], $5::text[], $6::bigint[], $7::bytea[])`,
              [
                group.map((e) => e.wa_id),
                group.map((e) => e.device_id),
                group.map((e) => cursors.get(e)!),
                group.map((e) => e.phone_number_id),
                group.map((e) => e.id),
                group.map((e) => floorMs(e.created_at_ms)),
                group.map((e) => toBuffer(e.sealed)),
              ],
            );
          }
          return entries.map((e) => cursors.get(e)!);
        }),
      );
    },

    async readInbox(waId: string, deviceId: number, after: number, limit: number, maxBytes?: number): Promise<InboxPage> {
      const { rows: cursorRows } = await ctx.query<{ regions: string[] }>(`SELECT regions FROM ${ctx.home()}.inbox_cursors WHERE wa_id = $1 AND device_id = $2`, [waId, deviceId]);
      const regions = (cursorRows[0]?.regions ?? []).filter(isRegion);
      if (regions.length === 0) return { entries: [], cursor: after };
      for (const region of regions) await ctx.ensureRegion(region);
      const union = regions
        .map((region) => `(SELECT wa_id, device_id, cursor, phone_number_id, id, created_at_ms, sealed FROM ${ctx.schema(region)}.inbox WHERE wa_id = $1 AND device_id = $2 AND cursor > $3 ORDER BY cursor LIMIT $4)`)
        .join(' UNION ALL ');
      // With a byte bound: the running total of sealed bytes in cursor order, cut where it passes
      // the bound (the first entry always stays), so a page never loads more than it answers.
      const { rows } =
        maxBytes === undefined
          ? await ctx.query<InboxRow>(`SELECT * FROM (${union}) AS i ORDER BY cursor LIMIT $4`, [waId, deviceId, after, limit])
          : await ctx.query<InboxRow>(
              `SELECT wa_id, device_id, cursor, phone_number_id, id, created_at_ms, sealed FROM (
                 SELECT i.*, row_number() OVER (ORDER BY cursor) AS n, sum(octet_length(sealed)) OVER (ORDER BY cursor) AS total
                   FROM (SELECT * FROM (${union}) AS u ORDER BY cursor LIMIT $4) AS i) AS p
                WHERE n = 1 OR total <= $5 ORDER BY cursor`,
              [waId, deviceId, after, limit, maxBytes],
            );
      const entries: InboxEntry[] = rows.map((row) => ({
        phone_number_id: row.phone_number_id,
        wa_id: row.wa_id,
        device_id: row.device_id,
        id: row.id,
        created_at_ms: toNumber(row.created_at_ms),
        sealed: toBytes(row.sealed),
        cursor: toNumber(row.cursor),
      }));
      return { entries, cursor: entries.length > 0 ? entries[entries.length - 1]!.cursor : after };
    },
  };
}

interface InboxRow {
  wa_id: string;
  device_id: number;
  cursor: string;
  phone_number_id: string;
  id: string;
  created_at_ms: string;
  sealed: Buffer;
}
