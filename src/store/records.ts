/**
 * What the store holds: regions, record kinds, the audit key of each record, and the record
 * shapes the roles (./roles.ts) take and return. Routing metadata in the clear, everything else
 * sealed bytes (./store.ts says which is which).
 */
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

/** What `claimWebhooks` takes besides the time. */
export interface WebhookClaimOptions {
  /** At most this many items. */
  readonly limit: number;
  /** Claimed items are not due again before claim time + this. */
  readonly lease_ms: number;
  /** Only this business's items. */
  readonly phone_number_id?: string;
  /** Hint: businesses whose items the claimer cannot take now (a store may ignore it). */
  readonly skip_phone_number_ids?: ReadonlySet<string>;
  /** Hint: at most this many items of any one business (a store may ignore it). */
  readonly per_business_limit?: number;
}

/**
 * One outbound send's check-and-take on the shared limits (SharedLimitStore.takeSend): every
 * fact the check needs, decided by the server (windows, burst, tier and spam thresholds) and
 * passed in, so the store holds state only and the rules stay in src/server.
 */
export interface SendTake {
  readonly phone_number_id: string;
  readonly wa_id: string;
  readonly now_ms: number;
  /** The number's throughput (tokens per second, also the bucket's capacity). */
  readonly throughput_mps: number;
  readonly pair_burst: number;
  readonly pair_interval_ms: number;
  /** Outside the user's service window: counts toward the tier. */
  readonly business_initiated: boolean;
  readonly is_template: boolean;
  /** Unique users per tier window; null: unlimited. */
  readonly tier_limit: number | null;
  readonly tier_window_ms: number;
  /** The user reported the business (conversation record). */
  readonly reported: boolean;
  /** A business-initiated send to a user who never wrote to the business. */
  readonly cold: boolean;
  readonly cold_threshold: number;
  readonly cold_window_ms: number;
  readonly penalty_ms: number;
  readonly quality_window_ms: number;
  readonly min_audience: number;
  readonly red_ratio: number;
}

/** Why a shared check refused a send, in the contract's order (src/server/send-refusal.ts maps each to its Graph error). */
export type SendRefusal = 'throughput' | 'pair-rate' | 're-engagement' | 'messaging-limit' | 'reported' | 'spam-stopped' | 'spam-quality' | 'spam-cold';

/** What a taken send changed, so a send refused later in its path can give it back. */
export interface SendTaken {
  readonly phone_number_id: string;
  readonly wa_id: string;
  readonly now_ms: number;
  readonly business_initiated: boolean;
  /** The user's tier-window time before this send (null: not in the window's rows). */
  readonly prev_tier_ms: number | null;
  readonly new_cold: boolean;
  readonly prev_stopped_ms: number | null;
  /** The stop this send set (null: none). */
  readonly set_stopped_ms: number | null;
}

export type SendTakeResult = { readonly refusal: SendRefusal } | { readonly refusal: null; readonly taken: SendTaken };
