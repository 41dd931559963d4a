/**
 * Audit listing (transport-api.md §3 `GET /admin/v1/audit/records?region=<code>`): one NDJSON
 * line per record at rest in a region's partition, `{"region","kind","key","stored_at","bytes"}`
 * with `bytes` the standard base64 of the bytes exactly as stored. It lets an auditor check that
 * nothing is kept in plaintext, past its retention, or outside its region.
 */
import { StoreError, isRegion } from '../store/store.js';
import type { AuditRecord, Region, AuditStore } from '../store/store.js';

/** Every record at rest in `region`. StoreError('invalid') for an unknown region code. */
export function auditRecords(store: AuditStore, region: string): AsyncIterable<AuditRecord> {
  if (!isRegion(region)) throw new StoreError('invalid', `unknown region ${region}`);
  return store.auditRecords(region as Region);
}

/** The NDJSON body, one line (with its `\n`) per record, for streaming into a response. */
export async function* auditNdjson(store: AuditStore, region: string): AsyncIterable<string> {
  for await (const record of auditRecords(store, region)) {
    yield `${JSON.stringify({ region: record.region, kind: record.kind, key: record.key, stored_at: record.stored_at, bytes: record.bytes })}\n`;
  }
}
