/**
 * The roles of the storage contract: small interfaces, one per kind of record and what is done
 * with it (the way libsignal splits its storage into SessionStore, PreKeyStore, IdentityKeyStore
 * …). `Store` (./store.ts) is their composition; a server module depends on the roles it uses.
 * Each backend implements each role in one file: src/store/memory/<role>.ts and
 * src/store/postgres/<role>.ts.
 *
 * Errors are `StoreError`s (./store.ts) of the kinds each method names.
 */
import type {
  AuditRecord,
  BusinessIdentityRecord,
  BusinessRecord,
  ContactRecord,
  ConversationRecord,
  DeviceKeysUpdate,
  DeviceRecord,
  InboxAppend,
  InboxPage,
  MessageRecord,
  MessageSweepResult,
  Region,
  RegisterDeviceResult,
  SealedPreKey,
  SendTake,
  SendTakeResult,
  SendTaken,
  SessionRecord,
  StatusRecord,
  StoreMetrics,
  UserSweepResult,
  WebhookClaimOptions,
  WebhookItem,
} from './records.js';

/** Businesses (kept forever): the profile in its region, the region and token lookup in the directory. */
export interface BusinessDirectoryStore {
  /** StoreError('exists') if the phone_number_id or access token hash is taken. */
  createBusiness(business: BusinessRecord): Promise<void>;
  getBusiness(phoneNumberId: string): Promise<BusinessRecord | undefined>;
  getBusinessByTokenHash(accessTokenHash: string): Promise<BusinessRecord | undefined>;
  /** Replaces the sealed profile (e.g. new webhook url). StoreError('not-found') if absent. */
  updateBusinessProfile(phoneNumberId: string, sealedProfile: Uint8Array): Promise<void>;
  listBusinesses(): Promise<readonly BusinessRecord[]>;
}

/** A business's Signal identity (identity key, signed and Kyber prekeys) and its one-time prekeys (business region). */
export interface BusinessKeyStore {
  getBusinessIdentity(phoneNumberId: string): Promise<BusinessIdentityRecord | undefined>;
  putBusinessIdentity(record: BusinessIdentityRecord): Promise<void>;
  /** Atomically removes and returns one one-time prekey; never the same one twice. */
  takeBusinessPreKey(phoneNumberId: string): Promise<SealedPreKey | undefined>;
  addBusinessPreKeys(phoneNumberId: string, preKeys: readonly SealedPreKey[]): Promise<void>;
  businessPreKeyCount(phoneNumberId: string): Promise<number>;
}

/** Users and their devices in the home region: registration, keys, one-time prekeys, token lookup. */
export interface DeviceStore {
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
}

/** The business ↔ user pair (business region): service window, status activity, spam reports. */
export interface ConversationStore {
  getConversation(phoneNumberId: string, waId: string): Promise<ConversationRecord | undefined>;
  /** Records a spam report from the user about the business. */
  reportSpam(phoneNumberId: string, waId: string, atMs: number): Promise<void>;
}

/** The business's Signal session with each user device (business region), under compare-and-set. */
export interface SessionStore {
  getSession(phoneNumberId: string, waId: string, deviceId: number): Promise<SessionRecord | undefined>;
  /**
   * Compare-and-set: succeeds only if the stored version equals `expectedVersion` (0 = must not
   * exist yet); returns the new version. StoreError('conflict') otherwise, nothing written.
   * StoreError('not-found') if the business or the device does not exist.
   */
  putSession(phoneNumberId: string, waId: string, deviceId: number, sealed: Uint8Array, expectedVersion: number): Promise<number>;
  deleteSession(phoneNumberId: string, waId: string, deviceId: number): Promise<void>;
}

/** Stored inbound messages (business region, time-bucketed, retention-subject). */
export interface MessageStore {
  /**
   * Batch append of inbound messages (the benchmarks' bulk path too). Each record goes to its
   * business's region (StoreError('not-found') for an unknown business, nothing stored) and
   * opens/refreshes the user's service window and activity.
   */
  appendMessages(records: readonly MessageRecord[]): Promise<void>;
}

/** Ciphertexts queued for user devices, read by cursor (business region; cursors per device across regions). */
export interface InboxStore {
  /** Appends ciphertexts to device inboxes; returns the cursor given to each, in order. */
  appendInbox(entries: readonly InboxAppend[]): Promise<readonly number[]>;
  /**
   * Entries of the device with cursor > `after`, oldest first, at most `limit`, and with
   * `maxBytes` no more than that many sealed bytes in all (but always at least one entry).
   */
  readInbox(waId: string, deviceId: number, after: number, limit: number, maxBytes?: number): Promise<InboxPage>;
}

/** Message status events (business region, retention-subject). */
export interface StatusStore {
  /** Appends status events; bumps the conversation's last_status_ms and the user's activity. */
  recordStatuses(records: readonly StatusRecord[]): Promise<void>;
  /** The status history of one message, oldest first. */
  listStatuses(phoneNumberId: string, wamid: string): Promise<readonly StatusRecord[]>;
}

/** The webhook retry queue (business region, bounded per business). */
export interface WebhookQueueStore {
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
    options: WebhookClaimOptions,
  ): Promise<readonly WebhookItem[]>;
  /** Removes delivered (or dropped) items. Unknown ids are ignored. */
  ackWebhooks(phoneNumberId: string, ids: readonly string[]): Promise<void>;
  /** Sets the next due time and attempt count of an item. Unknown ids are ignored. */
  rescheduleWebhook(phoneNumberId: string, id: string, dueAtMs: number, attempts: number): Promise<void>;
  /** Queue depth (one business or all). */
  webhookQueueDepth(phoneNumberId?: string): Promise<number>;
  /** Earliest due_at_ms in the queue, or undefined when empty. */
  nextWebhookDueMs(): Promise<number | undefined>;
}

/** The two retention sweeps, called by src/server/retention.ts. */
export interface RetentionStore {
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
}

/** The listing of every record at rest, for GET /admin/v1/audit/records. */
export interface AuditStore {
  /** Every record at rest in one region's partition. */
  auditRecords(region: Region): AsyncIterable<AuditRecord>;
}

/** Counts for the metrics endpoint and the spam guard. */
export interface MetricsStore {
  metrics(): Promise<StoreMetrics>;
}

/**
 * The send limits and the spam guard's state shared by every server process on one database
 * (PostgreSQL only; docs/postgres.md "Several server processes"). Each call is one round trip
 * and atomic; a refusal changes nothing.
 */
export interface SharedLimitStore {
  /** Checks every outbound limit in order and, when all pass, takes them. */
  takeSend(take: SendTake): Promise<SendTakeResult>;
  /** Gives back what `takeSend` took (a send refused later in its path). */
  giveBackSend(taken: SendTaken): Promise<void>;
  /** Takes one throughput token of the number for an inbound message; false (nothing changed) when none is left. */
  takeInbound(phoneNumberId: string, throughputMps: number, nowMs: number): Promise<boolean>;
  giveBackInbound(phoneNumberId: string, nowMs: number): Promise<void>;
  /** A message of the business reached the user (inbox entry or receipt). */
  recordReached(phoneNumberId: string, waId: string, nowMs: number): Promise<void>;
  /** Records a spam report; true when it counts (the business reached the user within `qualityWindowMs`). */
  recordReport(phoneNumberId: string, waId: string, nowMs: number, qualityWindowMs: number): Promise<boolean>;
  /** Deletes user identifiers last touched before `horizonMs`, and pair buckets that are full again. */
  forgetLimitsBefore(horizonMs: number, nowMs: number): Promise<void>;
}

/** The virtual clock shared by every server process on one database (row + notification). */
export interface SharedClockStore {
  /** The shared time, set to `localMs` when there is none yet. */
  joinVirtualClock(localMs: number): Promise<number>;
  /** Moves the shared time to max(shared, `localMs`) + `advanceMs`, tells every listener, returns it. */
  advanceVirtualClock(localMs: number, advanceMs: number): Promise<number>;
  readVirtualClock(): Promise<number | undefined>;
  /** Calls `onTime` with each new shared time announced; `open` turns false when the listener's connection is lost; `close` stops listening. */
  watchVirtualClock(onTime: (nowMs: number) => void): Promise<{ readonly open: boolean; close(): Promise<void> }>;
}
