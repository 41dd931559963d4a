/**
 * The memory store's shared state: what every role of the memory store (src/store/memory/*.ts)
 * reads and writes, and the few operations that cross roles (region routing, user activity,
 * conversations, dropping a device's sessions and inbox).
 *
 * - One `Partition` object per region; a business's records live only in its region's
 *   partition; user records (contacts, devices, device prekeys) in `DEFAULT_REGION`'s.
 * - Message data (messages, inbox entries, webhook pieces, statuses) is indexed by time bucket
 *   of its creation (`bucket_ms`), so a sweep drops whole expired buckets and only filters the
 *   edge bucket. Users are indexed by time bucket of their last activity.
 * - Stored records keep the caller's objects (sealed bytes included) by reference; per stored
 *   message the store adds one array slot.
 * - Every operation runs synchronously inside one call, so each is atomic with respect to the
 *   others (what PostgreSQL gets from transactions): the context needs no locks.
 */
import { REGIONS, StoreError } from '../store.js';
import type { BusinessIdentityRecord, BusinessRecord, DeviceRecord, InboxEntry, MessageRecord, Region, SealedPreKey, StatusRecord, WebhookItem } from '../store.js';
import { DueHeap, TimeBuckets } from '../memory-buckets.js';
import { definedOptions } from '../../defined-options.js';

export interface MemoryStoreOptions {
  /** Webhook pieces queued per business before enqueue refuses with 'queue-full'. @default 10_000 */
  readonly webhook_queue_capacity?: number;
  /** Width of the time buckets for message data and user activity. @default 3_600_000 (1 hour) */
  readonly bucket_ms?: number;
  /** Time source for `stored_at` of records whose operation carries no time. @default Date.now */
  readonly now?: () => number;
}

/** The defaults of `MemoryStoreOptions`, in one place. */
export const MEMORY_STORE_DEFAULTS: Required<MemoryStoreOptions> = Object.freeze({
  webhook_queue_capacity: 10_000,
  bucket_ms: 3_600_000,
  now: Date.now,
});

export interface StoredPreKey {
  readonly preKey: SealedPreKey;
  readonly stored_at_ms: number;
}

export interface StoredSession {
  readonly sealed: Uint8Array;
  readonly version: number;
  readonly stored_at_ms: number;
}

export interface StoredInbox {
  readonly entry: InboxEntry;
  expired: boolean;
}

export interface DeviceInbox {
  entries: StoredInbox[];
  head: number;
}

export interface QueuedWebhook {
  item: WebhookItem;
  generation: number;
  /** Acknowledged or swept; the bucket drops such entries when it compacts. */
  gone: boolean;
}

export interface BusinessQueue {
  readonly items: Map<string, QueuedWebhook>;
  readonly heap: DueHeap;
}

export interface ConversationState {
  phone_number_id: string;
  wa_id: string;
  last_inbound_ms: number | null;
  last_status_ms: number | null;
  reported_spam_ms: number | null;
  stored_at_ms: number;
}

/** Message data created within one time bucket, in one partition. */
export interface MessageBucket {
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
export const GONE_WEBHOOK: WebhookItem = { phone_number_id: '', id: '', created_at_ms: 0, due_at_ms: 0, attempts: 0, sealed: new Uint8Array(0) };

const newMessageBucket = (): MessageBucket => ({ messages: [], messagesSorted: true, statuses: [], inbox: [], webhooks: [], webhooksLive: 0 });

export class Partition {
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

export interface StoredDevice {
  record: DeviceRecord;
  preKeys: Map<number, StoredPreKey>;
}

export interface ContactState {
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

export const deviceAddress = (waId: string, deviceId: number): string => `${waId}.${deviceId}`;



export class MemoryContext {
  readonly partitions = new Map<Region, Partition>();
  readonly businessRegion = new Map<string, Region>();
  readonly businessByToken = new Map<string, string>();
  readonly contacts = new Map<string, ContactState>();
  readonly deviceByToken = new Map<string, StoredDevice>();

  /** identity_key_hash → the wa_id whose devices use it (one wa_id per identity key). */
  readonly identityOwner = new Map<string, { waId: string; devices: number }>();
  readonly activity: TimeBuckets<Set<string>>;
  readonly capacity: number;
  readonly now: () => number;
  sessionVersion = 0;
  counts = { messages: 0, inbox: 0, statuses: 0, sessions: 0, webhooks: 0, devices: 0 };

  constructor(options: MemoryStoreOptions = {}) {
    const settings = { ...MEMORY_STORE_DEFAULTS, ...definedOptions(options) };
    const bucketMs = settings.bucket_ms;
    this.capacity = settings.webhook_queue_capacity;
    if (!Number.isInteger(this.capacity) || this.capacity < 1) throw new RangeError('webhook_queue_capacity must be an integer ≥ 1');
    this.now = settings.now;
    for (const region of REGIONS) this.partitions.set(region, new Partition(region, bucketMs));
    this.activity = new TimeBuckets(bucketMs, () => new Set<string>());
  }

  partition(region: Region): Partition {
    return this.partitions.get(region)!;
  }

  businessPartition(phoneNumberId: string): Partition {
    const region = this.businessRegion.get(phoneNumberId);
    if (region === undefined) throw new StoreError('not-found', `business ${phoneNumberId}`);
    return this.partition(region);
  }

  contact(waId: string, atMs: number): ContactState {
    let contact = this.contacts.get(waId);
    if (contact === undefined) {
      const bucket = this.activity.startOf(atMs);
      contact = { wa_id: waId, created_at_ms: atMs, last_activity_ms: atMs, activity_bucket: bucket, devices: new Map(), inboxSeq: new Map(), businesses: new Set() };
      this.contacts.set(waId, contact);
      this.activity.at(atMs).add(waId);
    }
    return contact;
  }

  /** Records user activity at `atMs` (creates the contact if needed) and re-indexes it. */
  touchUser(waId: string, atMs: number): ContactState {
    const contact = this.contact(waId, atMs);
    if (atMs > contact.last_activity_ms) {
      contact.last_activity_ms = atMs;
      const bucket = this.activity.startOf(atMs);
      if (bucket !== contact.activity_bucket) {
        this.activity.get(contact.activity_bucket)?.delete(waId);
        this.activity.at(atMs).add(waId);
        contact.activity_bucket = bucket;
      }
    }
    return contact;
  }

  conversation(partition: Partition, phoneNumberId: string, waId: string, atMs: number): ConversationState {
    let byUser = partition.conversations.get(phoneNumberId);
    if (byUser === undefined) partition.conversations.set(phoneNumberId, (byUser = new Map()));
    let conversation = byUser.get(waId);
    if (conversation === undefined) {
      conversation = { phone_number_id: phoneNumberId, wa_id: waId, last_inbound_ms: null, last_status_ms: null, reported_spam_ms: null, stored_at_ms: atMs };
      byUser.set(waId, conversation);
      this.contact(waId, atMs).businesses.add(phoneNumberId);
    }
    return conversation;
  }

  queue(partition: Partition, phoneNumberId: string): BusinessQueue {
    let queue = partition.webhooks.get(phoneNumberId);
    if (queue === undefined) partition.webhooks.set(phoneNumberId, (queue = { items: new Map(), heap: new DueHeap() }));
    return queue;
  }

  releaseIdentity(record: DeviceRecord): void {
    if (record.identity_key_hash === undefined) return;
    const owner = this.identityOwner.get(record.identity_key_hash);
    if (owner !== undefined && --owner.devices <= 0) this.identityOwner.delete(record.identity_key_hash);
  }

  /** Expires every inbox entry of a device address; returns how many. */
  dropInbox(address: string): number {
    let dropped = 0;
    for (const partition of this.partitions.values()) {
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
    this.counts.inbox -= dropped;
    return dropped;
  }

  dropSessions(address: string): number {
    let dropped = 0;
    for (const partition of this.partitions.values()) {
      const sessions = partition.sessions.get(address);
      if (sessions === undefined) continue;
      dropped += sessions.size;
      partition.sessions.delete(address);
    }
    this.counts.sessions -= dropped;
    return dropped;
  }

  device(waId: string, deviceId: number): StoredDevice {
    const device = this.contacts.get(waId)?.devices.get(deviceId);
    if (device === undefined) throw new StoreError('not-found', `device ${deviceAddress(waId, deviceId)}`);
    return device;
  }
}
