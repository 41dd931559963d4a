/**
 * At-rest encryption (transport-api.md §3 "Everything at rest is encrypted (per-business data
 * keys)"; cloud-api.md §5 "Messages at rest are encrypted").
 *
 * Key hierarchy:
 * - one 32-byte master key per region (given in config, else generated at server start — then
 *   data at rest does not survive a restart, which is what an in-memory store wants anyway);
 * - one 32-byte data key per business, AES-256-GCM-wrapped by its region's master key and stored
 *   as the business's `wrapped_data_key` (kind `business_key`, key `<pnid>/data_key`);
 * - one contact key per region, HKDF-SHA256(master, info "sigload/at-rest/contact-key/v1"), for
 *   records that belong to no business (contacts, devices, device prekeys).
 *
 * Sealed format: `0x01 ‖ nonce (12) ‖ AES-256-GCM ciphertext ‖ tag (16)`; AAD =
 * `"sigload/at-rest/v1" 0x00 kind 0x00 key` so bytes moved to another record, kind or key fail
 * to open. Every failure to open is StoreError('corrupt').
 *
 * Nonces: 96 random bits each (NIST SP 800-38D §8.2.2, the RBG-based construction, as before),
 * drawn from the backend's CSPRNG `NONCE_POOL_NONCES` at a time and handed out once each, so a
 * seal does not pay a CSPRNG call (a third of its cost when drawn one by one). The pool bytes
 * are overwritten as they are used, so a handed-out nonce is never handed out again.
 */
import type { CryptoBackend } from '../crypto/backend.js';
import { getBackend } from '../crypto/index.js';
import { DEFAULT_REGION, StoreError, isRegion, recordKey } from '../store/store.js';
import type { BusinessRecord, RecordKind, Region } from '../store/store.js';

const FORMAT_VERSION = 0x01;
const NONCE_BYTES = 12;
/** Nonces drawn from the CSPRNG per refill (3 KiB). */
const NONCE_POOL_NONCES = 256;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const AAD_PREFIX = 'sigload/at-rest/v1';
const CONTACT_KEY_INFO = new TextEncoder().encode('sigload/at-rest/contact-key/v1');

const utf8 = new TextEncoder();

/**
 * UTF-8 bytes of a JSON text, for a cipher's input only (AES-GCM here, AES-CBC in a business's
 * Signal message), which reads them once. Buffer.from is several times cheaper than
 * TextEncoder.encode for a status-sized string (docs/measurements.md). Returned as the Buffer itself: its only readers are
 * cipher `update` calls, so Buffer's memory-sharing `slice` never comes into play.
 */
export function jsonBytes(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/** Overhead a sealed blob adds to its plaintext, in bytes. */
export const SEALED_OVERHEAD_BYTES = 1 + NONCE_BYTES + TAG_BYTES;

export interface AtRestOptions {
  /** AES-256-GCM, HKDF and randomness. Default: the node backend, `getBackend('node')`. */
  readonly backend?: CryptoBackend;
  /** 32-byte master key per region; regions not given get a random key on first use. */
  readonly master_keys?: Partial<Record<Region, Uint8Array>>;
}

/** The AAD that binds sealed bytes to their record. */
export function sealingAad(kind: RecordKind, key: string): Uint8Array {
  return utf8.encode(`${AAD_PREFIX}\u0000${kind}\u0000${key}`);
}

/** AAD with Buffer.from (faster than TextEncoder for short strings on Node); same bytes. */
function aadBytes(kind: RecordKind, key: string): Uint8Array {
  return Buffer.from(`${AAD_PREFIX}\u0000${kind}\u0000${key}`, 'utf8');
}

export class AtRest {
  readonly #backend: CryptoBackend;
  readonly #masterKeys = new Map<Region, Uint8Array>();
  readonly #contactKeys = new Map<Region, Uint8Array>();
  /** Unwrapped data keys by phone_number_id (kept in memory only). */
  readonly #dataKeys = new Map<string, Uint8Array>();
  /** Unused CSPRNG nonces; `#noncePoolAt` is the first unused byte. */
  #noncePool: Uint8Array = new Uint8Array(0);
  #noncePoolAt = 0;

  constructor(options: AtRestOptions = {}) {
    this.#backend = options.backend ?? getBackend('node');
    for (const [region, key] of Object.entries(options.master_keys ?? {})) {
      if (!isRegion(region)) throw new StoreError('invalid', `unknown region ${region}`);
      if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) throw new StoreError('invalid', `master key for ${region} must be ${KEY_BYTES} bytes`);
      this.#masterKeys.set(region, key.slice());
    }
  }

  // --- primitives -----------------------------------------------------------------------

  /** Seals `plaintext` under `key` for the record (kind, recordKey). */
  seal(key: Uint8Array, kind: RecordKind, recordKeyText: string, plaintext: Uint8Array): Uint8Array {
    const out = new Uint8Array(1 + NONCE_BYTES + plaintext.length + TAG_BYTES);
    out[0] = FORMAT_VERSION;
    const nonce = this.#takeNonce(out.subarray(1, 1 + NONCE_BYTES));
    const body = this.#backend.aes256GcmEncrypt(key, nonce, plaintext, aadBytes(kind, recordKeyText));
    out.set(body, 1 + NONCE_BYTES);
    return out;
  }

  /** Moves 12 fresh CSPRNG bytes (§8.2.2) from the pool into `into`; the pool's copy is zeroed. */
  #takeNonce(into: Uint8Array): Uint8Array {
    if (this.#noncePoolAt + NONCE_BYTES > this.#noncePool.length) {
      this.#noncePool = this.#backend.randomBytes(NONCE_BYTES * NONCE_POOL_NONCES);
      this.#noncePoolAt = 0;
    }
    const at = this.#noncePoolAt;
    into.set(this.#noncePool.subarray(at, at + NONCE_BYTES));
    this.#noncePool.fill(0, at, at + NONCE_BYTES);
    this.#noncePoolAt = at + NONCE_BYTES;
    return into;
  }

  /** Opens what `seal` made; StoreError('corrupt') on any mismatch (key, kind, record key, bytes). */
  open(key: Uint8Array, kind: RecordKind, recordKeyText: string, sealed: Uint8Array): Uint8Array {
    if (!(sealed instanceof Uint8Array) || sealed.length < SEALED_OVERHEAD_BYTES || sealed[0] !== FORMAT_VERSION) {
      throw new StoreError('corrupt', `sealed ${kind} ${recordKeyText}: bad format`);
    }
    try {
      return this.#backend.aes256GcmDecrypt(key, sealed.subarray(1, 1 + NONCE_BYTES), sealed.subarray(1 + NONCE_BYTES), aadBytes(kind, recordKeyText));
    } catch (cause) {
      throw new StoreError('corrupt', `sealed ${kind} ${recordKeyText} failed to open`, { cause });
    }
  }

  // --- region keys --------------------------------------------------------------------------

  /** The region's master key (generated on first use when not configured). */
  masterKey(region: Region): Uint8Array {
    let key = this.#masterKeys.get(region);
    if (key === undefined) {
      key = this.#backend.randomBytes(KEY_BYTES);
      this.#masterKeys.set(region, key);
    }
    return key;
  }

  /** Key for records that belong to no business, in `region` (default: the home region). */
  contactKey(region: Region = DEFAULT_REGION): Uint8Array {
    let key = this.#contactKeys.get(region);
    if (key === undefined) {
      key = this.#backend.hkdfSha256(this.masterKey(region), new Uint8Array(0), CONTACT_KEY_INFO, KEY_BYTES);
      this.#contactKeys.set(region, key);
    }
    return key;
  }

  // --- business data keys -------------------------------------------------------------------

  /** A fresh data key for a new business, and its wrapping under the region master key. */
  createDataKey(region: Region, phoneNumberId: string): { readonly wrapped_data_key: Uint8Array } {
    const dataKey = this.#backend.randomBytes(KEY_BYTES);
    const wrapped = this.seal(this.masterKey(region), 'business_key', recordKey.businessDataKey(phoneNumberId), dataKey);
    this.#dataKeys.set(phoneNumberId, dataKey);
    return { wrapped_data_key: wrapped };
  }

  /** The business's data key, unwrapped (and cached) from its record. */
  dataKey(business: Pick<BusinessRecord, 'phone_number_id' | 'region' | 'wrapped_data_key'>): Uint8Array {
    let key = this.#dataKeys.get(business.phone_number_id);
    if (key === undefined) {
      key = this.open(this.masterKey(business.region), 'business_key', recordKey.businessDataKey(business.phone_number_id), business.wrapped_data_key);
      this.#dataKeys.set(business.phone_number_id, key);
    }
    return key;
  }

  // --- conveniences ---------------------------------------------------------------------------

  /** Seals a record of the business under its data key. */
  sealForBusiness(business: Pick<BusinessRecord, 'phone_number_id' | 'region' | 'wrapped_data_key'>, kind: RecordKind, key: string, plaintext: Uint8Array): Uint8Array {
    return this.seal(this.dataKey(business), kind, key, plaintext);
  }

  openForBusiness(business: Pick<BusinessRecord, 'phone_number_id' | 'region' | 'wrapped_data_key'>, kind: RecordKind, key: string, sealed: Uint8Array): Uint8Array {
    return this.open(this.dataKey(business), kind, key, sealed);
  }

  /** Seals a user record (contact/device/device prekey) under the home region's contact key. */
  sealForContact(key: string, plaintext: Uint8Array, region: Region = DEFAULT_REGION): Uint8Array {
    return this.seal(this.contactKey(region), 'contact', key, plaintext);
  }

  openForContact(key: string, sealed: Uint8Array, region: Region = DEFAULT_REGION): Uint8Array {
    return this.open(this.contactKey(region), 'contact', key, sealed);
  }

  /** JSON helpers: seal/open a JSON value for a business record. */
  sealJsonForBusiness(business: Pick<BusinessRecord, 'phone_number_id' | 'region' | 'wrapped_data_key'>, kind: RecordKind, key: string, value: unknown): Uint8Array {
    return this.sealForBusiness(business, kind, key, jsonBytes(value));
  }

  openJsonForBusiness<T = unknown>(business: Pick<BusinessRecord, 'phone_number_id' | 'region' | 'wrapped_data_key'>, kind: RecordKind, key: string, sealed: Uint8Array): T {
    const bytes = this.openForBusiness(business, kind, key, sealed);
    try {
      return JSON.parse(new TextDecoder().decode(bytes)) as T;
    } catch (cause) {
      throw new StoreError('corrupt', `sealed ${kind} ${key} is not JSON`, { cause });
    }
  }
}
