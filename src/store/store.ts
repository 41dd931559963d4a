/**
 * The storage contract of the reference server.
 *
 * Two implementations: `MemoryStore` (src/store/memory.ts, the embedded default) and the
 * PostgreSQL store (src/store/postgres*.ts). Every operation is async so both fit; the memory
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

/** Local Storage regions (cloud-api.md §5, M-REG `data_localization_region`) plus the default. */
export const REGIONS = ['US', 'AU', 'ID', 'IN', 'JP', 'SG', 'KR', 'DE', 'CH', 'GB', 'BR', 'BH', 'ZA', 'AE', 'CA'] as const;
export type Region = (typeof REGIONS)[number];
/** Where a business without a Local Storage region keeps its data, and where user identifiers live. */
export const DEFAULT_REGION: Region = 'US';

export function isRegion(value: unknown): value is Region {
  return typeof value === 'string' && (REGIONS as readonly string[]).includes(value);
}

export const RECORD_KINDS = ['business', 'business_key', 'message', 'inbox', 'webhook', 'status', 'contact', 'session'] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

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

/**
 * The `key` of each record as listed by the audit and bound into the AAD of its sealed bytes.
 * Device addresses are `${wa_id}.${device_id}` (libsignal ProtocolAddress notation).
 */
export const recordKey = {
  business: (phoneNumberId: string): string => phoneNumberId,
  businessDataKey: (phoneNumberId: string): string => `${phoneNumberId}/data_key`,
  businessIdentity: (phoneNumberId: string): string => `${phoneNumberId}/identity`,
  businessPreKey: (phoneNumberId: string, preKeyId: number): string => `${phoneNumberId}/pre_key/${preKeyId}`,
  message: (phoneNumberId: string, wamid: string): string => `${phoneNumberId}/${wamid}`,
  inbox: (waId: string, deviceId: number, wamid: string): string => `${waId}.${deviceId}/${wamid}`,
  webhook: (phoneNumberId: string, webhookId: string): string => `${phoneNumberId}/${webhookId}`,
  status: (phoneNumberId: string, wamid: string, status: string): string => `${phoneNumberId}/${wamid}/${status}`,
  contact: (waId: string): string => waId,
  device: (waId: string, deviceId: number): string => `${waId}.${deviceId}`,
  devicePreKey: (waId: string, deviceId: number, preKeyId: number): string => `${waId}.${deviceId}/pre_key/${preKeyId}`,
  inboxCursor: (waId: string, deviceId: number): string => `${waId}.${deviceId}/inbox_cursor`,
  conversation: (phoneNumberId: string, waId: string): string => `${phoneNumberId}/${waId}`,
  session: (phoneNumberId: string, waId: string, deviceId: number): string => `${phoneNumberId}/${waId}.${deviceId}`,
} as const;

// ---------------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------------

export interface BusinessRecord {
  readonly phone_number_id: string;
  readonly waba_id: string;
  readonly region: Region;
  /** Hex SHA-256 of the access token; the lookup key of the business face. */
  readonly access_token_hash: string;
  readonly created_at_ms: number;
  /**
   * The per-business data key, AES-256-GCM-wrapped by the region master key
   * (kind `business_key`, key `recordKey.businessDataKey`).
   */
  readonly wrapped_data_key: Uint8Array;
  /** The profile (display number, webhook url, verify token, app secret, limits …), sealed under the data key (kind `business`). */
  readonly sealed_profile: Uint8Array;
}

/** A business's Signal identity, signed prekey and Kyber prekey, sealed (kind `business_key`, key `recordKey.businessIdentity`). */
export interface BusinessIdentityRecord {
  readonly phone_number_id: string;
  readonly sealed: Uint8Array;
  readonly updated_at_ms: number;
}

/** A one-time prekey; `sealed` holds the key pair (business) or public key (device). */
export interface SealedPreKey {
  readonly id: number;
  readonly sealed: Uint8Array;
}

/** A user (wa_id). Lives in `DEFAULT_REGION`. */
export interface ContactRecord {
  readonly wa_id: string;
  readonly created_at_ms: number;
  /**
   * The user's last activity: the latest of registration, any status update of a message that
   * involves the user, and any inbound message from the user. The user's identifiers are
   * deleted `userRetentionMs` after it.
   */
  readonly last_activity_ms: number;
}

/** A user device (kind `contact`, key `recordKey.device`). Lives in `DEFAULT_REGION`. */
export interface DeviceRecord {
  readonly wa_id: string;
  readonly device_id: number;
  /** Hex SHA-256 of the device token; the lookup key of the transport face. */
  readonly token_hash: string;
  readonly registered_at_ms: number;
  /** registration_id, identity key, signed prekey, Kyber prekey: sealed under the home region's contact key. */
  readonly sealed_keys: Uint8Array;
  /**
   * Hex SHA-256 of the device's public identity key: one identity key belongs to one wa_id
   * (`registerDevice` refuses it for another). Absent on records stored before it existed.
   */
  readonly identity_key_hash?: string;
}

/** A business ↔ user pair (kind `contact`, key `recordKey.conversation`); lives in the business's region. */
export interface ConversationRecord {
  readonly phone_number_id: string;
  readonly wa_id: string;
  /** When the user last wrote to the business (opens the 24 h service window); null if never. */
  readonly last_inbound_ms: number | null;
  /** When a status of a message between them last changed; null if never. */
  readonly last_status_ms: number | null;
  /** When the user reported the business as spam; null if never. */
  readonly reported_spam_ms: number | null;
}

export interface SessionRecord {
  readonly sealed: Uint8Array;
  /**
   * Opaque positive integer; changes on every successful put and is never reused for the same
   * (business, user, device), even after the session was dropped and created again.
   */
  readonly version: number;
}

/** A stored inbound message (kind `message`). */
export interface MessageRecord {
  readonly phone_number_id: string;
  /** The wamid. */
  readonly id: string;
  readonly wa_id: string;
  readonly created_at_ms: number;
  readonly sealed: Uint8Array;
}

/** A ciphertext for one device (kind `inbox`). `sealed` holds the Signal message type + body. */
export interface InboxAppend {
  readonly phone_number_id: string;
  readonly wa_id: string;
  readonly device_id: number;
  /** The wamid of the message. */
  readonly id: string;
  readonly created_at_ms: number;
  readonly sealed: Uint8Array;
}

export interface InboxEntry extends InboxAppend {
  /** Per-device, strictly increasing across all regions. */
  readonly cursor: number;
}

export interface InboxPage {
  readonly entries: readonly InboxEntry[];
  /** Cursor to pass as `after` next time (the last entry's, or `after` when empty). */
  readonly cursor: number;
}

export type MessageStatus = 'sent' | 'delivered' | 'read' | 'failed' | 'played';

/** One status event (kind `status`). */
export interface StatusRecord {
  readonly phone_number_id: string;
  /** The wamid the status is about. */
  readonly id: string;
  readonly wa_id: string;
  readonly status: MessageStatus;
  readonly at_ms: number;
  readonly sealed: Uint8Array;
}

/** A queued webhook payload piece (kind `webhook`). */
export interface WebhookItem {
  readonly phone_number_id: string;
  /** Stable across retries, unique per business. */
  readonly id: string;
  readonly created_at_ms: number;
  /** Not delivered before this time. Claiming sets it to claim time + lease. */
  readonly due_at_ms: number;
  /** Failed delivery attempts so far. */
  readonly attempts: number;
  readonly sealed: Uint8Array;
}

export interface AuditRecord {
  readonly region: Region;
  readonly kind: RecordKind;
  readonly key: string;
  /** ISO 8601 UTC. */
  readonly stored_at: string;
  /** Standard base64 with padding of the bytes exactly as stored. */
  readonly bytes: string;
}

export interface MessageSweepResult {
  /** message + inbox + webhook + status records deleted. */
  readonly messages_deleted: number;
  /** True when everything older than the cutoff is gone; false when `max_records` stopped it. */
  readonly done: boolean;
}

export interface UserSweepResult {
  /** Users (wa_ids) whose identifiers were deleted. */
  readonly user_ids_deleted: number;
  /** Device records, conversation records and sessions deleted along with them. */
  readonly records_deleted: number;
  readonly done: boolean;
}

export interface StoreMetrics {
  readonly webhook_queue_depth: number;
  readonly businesses: number;
  readonly contacts: number;
  readonly devices: number;
  readonly sessions: number;
  readonly messages: number;
  readonly inbox_entries: number;
  readonly statuses: number;
}

export interface DeviceKeysUpdate {
  readonly sealed_keys?: Uint8Array;
  readonly add_one_time_pre_keys?: readonly SealedPreKey[];
  /** Refuse (StoreError 'invalid') when the device would hold more one-time prekeys than this. */
  readonly max_one_time_pre_keys?: number;
}

export interface RegisterDeviceResult {
  /** True when a device with this (wa_id, device_id) existed and was replaced. */
  readonly replaced: boolean;
  /** Business sessions dropped with the old device. */
  readonly sessions_dropped: number;
}

// ---------------------------------------------------------------------------------------------
// The interface
// ---------------------------------------------------------------------------------------------

export interface Store {
  // --- businesses (kept forever) ---
  /** StoreError('exists') if the phone_number_id or access token hash is taken. */
  createBusiness(business: BusinessRecord): Promise<void>;
  getBusiness(phoneNumberId: string): Promise<BusinessRecord | undefined>;
  getBusinessByTokenHash(accessTokenHash: string): Promise<BusinessRecord | undefined>;
  /** Replaces the sealed profile (e.g. new webhook url). StoreError('not-found') if absent. */
  updateBusinessProfile(phoneNumberId: string, sealedProfile: Uint8Array): Promise<void>;
  listBusinesses(): Promise<readonly BusinessRecord[]>;

  getBusinessIdentity(phoneNumberId: string): Promise<BusinessIdentityRecord | undefined>;
  putBusinessIdentity(record: BusinessIdentityRecord): Promise<void>;
  /** Atomically removes and returns one one-time prekey; never the same one twice. */
  takeBusinessPreKey(phoneNumberId: string): Promise<SealedPreKey | undefined>;
  addBusinessPreKeys(phoneNumberId: string, preKeys: readonly SealedPreKey[]): Promise<void>;
  businessPreKeyCount(phoneNumberId: string): Promise<number>;

  // --- users and devices (home region) ---
  /**
   * Registers a device, or replaces an existing (wa_id, device_id) in one atomic step: new keys,
   * new token hash (the old one stops resolving), its one-time prekeys replaced, its inbox
   * entries (sealed for the old keys' sessions) and every business's session with that device
   * dropped. Creates the contact if new and counts the registration as user activity.
   * StoreError('exists') when `identity_key_hash` belongs to a device of another wa_id; nothing
   * is stored then.
   */
  registerDevice(device: DeviceRecord, oneTimePreKeys: readonly SealedPreKey[]): Promise<RegisterDeviceResult>;
  /**
   * PUT pre_keys: appends one-time prekeys and optionally replaces the sealed keys. With
   * `max_one_time_pre_keys`, StoreError('invalid') and nothing changed when the device would hold
   * more than that many afterwards (checked atomically with the append).
   */
  updateDeviceKeys(waId: string, deviceId: number, update: DeviceKeysUpdate): Promise<void>;
  getDevice(waId: string, deviceId: number): Promise<DeviceRecord | undefined>;
  getDeviceByTokenHash(tokenHash: string): Promise<DeviceRecord | undefined>;
  listDevices(waId: string): Promise<readonly DeviceRecord[]>;
  /** Atomically removes and returns one of the device's one-time prekeys; never the same one twice. */
  takeDevicePreKey(waId: string, deviceId: number): Promise<SealedPreKey | undefined>;
  devicePreKeyCount(waId: string, deviceId: number): Promise<number>;
  getContact(waId: string): Promise<ContactRecord | undefined>;

  // --- per business ↔ user pair (business region) ---
  getConversation(phoneNumberId: string, waId: string): Promise<ConversationRecord | undefined>;
  /** Records a spam report from the user about the business. */
  reportSpam(phoneNumberId: string, waId: string, atMs: number): Promise<void>;

  // --- Signal sessions (business region) ---
  getSession(phoneNumberId: string, waId: string, deviceId: number): Promise<SessionRecord | undefined>;
  /**
   * Compare-and-set: succeeds only if the stored version equals `expectedVersion` (0 = must not
   * exist yet); returns the new version. StoreError('conflict') otherwise, nothing written.
   * StoreError('not-found') if the business or the device does not exist.
   */
  putSession(phoneNumberId: string, waId: string, deviceId: number, sealed: Uint8Array, expectedVersion: number): Promise<number>;
  deleteSession(phoneNumberId: string, waId: string, deviceId: number): Promise<void>;

  // --- message data (business region, time-bucketed, retention-subject) ---
  /**
   * Batch append of inbound messages (the benchmarks' bulk path too). Each record goes to its
   * business's region (StoreError('not-found') for an unknown business, nothing stored) and
   * opens/refreshes the user's service window and activity.
   */
  appendMessages(records: readonly MessageRecord[]): Promise<void>;
  /** Appends ciphertexts to device inboxes; returns the cursor given to each, in order. */
  appendInbox(entries: readonly InboxAppend[]): Promise<readonly number[]>;
  /**
   * Entries of the device with cursor > `after`, oldest first, at most `limit`, and with
   * `maxBytes` no more than that many sealed bytes in all (but always at least one entry).
   */
  readInbox(waId: string, deviceId: number, after: number, limit: number, maxBytes?: number): Promise<InboxPage>;
  /** Appends status events; bumps the conversation's last_status_ms and the user's activity. */
  recordStatuses(records: readonly StatusRecord[]): Promise<void>;
  /** The status history of one message, oldest first. */
  listStatuses(phoneNumberId: string, wamid: string): Promise<readonly StatusRecord[]>;

  // --- webhook queue (business region, bounded) ---
  /**
   * All-or-nothing: if the business's queue cannot take every item, StoreError('queue-full')
   * and nothing is queued. Never drops silently.
   */
  enqueueWebhooks(items: readonly WebhookItem[]): Promise<void>;
  /**
   * Claims up to `limit` items with due_at_ms ≤ nowMs (of one business when given), oldest
   * due first, and moves their due_at_ms to nowMs + leaseMs so no other claimer gets them
   * until the lease runs out.
   */
  claimWebhooks(
    nowMs: number,
    options: {
      limit: number;
      lease_ms: number;
      phone_number_id?: string;
      /** Hint: businesses whose items the claimer cannot take now (a store may ignore it). */
      skip_phone_number_ids?: ReadonlySet<string>;
      /** Hint: at most this many items of any one business (a store may ignore it). */
      per_business_limit?: number;
    },
  ): Promise<readonly WebhookItem[]>;
  /** Removes delivered (or dropped) items. Unknown ids are ignored. */
  ackWebhooks(phoneNumberId: string, ids: readonly string[]): Promise<void>;
  /** Sets the next due time and attempt count of an item. Unknown ids are ignored. */
  rescheduleWebhook(phoneNumberId: string, id: string, dueAtMs: number, attempts: number): Promise<void>;
  /** Queue depth (one business or all). */
  webhookQueueDepth(phoneNumberId?: string): Promise<number>;
  /** Earliest due_at_ms in the queue, or undefined when empty. */
  nextWebhookDueMs(): Promise<number | undefined>;

  // --- retention (called by src/server/retention.ts) ---
  /**
   * Deletes message, inbox, webhook and status records created before `cutoffMs`. Cost grows
   * with what is deleted, not with what is stored. `max_records` bounds the records one call
   * deletes one by one (a whole expired time bucket of messages may be dropped at once, in
   * constant time, beyond it); `done: false` means call again.
   */
  sweepMessageData(cutoffMs: number, options: { max_records: number }): Promise<MessageSweepResult>;
  /**
   * Deletes every identifier of users whose last activity is before `cutoffMs`: contact,
   * devices, their prekeys, conversations and sessions with them. At most `max_users` per call.
   */
  sweepUsers(cutoffMs: number, options: { max_users: number }): Promise<UserSweepResult>;

  // --- audit ---
  /** Every record at rest in one region's partition. */
  auditRecords(region: Region): AsyncIterable<AuditRecord>;

  metrics(): Promise<StoreMetrics>;
  close(): Promise<void>;
}
