/**
 * Businesses as the faces see them: creation (operator face), lookup by access token (business
 * face) or phone_number_id (transport face), and the sealed profile (transport-api.md §3
 * `POST /admin/v1/businesses`).
 *
 * The store holds the record (ids, token hash, wrapped data key, sealed profile); this module
 * owns the profile's format and keeps opened profiles in a per-process cache (business data is
 * never deleted, and only this process changes it).
 */
import { createHash, randomBytes } from 'node:crypto';
import { DEFAULT_REGION, StoreError, recordKey, type BusinessRecord, type Region, type BusinessDirectoryStore } from '../store/store.js';
import type { AtRest } from './at-rest.js';
import type { MessagingLimitTier } from './send-limits.js';
import type { WebhookTarget } from './webhook-dispatcher-options.js';

/** What the sealed profile holds. */
export interface BusinessProfile {
  readonly display_phone_number: string;
  readonly webhook_url: string;
  readonly verify_token: string;
  readonly app_secret: string;
  readonly throughput_mps: number;
  readonly messaging_limit: MessagingLimitTier;
}

/** A business record with its opened profile. */
export interface BusinessEntry {
  readonly record: BusinessRecord;
  readonly profile: BusinessProfile;
}

export interface NewBusiness {
  readonly display_phone_number: string;
  readonly webhook_url: string;
  readonly verify_token: string;
  readonly region: Region;
  readonly throughput_mps: number;
  readonly messaging_limit: MessagingLimitTier;
}

export interface CreatedBusiness {
  readonly entry: BusinessEntry;
  readonly access_token: string;
}

/** Hex SHA-256 of a bearer token: the only form in which tokens are stored. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A random decimal id of `digits` digits, no leading zero. */
function decimalId(digits: number): string {
  const bytes = randomBytes(digits);
  let out = String(1 + (bytes[0]! % 9));
  for (let i = 1; i < digits; i++) out += String(bytes[i]! % 10);
  return out;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export class BusinessDirectory {
  private readonly byPhoneNumberId = new Map<string, BusinessEntry>();
  private readonly byTokenHash = new Map<string, BusinessEntry>();
  /** Tokens already seen, so the hot path skips hashing (tokens of businesses never change). */
  private readonly byTokenText = new Map<string, BusinessEntry>();

  constructor(
    private readonly store: BusinessDirectoryStore,
    private readonly atRest: AtRest,
    private readonly now: () => number,
  ) {}

  private open(record: BusinessRecord): BusinessEntry {
    const profile = JSON.parse(
      fromUtf8.decode(this.atRest.openForBusiness(record, 'business', recordKey.business(record.phone_number_id), record.sealed_profile)),
    ) as BusinessProfile;
    const entry = { record, profile };
    this.byPhoneNumberId.set(record.phone_number_id, entry);
    this.byTokenHash.set(record.access_token_hash, entry);
    return entry;
  }

  /**
   * Creates the business record (nothing else: the caller adds the Signal identity). Retries on
   * the rare id collision.
   */
  async create(request: NewBusiness): Promise<CreatedBusiness> {
    for (let attempt = 0; ; attempt++) {
      const phoneNumberId = decimalId(15);
      const accessToken = `EAA${randomBytes(32).toString('base64url')}`;
      const profile: BusinessProfile = {
        display_phone_number: request.display_phone_number,
        webhook_url: request.webhook_url,
        verify_token: request.verify_token,
        app_secret: randomBytes(16).toString('hex'),
        throughput_mps: request.throughput_mps,
        messaging_limit: request.messaging_limit,
      };
      const { wrapped_data_key } = this.atRest.createDataKey(request.region, phoneNumberId);
      const partial = { phone_number_id: phoneNumberId, region: request.region, wrapped_data_key };
      const record: BusinessRecord = {
        ...partial,
        waba_id: decimalId(15),
        access_token_hash: tokenHash(accessToken),
        created_at_ms: this.now(),
        sealed_profile: this.atRest.sealForBusiness(partial, 'business', recordKey.business(phoneNumberId), utf8.encode(JSON.stringify(profile))),
      };
      try {
        await this.store.createBusiness(record);
      } catch (error) {
        if (error instanceof StoreError && error.kind === 'exists' && attempt < 3) continue;
        throw error;
      }
      const entry = { record, profile };
      this.byPhoneNumberId.set(phoneNumberId, entry);
      this.byTokenHash.set(record.access_token_hash, entry);
      return { entry, access_token: accessToken };
    }
  }

  async byToken(accessToken: string): Promise<BusinessEntry | undefined> {
    const seen = this.byTokenText.get(accessToken);
    if (seen !== undefined) return seen;
    const hash = tokenHash(accessToken);
    let entry = this.byTokenHash.get(hash);
    if (entry === undefined) {
      const record = await this.store.getBusinessByTokenHash(hash);
      if (record === undefined) return undefined;
      entry = this.open(record);
    }
    if (this.byTokenText.size < 100_000) this.byTokenText.set(accessToken, entry);
    return entry;
  }

  async byId(phoneNumberId: string): Promise<BusinessEntry | undefined> {
    const cached = this.byPhoneNumberId.get(phoneNumberId);
    if (cached !== undefined) return cached;
    const record = await this.store.getBusiness(phoneNumberId);
    return record === undefined ? undefined : this.open(record);
  }

  /** For the webhook dispatcher. */
  async webhookTarget(record: BusinessRecord): Promise<WebhookTarget | undefined> {
    const entry = this.byPhoneNumberId.get(record.phone_number_id) ?? this.open(record);
    if (entry.profile.webhook_url === '') return undefined;
    return {
      phone_number_id: record.phone_number_id,
      waba_id: record.waba_id,
      display_phone_number: entry.profile.display_phone_number,
      webhook_url: entry.profile.webhook_url,
      app_secret: entry.profile.app_secret,
    };
  }
}

export { DEFAULT_REGION };
