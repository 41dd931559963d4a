/**
 * Compliance invariants checked after every load scenario, through the operator face's audit
 * endpoint only (transport-api.md §3), so they hold for any server that speaks the contract:
 *
 * 1. `canary-not-at-rest`: no record at rest, in any region, contains the scenario's canary
 *    text in plaintext (everything at rest is encrypted).
 * 2. `nothing-outside-region`: the message data of a business with a Local Storage region
 *    (records keyed by its phone_number_id, and inbox records of its wamids) lives only in
 *    that region's store, and is found there.
 * 3. `retention-after-31-days`: after `POST /admin/v1/clock {advance_ms: 31 d}` and
 *    `POST /admin/v1/retention/sweep`, no message data (message, inbox, webhook, status) and no
 *    user identifier (contact, session) older than 30 days is left (cloud-api.md §5).
 *
 * Check 3 moves the server's clock: it runs last.
 */
import type { Check } from '../result/result.js';
import type { AuditRecord, ContractClient } from '../load/contract.js';

/** Local Storage regions plus the default (cloud-api.md §5), as the audit endpoint accepts them. */
export const AUDIT_REGIONS = ['US', 'AU', 'ID', 'IN', 'JP', 'SG', 'KR', 'DE', 'CH', 'GB', 'BR', 'BH', 'ZA', 'AE', 'CA'] as const;

const DAY_MS = 86_400_000;
const MESSAGE_KINDS = new Set(['message', 'inbox', 'webhook', 'status']);
const USER_KINDS = new Set(['contact', 'session']);

export interface RegionalBusiness {
  phoneNumberId: string;
  region: string;
  /** wamids of messages it sent or received (to find its inbox records). */
  wamids: Iterable<string>;
}

export interface ComplianceOptions {
  /** Check id prefix, e.g. 'load/mass-messaging'. */
  scope: string;
  canary: string;
  regional: RegionalBusiness[];
  /**
   * Also check retention, which moves the server's virtual clock 31 days and sweeps. A shard of a
   * sharded run leaves it out: the other shards may still be sending, and their data would go
   * with the sweep. @default true
   */
  retention?: boolean;
}

async function allRecords(client: ContractClient): Promise<Map<string, AuditRecord[]>> {
  const byRegion = new Map<string, AuditRecord[]>();
  for (const region of AUDIT_REGIONS) byRegion.set(region, await client.auditRecords(region));
  return byRegion;
}

function containsBytes(haystack: Buffer, needle: Buffer): boolean {
  return haystack.indexOf(needle) !== -1;
}

export function checkCanary(scope: string, canary: string, byRegion: Map<string, AuditRecord[]>): Check {
  const needle = Buffer.from(canary, 'utf8');
  const needle16 = Buffer.from(canary, 'utf16le');
  let records = 0;
  const hits: string[] = [];
  for (const [region, list] of byRegion) {
    for (const r of list) {
      records++;
      const bytes = Buffer.from(r.bytes, 'base64');
      if (containsBytes(bytes, needle) || containsBytes(bytes, needle16) || r.key.includes(canary)) hits.push(`${region}:${r.kind}:${r.key}`);
    }
  }
  return {
    id: `${scope}/compliance/canary-not-at-rest`,
    passed: hits.length === 0 && records > 0,
    detail: records === 0 ? 'the audit endpoint listed no records at all' : hits.length === 0 ? `canary absent from all ${records} records at rest` : `canary found in plaintext in ${hits.length} records, e.g. ${hits.slice(0, 3).join(', ')}`,
  };
}

export function checkRegions(scope: string, regional: RegionalBusiness[], byRegion: Map<string, AuditRecord[]>): Check {
  const problems: string[] = [];
  let homeRecords = 0;
  for (const b of regional) {
    const prefix = `${b.phoneNumberId}/`;
    const wamids = new Set(b.wamids);
    const belongs = (r: AuditRecord): boolean => {
      if (r.kind === 'inbox') {
        const at = r.key.lastIndexOf('/');
        return at !== -1 && wamids.has(r.key.slice(at + 1));
      }
      return (MESSAGE_KINDS.has(r.kind) || r.kind === 'session') && r.key.startsWith(prefix);
    };
    for (const [region, list] of byRegion) {
      const mine = list.filter(belongs).length;
      if (region === b.region) homeRecords += mine;
      else if (mine > 0) problems.push(`${mine} records of ${b.phoneNumberId} (region ${b.region}) found in ${region}`);
    }
  }
  const vacuous = regional.length > 0 && homeRecords === 0;
  return {
    id: `${scope}/compliance/nothing-outside-region`,
    passed: problems.length === 0 && !vacuous,
    detail: problems.length > 0 ? problems.join('; ') : vacuous ? 'no message data of the regional businesses found in their own regions (check would be vacuous)' : `${homeRecords} records of ${regional.length} regional business(es), all in their regions`,
  };
}

export async function checkRetention(scope: string, client: ContractClient): Promise<Check> {
  const id = `${scope}/compliance/retention-after-31-days`;
  const nowMs = await client.advanceClock(31 * DAY_MS);
  if (nowMs === undefined) return { id, passed: false, detail: 'the server has no virtual clock (POST /admin/v1/clock answered 404): retention cannot be checked' };
  const sweep = await client.retentionSweep();
  const byRegion = await allRecords(client);
  const cutoff = nowMs - 30 * DAY_MS;
  const stale: string[] = [];
  for (const [region, list] of byRegion) {
    for (const r of list) {
      if (!MESSAGE_KINDS.has(r.kind) && !USER_KINDS.has(r.kind)) continue;
      const storedMs = typeof r.stored_at === 'number' ? r.stored_at : Date.parse(r.stored_at);
      if (storedMs < cutoff) stale.push(`${region}:${r.kind}:${r.key}`);
    }
  }
  return {
    id,
    passed: stale.length === 0,
    detail:
      stale.length === 0
        ? `sweep deleted ${sweep.messages_deleted} messages and ${sweep.user_ids_deleted} user ids; nothing older than 30 days left`
        : `${stale.length} records past retention after the sweep, e.g. ${stale.slice(0, 3).join(', ')}`,
  };
}

/** All three invariants; the retention check (which advances the clock) last, unless left out. */
export async function checkCompliance(client: ContractClient, options: ComplianceOptions): Promise<Check[]> {
  const byRegion = await allRecords(client);
  const checks = [checkCanary(options.scope, options.canary, byRegion), checkRegions(options.scope, options.regional, byRegion)];
  if (options.retention ?? true) checks.push(await checkRetention(options.scope, client));
  return checks;
}
