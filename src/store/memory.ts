/**
 * The in-memory Store: the embedded default of the reference server, and what the retention
 * benchmarks sweep at 10^5…10^7 stored messages.
 *
 * - One `Partition` object per region; a business's records live only in its region's
 *   partition; user records (contacts, devices, device prekeys) in `DEFAULT_REGION`'s.
 * - Message data (messages, inbox entries, webhook pieces, statuses) is indexed by time bucket
 *   of its creation (`bucket_ms`, default 1 hour), so a sweep drops whole expired buckets and
 *   only filters the edge bucket. Users are indexed by time bucket of their last activity.
 * - Stored records keep the caller's objects (sealed bytes included) by reference; per stored
 *   message the store adds one array slot.
 * - Every operation runs synchronously inside one call, so each is atomic with respect to the
 *   others (what PostgreSQL gets from transactions).
 */
import { DEFAULT_REGION, REGIONS, StoreError, recordKey } from './store.js';
import type {
  AuditRecord,
  BusinessIdentityRecord,
  BusinessRecord,
  ContactRecord,
  ConversationRecord,
  DeviceKeysUpdate,
  DeviceRecord,
  InboxAppend,
  InboxEntry,
  InboxPage,
  MessageRecord,
  MessageSweepResult,
  RecordKind,
  Region,
  RegisterDeviceResult,
  SealedPreKey,
  SessionRecord,
  StatusRecord,
  Store,
  StoreMetrics,
  UserSweepResult,
  WebhookItem,
} from './store.js';
import { DueHeap, MinHeap, TimeBuckets, lowerBoundBy } from './memory-buckets.js';
import { toBase64 } from '../encoding/base64.js';

export interface MemoryStoreOptions {
  /** Webhook pieces queued per business before enqueue refuses with 'queue-full'. Default 10,000. */
  readonly webhook_queue_capacity?: number;
  /** Width of the time buckets for message data and user activity. Default 1 hour. */
  readonly bucket_ms?: number;
  /** Time source for `stored_at` of records whose operation carries no time. Default Date.now. */
  readonly now?: () => number;
}

interface StoredPreKey {
  readonly preKey: SealedPreKey;
  readonly stored_at_ms: number;
}

interface StoredSession {
  readonly sealed: Uint8Array;
  readonly version: number;
  readonly stored_at_ms: number;
}

interface StoredInbox {
  readonly entry: InboxEntry;
  expired: boolean;
}

interface DeviceInbox {
  entries: StoredInbox[];
  head: number;
}

interface QueuedWebhook {
  item: WebhookItem;
  generation: number;
  /** Acknowledged or swept; the bucket drops such entries when it compacts. */
  gone: boolean;
}

interface BusinessQueue {
  readonly items: Map<string, QueuedWebhook>;
  readonly heap: DueHeap;
}

interface ConversationState {
  phone_number_id: string;
  wa_id: string;
  last_inbound_ms: number | null;
  last_status_ms: number | null;
  reported_spam_ms: number | null;
  stored_at_ms: number;
}

/** Message data created within one time bucket, in one partition. */
interface MessageBucket {
  messages: MessageRecord[];
  /** True while `messages` is in nondecreasing created_at_ms order. */
  messagesSorted: boolean;
  statuses: StatusRecord[];
  inbox: StoredInbox[];
  webhooks: QueuedWebhook[];
  /** Entries of `webhooks` not yet gone. */
  webhooksLive: number;
}

/** What an acknowledged queue entry points at, so its sealed payload can be collected. */
const GONE_WEBHOOK: WebhookItem = { phone_number_id: '', id: '', created_at_ms: 0, due_at_ms: 0, attempts: 0, sealed: new Uint8Array(0) };

const newMessageBucket = (): MessageBucket => ({ messages: [], messagesSorted: true, statuses: [], inbox: [], webhooks: [], webhooksLive: 0 });

class Partition {
  readonly region: Region;
  readonly businesses = new Map<string, BusinessRecord>();
  readonly identities = new Map<string, BusinessIdentityRecord>();
  readonly businessPreKeys = new Map<string, Map<number, StoredPreKey>>();
  /** pnid → wa_id → conversation */
  readonly conversations = new Map<string, Map<string, ConversationState>>();
  /** device address `${wa_id}.${device_id}` → pnid → session */
  readonly sessions = new Map<string, Map<string, StoredSession>>();
  /** device address → inbox */
  readonly inbox = new Map<string, DeviceInbox>();
  /** pnid → wamid → statuses */
  readonly statusesByMessage = new Map<string, Map<string, StatusRecord[]>>();
  readonly webhooks = new Map<string, BusinessQueue>();
  readonly buckets: TimeBuckets<MessageBucket>;

  constructor(region: Region, bucketMs: number) {
    this.region = region;
    this.buckets = new TimeBuckets(bucketMs, newMessageBucket);
  }
}

interface StoredDevice {
  record: DeviceRecord;
  preKeys: Map<number, StoredPreKey>;
}

interface ContactState {
  readonly wa_id: string;
  readonly created_at_ms: number;
  last_activity_ms: number;
  /** Start of the activity bucket the contact is indexed under. */
  activity_bucket: number;
  readonly devices: Map<number, StoredDevice>;
  /** Next inbox cursor per device id (kept across re-registration so cursors never repeat). */
  readonly inboxSeq: Map<number, number>;
  /** Businesses with a conversation record for this user. */
  readonly businesses: Set<string>;
}

const deviceAddress = (waId: string, deviceId: number): string => `${waId}.${deviceId}`;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export class MemoryStore implements Store {
  readonly #partitions = new Map<Region, Partition>();
  readonly #businessRegion = new Map<string, Region>();
  readonly #businessByToken = new Map<string, string>();
  readonly #contacts = new Map<string, ContactState>();
  readonly #deviceByToken = new Map<string, StoredDevice>();
  /** identity_key_hash → the wa_id whose devices use it (one wa_id per identity key). */
  readonly #identityOwner = new Map<string, { waId: string; devices: number }>();
  readonly #activity: TimeBuckets<Set<string>>;
  readonly #capacity: number;
  readonly #now: () => number;
  #sessionVersion = 0;
  #counts = { messages: 0, inbox: 0, statuses: 0, sessions: 0, webhooks: 0, devices: 0 };

  constructor(options: MemoryStoreOptions = {}) {
    const bucketMs = options.bucket_ms ?? 3_600_000;
    this.#capacity = options.webhook_queue_capacity ?? 10_000;
    if (!Number.isInteger(this.#capacity) || this.#capacity < 1) throw new RangeError('webhook_queue_capacity must be an integer ≥ 1');
    this.#now = options.now ?? Date.now;
    for (const region of REGIONS) this.#partitions.set(region, new Partition(region, bucketMs));
    this.#activity = new TimeBuckets(bucketMs, () => new Set<string>());
  }

  // --- internals -----------------------------------------------------------------------------

  #partition(region: Region): Partition {
    return this.#partitions.get(region)!;
  }

  #businessPartition(phoneNumberId: string): Partition {
    const region = this.#businessRegion.get(phoneNumberId);
    if (region === undefined) throw new StoreError('not-found', `business ${phoneNumberId}`);
    return this.#partition(region);
  }

  #contact(waId: string, atMs: number): ContactState {
    let contact = this.#contacts.get(waId);
    if (contact === undefined) {
      const bucket = this.#activity.startOf(atMs);
      contact = { wa_id: waId, created_at_ms: atMs, last_activity_ms: atMs, activity_bucket: bucket, devices: new Map(), inboxSeq: new Map(), businesses: new Set() };
      this.#contacts.set(waId, contact);
      this.#activity.at(atMs).add(waId);
    }
    return contact;
  }

  /** Records user activity at `atMs` (creates the contact if needed) and re-indexes it. */
  #touchUser(waId: string, atMs: number): ContactState {
    const contact = this.#contact(waId, atMs);
    if (atMs > contact.last_activity_ms) {
      contact.last_activity_ms = atMs;
      const bucket = this.#activity.startOf(atMs);
      if (bucket !== contact.activity_bucket) {
        this.#activity.get(contact.activity_bucket)?.delete(waId);
        this.#activity.at(atMs).add(waId);
        contact.activity_bucket = bucket;
      }
    }
    return contact;
  }

  #conversation(partition: Partition, phoneNumberId: string, waId: string, atMs: number): ConversationState {
    let byUser = partition.conversations.get(phoneNumberId);
    if (byUser === undefined) partition.conversations.set(phoneNumberId, (byUser = new Map()));
    let conversation = byUser.get(waId);
    if (conversation === undefined) {
      conversation = { phone_number_id: phoneNumberId, wa_id: waId, last_inbound_ms: null, last_status_ms: null, reported_spam_ms: null, stored_at_ms: atMs };
      byUser.set(waId, conversation);
      this.#contact(waId, atMs).businesses.add(phoneNumberId);
    }
    return conversation;
  }

  #queue(partition: Partition, phoneNumberId: string): BusinessQueue {
    let queue = partition.webhooks.get(phoneNumberId);
    if (queue === undefined) partition.webhooks.set(phoneNumberId, (queue = { items: new Map(), heap: new DueHeap() }));
    return queue;
  }

  // --- businesses ----------------------------------------------------------------------------

  async createBusiness(business: BusinessRecord): Promise<void> {
    if (!REGIONS.includes(business.region)) throw new StoreError('invalid', `unknown region ${String(business.region)}`);
    if (this.#businessRegion.has(business.phone_number_id)) throw new StoreError('exists', `business ${business.phone_number_id}`);
    if (this.#businessByToken.has(business.access_token_hash)) throw new StoreError('exists', 'access token hash');
    this.#partition(business.region).businesses.set(business.phone_number_id, business);
    this.#businessRegion.set(business.phone_number_id, business.region);
    this.#businessByToken.set(business.access_token_hash, business.phone_number_id);
  }

  async getBusiness(phoneNumberId: string): Promise<BusinessRecord | undefined> {
    const region = this.#businessRegion.get(phoneNumberId);
    return region === undefined ? undefined : this.#partition(region).businesses.get(phoneNumberId);
  }

  async getBusinessByTokenHash(accessTokenHash: string): Promise<BusinessRecord | undefined> {
    const pnid = this.#businessByToken.get(accessTokenHash);
    return pnid === undefined ? undefined : this.getBusiness(pnid);
  }

  async updateBusinessProfile(phoneNumberId: string, sealedProfile: Uint8Array): Promise<void> {
    const partition = this.#businessPartition(phoneNumberId);
    const business = partition.businesses.get(phoneNumberId)!;
    partition.businesses.set(phoneNumberId, { ...business, sealed_profile: sealedProfile });
  }

  async listBusinesses(): Promise<readonly BusinessRecord[]> {
    const out: BusinessRecord[] = [];
    for (const partition of this.#partitions.values()) out.push(...partition.businesses.values());
    return out;
  }

  async getBusinessIdentity(phoneNumberId: string): Promise<BusinessIdentityRecord | undefined> {
    const region = this.#businessRegion.get(phoneNumberId);
    return region === undefined ? undefined : this.#partition(region).identities.get(phoneNumberId);
  }

  async putBusinessIdentity(record: BusinessIdentityRecord): Promise<void> {
    this.#businessPartition(record.phone_number_id).identities.set(record.phone_number_id, record);
  }

  async takeBusinessPreKey(phoneNumberId: string): Promise<SealedPreKey | undefined> {
    const pool = this.#businessPartition(phoneNumberId).businessPreKeys.get(phoneNumberId);
    if (pool === undefined) return undefined;
    for (const [id, stored] of pool) {
      pool.delete(id);
      return stored.preKey;
    }
    return undefined;
  }

  async addBusinessPreKeys(phoneNumberId: string, preKeys: readonly SealedPreKey[]): Promise<void> {
    const partition = this.#businessPartition(phoneNumberId);
    let pool = partition.businessPreKeys.get(phoneNumberId);
    if (pool === undefined) partition.businessPreKeys.set(phoneNumberId, (pool = new Map()));
    const nowMs = this.#now();
    for (const preKey of preKeys) pool.set(preKey.id, { preKey, stored_at_ms: nowMs });
  }

  async businessPreKeyCount(phoneNumberId: string): Promise<number> {
    return this.#businessPartition(phoneNumberId).businessPreKeys.get(phoneNumberId)?.size ?? 0;
  }

  // --- users and devices ---------------------------------------------------------------------

  async registerDevice(device: DeviceRecord, oneTimePreKeys: readonly SealedPreKey[]): Promise<RegisterDeviceResult> {
    if (!Number.isInteger(device.device_id) || device.device_id < 1) throw new StoreError('invalid', 'device_id');
    const owner = this.#deviceByToken.get(device.token_hash);
    if (owner !== undefined && (owner.record.wa_id !== device.wa_id || owner.record.device_id !== device.device_id)) {
      throw new StoreError('exists', 'device token hash');
    }
    const identity = device.identity_key_hash === undefined ? undefined : this.#identityOwner.get(device.identity_key_hash);
    if (identity !== undefined && identity.waId !== device.wa_id) throw new StoreError('exists', 'identity_key is registered to another wa_id');
    const contact = this.#touchUser(device.wa_id, device.registered_at_ms);
    const old = contact.devices.get(device.device_id);
    let sessionsDropped = 0;
    if (old !== undefined) {
      this.#deviceByToken.delete(old.record.token_hash);
      this.#releaseIdentity(old.record);
      sessionsDropped = this.#dropSessions(deviceAddress(device.wa_id, device.device_id));
      this.#dropInbox(deviceAddress(device.wa_id, device.device_id));
    } else {
      this.#counts.devices += 1;
    }
    const nowMs = this.#now();
    const stored: StoredDevice = { record: device, preKeys: new Map(oneTimePreKeys.map((p) => [p.id, { preKey: p, stored_at_ms: nowMs }])) };
    contact.devices.set(device.device_id, stored);
    this.#deviceByToken.set(device.token_hash, stored);
    if (device.identity_key_hash !== undefined) {
      const owner = this.#identityOwner.get(device.identity_key_hash) ?? { waId: device.wa_id, devices: 0 };
      owner.devices += 1;
      this.#identityOwner.set(device.identity_key_hash, owner);
    }
    return { replaced: old !== undefined, sessions_dropped: sessionsDropped };
  }

  #releaseIdentity(record: DeviceRecord): void {
    if (record.identity_key_hash === undefined) return;
    const owner = this.#identityOwner.get(record.identity_key_hash);
    if (owner !== undefined && --owner.devices <= 0) this.#identityOwner.delete(record.identity_key_hash);
  }

  /** Expires every inbox entry of a device address; returns how many. */
  #dropInbox(address: string): number {
    let dropped = 0;
    for (const partition of this.#partitions.values()) {
      const inbox = partition.inbox.get(address);
      if (inbox === undefined) continue;
      for (let i = inbox.head; i < inbox.entries.length; i++) {
        const stored = inbox.entries[i]!;
        if (!stored.expired) {
          stored.expired = true;
          dropped++;
        }
      }
      partition.inbox.delete(address);
    }
    this.#counts.inbox -= dropped;
    return dropped;
  }

  #dropSessions(address: string): number {
    let dropped = 0;
    for (const partition of this.#partitions.values()) {
      const sessions = partition.sessions.get(address);
      if (sessions === undefined) continue;
      dropped += sessions.size;
      partition.sessions.delete(address);
    }
    this.#counts.sessions -= dropped;
    return dropped;
  }

  #device(waId: string, deviceId: number): StoredDevice {
    const device = this.#contacts.get(waId)?.devices.get(deviceId);
    if (device === undefined) throw new StoreError('not-found', `device ${deviceAddress(waId, deviceId)}`);
    return device;
  }

  async updateDeviceKeys(waId: string, deviceId: number, update: DeviceKeysUpdate): Promise<void> {
    const device = this.#device(waId, deviceId);
    if (update.max_one_time_pre_keys !== undefined) {
      let after = device.preKeys.size;
      for (const preKey of update.add_one_time_pre_keys ?? []) if (!device.preKeys.has(preKey.id)) after++;
      if (after > update.max_one_time_pre_keys) throw new StoreError('invalid', `the device would hold ${after} one-time prekeys; at most ${update.max_one_time_pre_keys} are kept`);
    }
    if (update.sealed_keys !== undefined) device.record = { ...device.record, sealed_keys: update.sealed_keys };
    const nowMs = this.#now();
    for (const preKey of update.add_one_time_pre_keys ?? []) device.preKeys.set(preKey.id, { preKey, stored_at_ms: nowMs });
  }

  async getDevice(waId: string, deviceId: number): Promise<DeviceRecord | undefined> {
    return this.#contacts.get(waId)?.devices.get(deviceId)?.record;
  }

  async getDeviceByTokenHash(tokenHash: string): Promise<DeviceRecord | undefined> {
    return this.#deviceByToken.get(tokenHash)?.record;
  }

  async listDevices(waId: string): Promise<readonly DeviceRecord[]> {
    const contact = this.#contacts.get(waId);
    if (contact === undefined) return [];
    const records: DeviceRecord[] = [];
    for (const d of contact.devices.values()) records.push(d.record);
    return records.length > 1 ? records.sort((a, b) => a.device_id - b.device_id) : records;
  }

  async takeDevicePreKey(waId: string, deviceId: number): Promise<SealedPreKey | undefined> {
    const pool = this.#contacts.get(waId)?.devices.get(deviceId)?.preKeys;
    if (pool === undefined) return undefined;
    for (const [id, stored] of pool) {
      pool.delete(id);
      return stored.preKey;
    }
    return undefined;
  }

  async devicePreKeyCount(waId: string, deviceId: number): Promise<number> {
    return this.#contacts.get(waId)?.devices.get(deviceId)?.preKeys.size ?? 0;
  }

  async getContact(waId: string): Promise<ContactRecord | undefined> {
    const c = this.#contacts.get(waId);
    return c === undefined ? undefined : { wa_id: c.wa_id, created_at_ms: c.created_at_ms, last_activity_ms: c.last_activity_ms };
  }

  // --- conversations -------------------------------------------------------------------------

  async getConversation(phoneNumberId: string, waId: string): Promise<ConversationRecord | undefined> {
    const region = this.#businessRegion.get(phoneNumberId);
    if (region === undefined) return undefined;
    const c = this.#partition(region).conversations.get(phoneNumberId)?.get(waId);
    return c === undefined ? undefined : { phone_number_id: c.phone_number_id, wa_id: c.wa_id, last_inbound_ms: c.last_inbound_ms, last_status_ms: c.last_status_ms, reported_spam_ms: c.reported_spam_ms };
  }

  async reportSpam(phoneNumberId: string, waId: string, atMs: number): Promise<void> {
    const conversation = this.#conversation(this.#businessPartition(phoneNumberId), phoneNumberId, waId, atMs);
    conversation.reported_spam_ms = atMs;
  }

  // --- sessions ------------------------------------------------------------------------------

  async getSession(phoneNumberId: string, waId: string, deviceId: number): Promise<SessionRecord | undefined> {
    const region = this.#businessRegion.get(phoneNumberId);
    if (region === undefined) return undefined;
    const s = this.#partition(region).sessions.get(deviceAddress(waId, deviceId))?.get(phoneNumberId);
    return s === undefined ? undefined : { sealed: s.sealed, version: s.version };
  }

  async putSession(phoneNumberId: string, waId: string, deviceId: number, sealed: Uint8Array, expectedVersion: number): Promise<number> {
    const partition = this.#businessPartition(phoneNumberId);
    this.#device(waId, deviceId);
    const address = deviceAddress(waId, deviceId);
    let byBusiness = partition.sessions.get(address);
    const current = byBusiness?.get(phoneNumberId);
    if ((current?.version ?? 0) !== expectedVersion) {
      throw new StoreError('conflict', `session ${recordKey.session(phoneNumberId, waId, deviceId)} is at version ${current?.version ?? 0}, not ${expectedVersion}`);
    }
    if (byBusiness === undefined) partition.sessions.set(address, (byBusiness = new Map()));
    const version = ++this.#sessionVersion;
    byBusiness.set(phoneNumberId, { sealed, version, stored_at_ms: this.#now() });
    if (current === undefined) this.#counts.sessions += 1;
    return version;
  }

  async deleteSession(phoneNumberId: string, waId: string, deviceId: number): Promise<void> {
    const region = this.#businessRegion.get(phoneNumberId);
    if (region === undefined) return;
    const partition = this.#partition(region);
    const address = deviceAddress(waId, deviceId);
    const byBusiness = partition.sessions.get(address);
    if (byBusiness?.delete(phoneNumberId) === true) {
      this.#counts.sessions -= 1;
      if (byBusiness.size === 0) partition.sessions.delete(address);
    }
  }

  // --- message data --------------------------------------------------------------------------

  async appendMessages(records: readonly MessageRecord[]): Promise<void> {
    // Check every record first: all or nothing.
    for (const r of records) {
      if (!this.#businessRegion.has(r.phone_number_id)) throw new StoreError('not-found', `business ${r.phone_number_id}`);
      if (!Number.isFinite(r.created_at_ms)) throw new StoreError('invalid', 'created_at_ms');
    }
    let lastPnid: string | undefined;
    let lastPartition: Partition | undefined;
    let lastWaId: string | undefined;
    let lastConversation: ConversationState | undefined;
    for (const r of records) {
      if (r.phone_number_id !== lastPnid) {
        lastPnid = r.phone_number_id;
        lastPartition = this.#businessPartition(lastPnid);
        lastWaId = undefined;
      }
      const partition = lastPartition!;
      const bucket = partition.buckets.at(r.created_at_ms);
      const messages = bucket.messages;
      if (messages.length > 0 && messages[messages.length - 1]!.created_at_ms > r.created_at_ms) bucket.messagesSorted = false;
      messages.push(r);
      // The service window and the user's activity (a message from the user).
      if (r.wa_id !== lastWaId) {
        lastWaId = r.wa_id;
        lastConversation = this.#conversation(partition, r.phone_number_id, r.wa_id, r.created_at_ms);
      }
      const conversation = lastConversation!;
      if (conversation.last_inbound_ms === null || r.created_at_ms > conversation.last_inbound_ms) {
        conversation.last_inbound_ms = r.created_at_ms;
        this.#touchUser(r.wa_id, r.created_at_ms);
      }
    }
    this.#counts.messages += records.length;
  }

  async appendInbox(entries: readonly InboxAppend[]): Promise<readonly number[]> {
    for (const e of entries) {
      if (!this.#businessRegion.has(e.phone_number_id)) throw new StoreError('not-found', `business ${e.phone_number_id}`);
      this.#device(e.wa_id, e.device_id);
    }
    const cursors: number[] = [];
    for (const e of entries) {
      const partition = this.#businessPartition(e.phone_number_id);
      const contact = this.#contacts.get(e.wa_id)!;
      const cursor = (contact.inboxSeq.get(e.device_id) ?? 0) + 1;
      contact.inboxSeq.set(e.device_id, cursor);
      // Explicit fields (one object shape for every entry; a spread of a caller's object is slower).
      const entry: InboxEntry = { phone_number_id: e.phone_number_id, wa_id: e.wa_id, device_id: e.device_id, id: e.id, created_at_ms: e.created_at_ms, sealed: e.sealed, cursor };
      const stored: StoredInbox = { entry, expired: false };
      const address = deviceAddress(e.wa_id, e.device_id);
      let inbox = partition.inbox.get(address);
      if (inbox === undefined) partition.inbox.set(address, (inbox = { entries: [], head: 0 }));
      inbox.entries.push(stored);
      partition.buckets.at(e.created_at_ms).inbox.push(stored);
      cursors.push(cursor);
    }
    this.#counts.inbox += entries.length;
    return cursors;
  }

  async readInbox(waId: string, deviceId: number, after: number, limit: number, maxBytes = Number.POSITIVE_INFINITY): Promise<InboxPage> {
    const address = deviceAddress(waId, deviceId);
    const max = Math.max(0, Math.floor(limit));
    const found: InboxEntry[] = [];
    for (const partition of this.#partitions.values()) {
      const inbox = partition.inbox.get(address);
      if (inbox === undefined) continue;
      const entries = inbox.entries;
      let i = Math.max(inbox.head, lowerBoundBy(entries, after + 1, (s) => s.entry.cursor));
      let taken = 0;
      for (; i < entries.length && taken < max; i++) {
        const stored = entries[i]!;
        if (stored.expired) continue;
        found.push(stored.entry);
        taken++;
      }
    }
    found.sort((a, b) => a.cursor - b.cursor);
    if (found.length > max) found.length = max;
    let bytes = 0;
    for (let i = 0; i < found.length; i++) {
      bytes += found[i]!.sealed.length;
      if (bytes > maxBytes && i > 0) {
        found.length = i;
        break;
      }
    }
    return { entries: found, cursor: found.length > 0 ? found[found.length - 1]!.cursor : after };
  }

  async recordStatuses(records: readonly StatusRecord[]): Promise<void> {
    for (const r of records) {
      if (!this.#businessRegion.has(r.phone_number_id)) throw new StoreError('not-found', `business ${r.phone_number_id}`);
    }
    for (const r of records) {
      const partition = this.#businessPartition(r.phone_number_id);
      partition.buckets.at(r.at_ms).statuses.push(r);
      let byMessage = partition.statusesByMessage.get(r.phone_number_id);
      if (byMessage === undefined) partition.statusesByMessage.set(r.phone_number_id, (byMessage = new Map()));
      let history = byMessage.get(r.id);
      if (history === undefined) byMessage.set(r.id, (history = []));
      history.push(r);
      const conversation = this.#conversation(partition, r.phone_number_id, r.wa_id, r.at_ms);
      if (conversation.last_status_ms === null || r.at_ms > conversation.last_status_ms) conversation.last_status_ms = r.at_ms;
      this.#touchUser(r.wa_id, r.at_ms);
    }
    this.#counts.statuses += records.length;
  }

  async listStatuses(phoneNumberId: string, wamid: string): Promise<readonly StatusRecord[]> {
    const region = this.#businessRegion.get(phoneNumberId);
    if (region === undefined) return [];
    return [...(this.#partition(region).statusesByMessage.get(phoneNumberId)?.get(wamid) ?? [])].sort((a, b) => a.at_ms - b.at_ms);
  }

  // --- webhook queue -------------------------------------------------------------------------

  async enqueueWebhooks(items: readonly WebhookItem[]): Promise<void> {
    // Count what each business's queue would hold afterwards; refuse everything if any overflows.
    const adding = new Map<string, Set<string>>();
    for (const item of items) {
      const partition = this.#businessPartition(item.phone_number_id);
      const queue = partition.webhooks.get(item.phone_number_id);
      if (queue?.items.has(item.id) === true) continue; // already queued: idempotent
      let ids = adding.get(item.phone_number_id);
      if (ids === undefined) adding.set(item.phone_number_id, (ids = new Set()));
      ids.add(item.id);
    }
    for (const [pnid, ids] of adding) {
      const depth = this.#businessPartition(pnid).webhooks.get(pnid)?.items.size ?? 0;
      if (depth + ids.size > this.#capacity) {
        throw new StoreError('queue-full', `webhook queue of ${pnid} holds ${depth} of ${this.#capacity}; ${ids.size} more refused`);
      }
    }
    for (const item of items) {
      const partition = this.#businessPartition(item.phone_number_id);
      const queue = this.#queue(partition, item.phone_number_id);
      if (queue.items.has(item.id)) continue;
      const queued: QueuedWebhook = { item, generation: 0, gone: false };
      queue.items.set(item.id, queued);
      queue.heap.push(item.due_at_ms, item.id, 0);
      const bucket = partition.buckets.at(item.created_at_ms);
      bucket.webhooks.push(queued);
      bucket.webhooksLive += 1;
      this.#counts.webhooks += 1;
    }
  }

  async claimWebhooks(nowMs: number, options: { limit: number; lease_ms: number; phone_number_id?: string; skip_phone_number_ids?: ReadonlySet<string>; per_business_limit?: number }): Promise<readonly WebhookItem[]> {
    const claimed: WebhookItem[] = [];
    const queues: [Partition, string, BusinessQueue][] = [];
    if (options.phone_number_id !== undefined) {
      const region = this.#businessRegion.get(options.phone_number_id);
      const queue = region === undefined ? undefined : this.#partition(region).webhooks.get(options.phone_number_id);
      if (queue !== undefined) queues.push([this.#partition(region!), options.phone_number_id, queue]);
    } else {
      const skip = options.skip_phone_number_ids;
      for (const partition of this.#partitions.values()) {
        for (const [pnid, queue] of partition.webhooks) if (skip === undefined || !skip.has(pnid)) queues.push([partition, pnid, queue]);
      }
    }
    // k-way merge of the queues' due heads: oldest due first, O(limit · log queues).
    const heads = new MinHeap<{ queue: BusinessQueue; dueMs: number }>((h) => h.dueMs);
    const perBusiness = new Map<BusinessQueue, number>();
    const perBusinessLimit = options.per_business_limit ?? Infinity;
    const headOf = (queue: BusinessQueue): void => {
      if ((perBusiness.get(queue) ?? 0) >= perBusinessLimit) return;
      const top = queue.heap.peek((id, generation) => queue.items.get(id)?.generation === generation);
      if (top !== undefined && top.dueMs <= nowMs) heads.push({ queue, dueMs: top.dueMs });
    };
    for (const [, , queue] of queues) headOf(queue);
    while (claimed.length < options.limit) {
      const head = heads.pop();
      if (head === undefined) break;
      const queue = head.queue;
      const top = queue.heap.pop()!;
      const queued = queue.items.get(top.id)!;
      queued.generation += 1;
      queued.item = { ...queued.item, due_at_ms: nowMs + options.lease_ms };
      queue.heap.push(queued.item.due_at_ms, top.id, queued.generation);
      claimed.push(queued.item);
      perBusiness.set(queue, (perBusiness.get(queue) ?? 0) + 1);
      headOf(queue);
    }
    return claimed;
  }

  async ackWebhooks(phoneNumberId: string, ids: readonly string[]): Promise<void> {
    const region = this.#businessRegion.get(phoneNumberId);
    if (region === undefined) return;
    const partition = this.#partition(region);
    const queue = partition.webhooks.get(phoneNumberId);
    if (queue === undefined) return;
    for (const id of ids) {
      const queued = queue.items.get(id);
      if (queued === undefined) continue;
      queue.items.delete(id);
      this.#counts.webhooks -= 1;
      queued.gone = true;
      const createdAtMs = queued.item.created_at_ms;
      queued.item = GONE_WEBHOOK; // the delivered payload goes now, not at retention time
      // Compact the bucket's list once most of it is gone (amortized O(1) per ack).
      const bucket = partition.buckets.peek(createdAtMs);
      if (bucket !== undefined) {
        bucket.webhooksLive -= 1;
        if (bucket.webhooks.length >= 64 && bucket.webhooksLive * 2 < bucket.webhooks.length) bucket.webhooks = bucket.webhooks.filter((q) => !q.gone);
      }
    }
    if (queue.items.size === 0) queue.heap.clear();
    else queue.heap.compact((id, generation) => queue.items.get(id)?.generation === generation, queue.items.size);
  }

  async rescheduleWebhook(phoneNumberId: string, id: string, dueAtMs: number, attempts: number): Promise<void> {
    const region = this.#businessRegion.get(phoneNumberId);
    if (region === undefined) return;
    const queue = this.#partition(region).webhooks.get(phoneNumberId);
    const queued = queue?.items.get(id);
    if (queue === undefined || queued === undefined) return;
    queued.generation += 1;
    queued.item = { ...queued.item, due_at_ms: dueAtMs, attempts };
    queue.heap.push(dueAtMs, id, queued.generation);
  }

  async webhookQueueDepth(phoneNumberId?: string): Promise<number> {
    if (phoneNumberId === undefined) return this.#counts.webhooks;
    const region = this.#businessRegion.get(phoneNumberId);
    return region === undefined ? 0 : (this.#partition(region).webhooks.get(phoneNumberId)?.items.size ?? 0);
  }

  async nextWebhookDueMs(): Promise<number | undefined> {
    let next: number | undefined;
    for (const partition of this.#partitions.values()) {
      for (const queue of partition.webhooks.values()) {
        const top = queue.heap.peek((id, generation) => queue.items.get(id)?.generation === generation);
        if (top !== undefined && (next === undefined || top.dueMs < next)) next = top.dueMs;
      }
    }
    return next;
  }

  // --- retention -----------------------------------------------------------------------------

  async sweepMessageData(cutoffMs: number, options: { max_records: number }): Promise<MessageSweepResult> {
    let budget = Math.max(1, Math.floor(options.max_records));
    let deleted = 0;
    for (const partition of this.#partitions.values()) {
      const buckets = partition.buckets;
      for (;;) {
        const start = buckets.oldestStart();
        if (start === undefined || start >= cutoffMs) break;
        const bucket = buckets.get(start)!;
        const whole = start + buckets.widthMs <= cutoffMs;
        // Stored messages: a whole bucket goes at once; the edge bucket loses its expired prefix.
        if (whole) {
          deleted += bucket.messages.length;
          this.#counts.messages -= bucket.messages.length;
          bucket.messages = [];
        } else {
          const before = bucket.messages.length;
          if (bucket.messagesSorted) {
            const keepFrom = lowerBoundBy(bucket.messages, cutoffMs, (m) => m.created_at_ms);
            if (keepFrom > 0) bucket.messages = bucket.messages.slice(keepFrom);
          } else {
            bucket.messages = bucket.messages.filter((m) => m.created_at_ms >= cutoffMs);
          }
          deleted += before - bucket.messages.length;
          this.#counts.messages -= before - bucket.messages.length;
        }
        // Statuses, inbox entries and webhook pieces are also indexed elsewhere: one by one.
        const r = this.#sweepIndexed(partition, bucket, cutoffMs, budget, whole);
        deleted += r.deleted;
        budget -= r.deleted;
        if (!r.done) return { messages_deleted: deleted, done: false };
        if (whole || (bucket.messages.length === 0 && bucket.statuses.length === 0 && bucket.inbox.length === 0 && bucket.webhooks.length === 0)) {
          buckets.delete(start);
        }
        if (!whole) break; // the edge bucket: everything after it is newer
      }
    }
    return { messages_deleted: deleted, done: true };
  }

  /**
   * Deletes the bucket's expired statuses, inbox entries and webhook pieces. A whole expired
   * bucket is emptied from the end, at most `budget` records per call (O(deleted)); the edge
   * bucket is filtered in one pass (bounded by one bucket's worth of records).
   */
  #sweepIndexed(partition: Partition, bucket: MessageBucket, cutoffMs: number, budget: number, whole: boolean): { deleted: number; done: boolean } {
    let deleted = 0;
    const dropStatus = (r: StatusRecord): void => {
      const byMessage = partition.statusesByMessage.get(r.phone_number_id);
      const history = byMessage?.get(r.id);
      if (history !== undefined) {
        const i = history.indexOf(r);
        if (i >= 0) history.splice(i, 1);
        if (history.length === 0) byMessage!.delete(r.id);
        if (byMessage!.size === 0) partition.statusesByMessage.delete(r.phone_number_id);
      }
      this.#counts.statuses -= 1;
      deleted++;
    };
    const touched = new Set<string>();
    const dropInbox = (e: StoredInbox): void => {
      if (e.expired) return; // deleted with its user already
      e.expired = true;
      touched.add(deviceAddress(e.entry.wa_id, e.entry.device_id));
      this.#counts.inbox -= 1;
      deleted++;
    };
    const dropWebhook = (q: QueuedWebhook): void => {
      if (q.gone) return; // acknowledged already
      q.gone = true;
      bucket.webhooksLive -= 1;
      const queue = partition.webhooks.get(q.item.phone_number_id);
      if (queue?.items.delete(q.item.id) === true) this.#counts.webhooks -= 1;
      q.item = GONE_WEBHOOK;
      deleted++;
    };
    let done = true;
    if (whole) {
      const drain = <T>(list: T[], drop: (item: T) => void): void => {
        while (list.length > 0 && deleted < budget) drop(list.pop()!);
        if (list.length > 0) done = false;
      };
      drain(bucket.statuses, dropStatus);
      drain(bucket.inbox, dropInbox);
      drain(bucket.webhooks, dropWebhook);
    } else {
      bucket.statuses = bucket.statuses.filter((r) => (r.at_ms < cutoffMs ? (dropStatus(r), false) : true));
      bucket.inbox = bucket.inbox.filter((e) => (e.expired ? false : e.entry.created_at_ms < cutoffMs ? (dropInbox(e), false) : true));
      bucket.webhooks = bucket.webhooks.filter((q) => (q.gone ? false : q.item.created_at_ms < cutoffMs ? (dropWebhook(q), false) : true));
    }
    for (const address of touched) {
      const inbox = partition.inbox.get(address);
      if (inbox === undefined) continue;
      while (inbox.head < inbox.entries.length && inbox.entries[inbox.head]!.expired) inbox.head++;
      if (inbox.head === inbox.entries.length) partition.inbox.delete(address);
      else if (inbox.head > 1024 && inbox.head * 2 > inbox.entries.length) {
        inbox.entries = inbox.entries.slice(inbox.head);
        inbox.head = 0;
      }
    }
    return { deleted, done };
  }

  async sweepUsers(cutoffMs: number, options: { max_users: number }): Promise<UserSweepResult> {
    const budget = Math.max(1, Math.floor(options.max_users));
    let users = 0;
    let records = 0;
    for (;;) {
      const start = this.#activity.oldestStart();
      if (start === undefined || start >= cutoffMs) break;
      const set = this.#activity.get(start)!;
      for (const waId of set) {
        if (users >= budget) return { user_ids_deleted: users, records_deleted: records, done: false };
        const contact = this.#contacts.get(waId);
        if (contact === undefined || contact.activity_bucket !== start) {
          set.delete(waId);
          continue;
        }
        if (contact.last_activity_ms >= cutoffMs) continue; // edge bucket, still active
        set.delete(waId);
        records += this.#deleteUser(contact);
        users++;
      }
      if (set.size > 0) break; // edge bucket with active users left
      this.#activity.delete(start);
    }
    return { user_ids_deleted: users, records_deleted: records, done: true };
  }

  /** Deletes every identifier of a user; returns the records deleted besides the contact. */
  #deleteUser(contact: ContactState): number {
    let records = 0;
    for (const [deviceId, device] of contact.devices) {
      this.#deviceByToken.delete(device.record.token_hash);
      this.#releaseIdentity(device.record);
      records += 1 + device.preKeys.size;
      const address = deviceAddress(contact.wa_id, deviceId);
      records += this.#dropSessions(address);
      records += this.#dropInbox(address);
      this.#counts.devices -= 1;
    }
    for (const pnid of contact.businesses) {
      const region = this.#businessRegion.get(pnid);
      if (region === undefined) continue;
      const byUser = this.#partition(region).conversations.get(pnid);
      if (byUser?.delete(contact.wa_id) === true) records++;
      if (byUser !== undefined && byUser.size === 0) this.#partition(region).conversations.delete(pnid);
    }
    this.#contacts.delete(contact.wa_id);
    return records;
  }

  // --- audit ---------------------------------------------------------------------------------

  async *auditRecords(region: Region): AsyncIterable<AuditRecord> {
    if (!REGIONS.includes(region)) throw new StoreError('invalid', `unknown region ${String(region)}`);
    const partition = this.#partition(region);
    const line = (kind: RecordKind, key: string, storedAtMs: number, bytes: Uint8Array): AuditRecord => ({ region, kind, key, stored_at: iso(storedAtMs), bytes: toBase64(bytes) });
    const empty = new Uint8Array(0);
    // Snapshots: the caller may await between records while the store changes.
    for (const b of [...partition.businesses.values()]) {
      yield line('business', recordKey.business(b.phone_number_id), b.created_at_ms, b.sealed_profile);
      yield line('business_key', recordKey.businessDataKey(b.phone_number_id), b.created_at_ms, b.wrapped_data_key);
      const identity = partition.identities.get(b.phone_number_id);
      if (identity !== undefined) yield line('business_key', recordKey.businessIdentity(b.phone_number_id), identity.updated_at_ms, identity.sealed);
      for (const p of [...(partition.businessPreKeys.get(b.phone_number_id)?.values() ?? [])]) {
        yield line('business_key', recordKey.businessPreKey(b.phone_number_id, p.preKey.id), p.stored_at_ms, p.preKey.sealed);
      }
    }
    if (region === DEFAULT_REGION) {
      for (const c of [...this.#contacts.values()]) {
        yield line('contact', recordKey.contact(c.wa_id), c.created_at_ms, empty);
        for (const d of [...c.devices.values()]) {
          yield line('contact', recordKey.device(c.wa_id, d.record.device_id), d.record.registered_at_ms, d.record.sealed_keys);
          for (const p of [...d.preKeys.values()]) yield line('contact', recordKey.devicePreKey(c.wa_id, d.record.device_id, p.preKey.id), p.stored_at_ms, p.preKey.sealed);
        }
        for (const deviceId of [...c.inboxSeq.keys()]) yield line('contact', recordKey.inboxCursor(c.wa_id, deviceId), c.created_at_ms, empty);
      }
    }
    for (const byUser of [...partition.conversations.values()]) {
      for (const c of [...byUser.values()]) yield line('contact', recordKey.conversation(c.phone_number_id, c.wa_id), c.stored_at_ms, empty);
    }
    for (const [address, byBusiness] of [...partition.sessions]) {
      for (const [pnid, s] of [...byBusiness]) yield line('session', `${pnid}/${address}`, s.stored_at_ms, s.sealed); // = recordKey.session
    }
    for (const bucket of [...partition.buckets.values()]) {
      for (const m of bucket.messages.slice()) yield line('message', recordKey.message(m.phone_number_id, m.id), m.created_at_ms, m.sealed);
      for (const e of bucket.inbox.slice()) {
        if (!e.expired) yield line('inbox', recordKey.inbox(e.entry.wa_id, e.entry.device_id, e.entry.id), e.entry.created_at_ms, e.entry.sealed);
      }
      for (const s of bucket.statuses.slice()) yield line('status', recordKey.status(s.phone_number_id, s.id, s.status), s.at_ms, s.sealed);
      for (const q of bucket.webhooks.slice()) {
        if (!q.gone) yield line('webhook', recordKey.webhook(q.item.phone_number_id, q.item.id), q.item.created_at_ms, q.item.sealed);
      }
    }
  }

  async metrics(): Promise<StoreMetrics> {
    let businesses = 0;
    for (const partition of this.#partitions.values()) businesses += partition.businesses.size;
    return {
      webhook_queue_depth: this.#counts.webhooks,
      businesses,
      contacts: this.#contacts.size,
      devices: this.#counts.devices,
      sessions: this.#counts.sessions,
      messages: this.#counts.messages,
      inbox_entries: this.#counts.inbox,
      statuses: this.#counts.statuses,
    };
  }

  async close(): Promise<void> {
    // Nothing to release.
  }
}
