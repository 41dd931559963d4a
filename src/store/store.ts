/**
 * The storage contract of the reference server.
 *
 * `Store` is the composition of small role interfaces (./roles.ts: directory, business keys,
 * devices, conversations, sessions, messages, inbox, statuses, webhook queue, retention, audit,
 * metrics); record shapes are in ./records.ts. Two implementations, one file per role each:
 * `MemoryStore` (src/store/memory/, the embedded default) and `PostgresStore`
 * (src/store/postgres/). Every operation is async so both fit; the memory
 * store answers with already-resolved promises.
 *
 * What is stored (transport-api.md §3, cloud-api.md §5):
 * - Routing metadata only in the clear: ids (phone_number_id, waba_id, wa_id, device_id, wamid),
 *   hashes of bearer tokens and of device identity keys, timestamps, region codes, counters and versions.
 * - Everything else is a *sealed* blob (`Uint8Array`) produced by `AtRest` (src/server/at-rest.ts):
 *   the store never sees plaintext and never seals or opens anything itself. The AAD of every
 *   sealed blob binds it to its `(kind, key)`; `recordKey` below is the one place that builds
 *   those keys, so the sealer and the audit listing agree byte for byte.
 *
 * Record kinds (the closed set listed by `GET /admin/v1/audit/records`):
 * | kind           | what                                                               | retention                   |
 * |----------------|--------------------------------------------------------------------|-----------------------------|
 * | `business`     | the business profile (webhook url, app secret, display number …)   | kept                        |
 * | `business_key` | wrapped data key, Signal identity + signed/Kyber prekeys, one-time prekeys | kept                |
 * | `message`      | a stored inbound message                                           | ≤ 30 days after creation    |
 * | `inbox`        | a ciphertext queued for one user device                            | ≤ 30 days after creation    |
 * | `webhook`      | a queued webhook payload piece (retry queue)                       | ≤ 7 days (retry window), 30 at most |
 * | `status`       | one message-status event (sent/delivered/read/failed)              | ≤ 30 days after creation    |
 * | `contact`      | user identifiers: contact, devices (keys, token hash), one-time prekeys, inbox cursors, per-business conversation (service window) | 30 days after last activity |
 * | `session`      | the business's Signal session with one user device                 | with the user's identifiers |
 *
 * Regions: every business has a region (`DEFAULT_REGION` "US" when none was asked for). All of a
 * business's records (business, business_key, message, inbox, webhook, status, session, and its
 * per-user conversation record) live in that region's partition and nowhere else. A user's own
 * records (contact, devices, device prekeys) are not per business: they live in the home
 * partition `DEFAULT_REGION` (cloud-api.md §5: "Contact-book phone numbers are stored in Meta DCs
 * regardless") and are sealed under that region's contact key.
 */
import { KindedError } from '../kinded-error.js';
import type {
  AuditStore,
  BusinessDirectoryStore,
  BusinessKeyStore,
  ConversationStore,
  DeviceStore,
  InboxStore,
  MessageStore,
  MetricsStore,
  RetentionStore,
  SessionStore,
  SharedClockStore,
  SharedLimitStore,
  StatusStore,
  WebhookQueueStore,
} from './roles.js';

export * from './records.js';
export type * from './roles.js';

export type StoreErrorKind =
  /** A bounded queue (the webhook queue) is full; nothing was stored. */
  | 'queue-full'
  /** Compare-and-set lost: the record's version is not the one the caller read. */
  | 'conflict'
  /** A record the operation needs does not exist (e.g. the business of a message). */
  | 'not-found'
  /** The record already exists and the operation does not replace. */
  | 'exists'
  /** Sealed bytes failed to open (wrong key, swapped record, tampering). */
  | 'corrupt'
  /** The caller passed something the store refuses (bad region, bad id). */
  | 'invalid'
  /** The backing database failed (PostgreSQL only). */
  | 'unavailable';

export class StoreError extends KindedError<StoreErrorKind> {
  constructor(kind: StoreErrorKind, message?: string, options?: { cause?: unknown }) {
    super(kind, message ?? kind, options);
  }
}

/** The whole storage contract: every role, and `close`. */
export interface Store
  extends BusinessDirectoryStore,
    BusinessKeyStore,
    DeviceStore,
    ConversationStore,
    SessionStore,
    MessageStore,
    InboxStore,
    StatusStore,
    WebhookQueueStore,
    RetentionStore,
    AuditStore,
    MetricsStore {
  /** Releases what the store holds (the PostgreSQL pool); the store is unusable afterwards. */
  close(): Promise<void>;
}

/** True for a store whose limits and virtual clock several server processes can share (PostgreSQL). */
export function offersSharedState(store: Store): store is Store & SharedLimitStore & SharedClockStore {
  const shared = store as Partial<SharedLimitStore & SharedClockStore>;
  return typeof shared.takeSend === 'function' && typeof shared.advanceVirtualClock === 'function';
}
