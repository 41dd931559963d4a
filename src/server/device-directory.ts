/**
 * User devices as the transport face sees them (transport-api.md §1): registration with both
 * prekey signatures checked (XEdDSA by the identity key over the serialized 0x05 / 0x08 keys,
 * signal-wire.md §2), token lookup, key replenishment, and the device's prekey bundle for a
 * business that starts a session with it (PQXDH §3.2: one one-time prekey per bundle, never
 * twice).
 *
 * Device keys are sealed under the home region's contact key (src/server/at-rest.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { CryptoBackend } from '../crypto/backend.js';
import { EC_PUBLIC_KEY_LENGTH, KYBER_PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH, type PreKeyBundle } from '../signal/index.js';
import { recordKey, type DeviceRecord, type SealedPreKey, type DeviceStore } from '../store/store.js';
import type { AtRest } from './at-rest.js';
import { tokenHash } from './business-directory.js';
import { GraphError } from './graph-error.js';
import { fromBase64 as unb64, toBase64 } from '../encoding/base64.js';
import { isObject, requireArray, requireBase64, requireInteger, requireObject } from './request-fields.js';

export interface SignedKey {
  readonly id: number;
  readonly publicKey: Uint8Array;
  readonly signature: Uint8Array;
}

export interface OneTimeKey {
  readonly id: number;
  readonly publicKey: Uint8Array;
}

/** The public keys of a device, as registered. */
export interface DeviceKeys {
  readonly registrationId: number;
  readonly identityKey: Uint8Array;
  readonly signedPreKey: SignedKey;
  readonly kyberPreKey: SignedKey;
}

export interface DeviceEntry {
  readonly record: DeviceRecord;
  readonly keys: DeviceKeys;
}

/** Most one-time prekeys per upload (bounded: a request is at most 1 MiB anyway). */
export const maxOneTimePreKeysPerUpload = 1000;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

// --- boundary parsing -------------------------------------------------------------------------

const maxKeyId = 0xffffff; // libsignal prekey ids are 24-bit (Medium::MAX_VALUE)

export function parseSignedKey(parent: Record<string, unknown>, name: string, keyBytes: number): SignedKey {
  const object = requireObject(parent, name);
  return {
    id: requireInteger(object, 'id', 0, maxKeyId),
    publicKey: requireBase64(object, 'public_key', keyBytes),
    signature: requireBase64(object, 'signature', SIGNATURE_LENGTH),
  };
}

export function parseOneTimeKeys(parent: Record<string, unknown>, name: string): OneTimeKey[] {
  const items = requireArray(parent, name, maxOneTimePreKeysPerUpload);
  const seen = new Set<number>();
  return items.map((item, index) => {
    if (!isObject(item)) throw new GraphError('invalid-parameter', `${name}[${index}] must be an object`);
    const id = requireInteger(item, 'id', 0, maxKeyId);
    if (seen.has(id)) throw new GraphError('parameter-value', `${name}[${index}].id ${id} is repeated`);
    seen.add(id);
    return { id, publicKey: requireBase64(item, 'public_key', EC_PUBLIC_KEY_LENGTH) };
  });
}

function checkEcKey(key: Uint8Array, what: string): void {
  if (key[0] !== 0x05) throw new GraphError('parameter-value', `${what} must be a 0x05-prefixed Curve25519 key`);
}

/** XEdDSA check of a signed prekey against the identity key (signal-wire.md §2 "Signatures"). */
export function checkSignature(backend: CryptoBackend, identityKey: Uint8Array, key: SignedKey, what: string): void {
  if (!backend.xeddsaVerify(identityKey.subarray(1), key.publicKey, key.signature)) {
    throw new GraphError('parameter-value', `${what}.signature does not verify against identity_key`);
  }
}

export interface DeviceRegistration {
  readonly waId: string;
  readonly deviceId: number;
  readonly keys: DeviceKeys;
  readonly oneTimePreKeys: readonly OneTimeKey[];
}

// --- sealing ----------------------------------------------------------------------------------

function keysToJson(keys: DeviceKeys): Record<string, unknown> {
  const signed = (k: SignedKey): Record<string, unknown> => ({ id: k.id, public_key: toBase64(k.publicKey), signature: toBase64(k.signature) });
  return {
    registration_id: keys.registrationId,
    identity_key: toBase64(keys.identityKey),
    signed_pre_key: signed(keys.signedPreKey),
    kyber_pre_key: signed(keys.kyberPreKey),
  };
}

interface KeysJson {
  registration_id: number;
  identity_key: string;
  signed_pre_key: { id: number; public_key: string; signature: string };
  kyber_pre_key: { id: number; public_key: string; signature: string };
}

function keysFromJson(json: KeysJson): DeviceKeys {
  const signed = (k: KeysJson['signed_pre_key']): SignedKey => ({ id: k.id, publicKey: unb64(k.public_key), signature: unb64(k.signature) });
  return {
    registrationId: json.registration_id,
    identityKey: unb64(json.identity_key),
    signedPreKey: signed(json.signed_pre_key),
    kyberPreKey: signed(json.kyber_pre_key),
  };
}

export class DeviceDirectory {
  /** Opened keys by token hash (a re-registration changes the hash, so stale entries are unreachable). */
  private readonly opened = new Map<string, DeviceEntry>();
  /**
   * SHA-256 of device tokens seen recently (token → hash; at most `tokenHashCacheSize`, oldest
   * dropped), so a device's every request does not hash its token again. Only the hash is
   * looked up in the store, so a revoked token is refused exactly as before.
   */
  private readonly tokenHashes = new Map<string, string>();
  private static readonly tokenHashCacheSize = 20_000;

  private hashOf(token: string): string {
    let hash = this.tokenHashes.get(token);
    if (hash === undefined) {
      hash = tokenHash(token);
      if (this.tokenHashes.size >= DeviceDirectory.tokenHashCacheSize) this.tokenHashes.delete(this.tokenHashes.keys().next().value!);
      this.tokenHashes.set(token, hash);
    }
    return hash;
  }

  constructor(
    private readonly store: DeviceStore,
    private readonly atRest: AtRest,
    private readonly backend: CryptoBackend,
    private readonly now: () => number,
  ) {}

  /** Verifies both signatures, then stores the device; answers its new token. */
  async register(registration: DeviceRegistration): Promise<string> {
    const { keys } = registration;
    checkEcKey(keys.identityKey, 'identity_key');
    checkEcKey(keys.signedPreKey.publicKey, 'signed_pre_key.public_key');
    if (keys.kyberPreKey.publicKey[0] !== 0x08) throw new GraphError('parameter-value', 'kyber_pre_key.public_key must be a 0x08-prefixed Kyber1024 key');
    for (const k of registration.oneTimePreKeys) checkEcKey(k.publicKey, `one_time_pre_keys[id ${k.id}]`);
    checkSignature(this.backend, keys.identityKey, keys.signedPreKey, 'signed_pre_key');
    checkSignature(this.backend, keys.identityKey, keys.kyberPreKey, 'kyber_pre_key');
    const token = randomBytes(32).toString('base64url');
    const { waId, deviceId } = registration;
    const record: DeviceRecord = {
      wa_id: waId,
      device_id: deviceId,
      token_hash: tokenHash(token),
      identity_key_hash: createHash('sha256').update(keys.identityKey).digest('hex'),
      registered_at_ms: this.now(),
      sealed_keys: this.atRest.sealForContact(recordKey.device(waId, deviceId), utf8.encode(JSON.stringify(keysToJson(keys)))),
    };
    await this.store.registerDevice(record, this.sealOneTimeKeys(waId, deviceId, registration.oneTimePreKeys));
    return token;
  }

  private sealOneTimeKeys(waId: string, deviceId: number, keys: readonly OneTimeKey[]): SealedPreKey[] {
    return keys.map((k) => ({
      id: k.id,
      sealed: this.atRest.sealForContact(
        recordKey.devicePreKey(waId, deviceId, k.id),
        utf8.encode(JSON.stringify({ id: k.id, public_key: toBase64(k.publicKey) })),
      ),
    }));
  }

  private open(record: DeviceRecord): DeviceEntry {
    const json = JSON.parse(fromUtf8.decode(this.atRest.openForContact(recordKey.device(record.wa_id, record.device_id), record.sealed_keys))) as KeysJson;
    const entry = { record, keys: keysFromJson(json) };
    this.opened.set(record.token_hash, entry);
    return entry;
  }

  /** The device a token belongs to, or undefined (unknown or revoked). */
  async byToken(token: string): Promise<DeviceEntry | undefined> {
    const hash = this.hashOf(token);
    const record = await this.store.getDeviceByTokenHash(hash);
    if (record === undefined) {
      this.tokenHashes.delete(token); // unknown or revoked tokens are not kept
      this.opened.delete(hash);
      return undefined;
    }
    const cached = this.opened.get(hash);
    return cached !== undefined && cached.record.sealed_keys === record.sealed_keys ? cached : this.open(record);
  }

  /**
   * `PUT /transport/v1/devices/self/pre_keys`: signatures checked before anything is written; an
   * upload that would leave the device with more than `maxOneTimePreKeys` is refused whole.
   */
  async updateKeys(device: DeviceEntry, update: { oneTimePreKeys: readonly OneTimeKey[]; signedPreKey?: SignedKey; kyberPreKey?: SignedKey }, maxOneTimePreKeys: number): Promise<void> {
    const { keys } = device;
    for (const k of update.oneTimePreKeys) checkEcKey(k.publicKey, `one_time_pre_keys[id ${k.id}]`);
    if (update.signedPreKey !== undefined) {
      checkEcKey(update.signedPreKey.publicKey, 'signed_pre_key.public_key');
      checkSignature(this.backend, keys.identityKey, update.signedPreKey, 'signed_pre_key');
    }
    if (update.kyberPreKey !== undefined) {
      if (update.kyberPreKey.publicKey[0] !== 0x08) throw new GraphError('parameter-value', 'kyber_pre_key.public_key must be a 0x08-prefixed Kyber1024 key');
      checkSignature(this.backend, keys.identityKey, update.kyberPreKey, 'kyber_pre_key');
    }
    const { wa_id: waId, device_id: deviceId } = device.record;
    const changes: { sealed_keys?: Uint8Array; add_one_time_pre_keys?: readonly SealedPreKey[]; max_one_time_pre_keys: number } = { max_one_time_pre_keys: maxOneTimePreKeys };
    if (update.signedPreKey !== undefined || update.kyberPreKey !== undefined) {
      const next: DeviceKeys = {
        ...keys,
        signedPreKey: update.signedPreKey ?? keys.signedPreKey,
        kyberPreKey: update.kyberPreKey ?? keys.kyberPreKey,
      };
      changes.sealed_keys = this.atRest.sealForContact(recordKey.device(waId, deviceId), utf8.encode(JSON.stringify(keysToJson(next))));
    }
    if (update.oneTimePreKeys.length > 0) changes.add_one_time_pre_keys = this.sealOneTimeKeys(waId, deviceId, update.oneTimePreKeys);
    await this.store.updateDeviceKeys(waId, deviceId, changes);
    this.opened.delete(device.record.token_hash);
  }

  /** All devices of a user, with their keys. */
  async devicesOf(waId: string): Promise<DeviceEntry[]> {
    const records = await this.store.listDevices(waId);
    return records.map((record) => {
      const cached = this.opened.get(record.token_hash);
      return cached !== undefined && cached.record.sealed_keys === record.sealed_keys ? cached : this.open(record);
    });
  }

  /** The device's bundle, taking one of its one-time prekeys (never the same one twice). */
  async bundleOf(device: DeviceEntry): Promise<PreKeyBundle> {
    const { wa_id: waId, device_id: deviceId } = device.record;
    const taken = await this.store.takeDevicePreKey(waId, deviceId);
    const { keys } = device;
    const bundle: PreKeyBundle = {
      registrationId: keys.registrationId,
      deviceId,
      identityKey: keys.identityKey,
      signedPreKeyId: keys.signedPreKey.id,
      signedPreKey: keys.signedPreKey.publicKey,
      signedPreKeySignature: keys.signedPreKey.signature,
      kyberPreKeyId: keys.kyberPreKey.id,
      kyberPreKey: keys.kyberPreKey.publicKey,
      kyberPreKeySignature: keys.kyberPreKey.signature,
    };
    if (taken !== undefined) {
      const json = JSON.parse(fromUtf8.decode(this.atRest.openForContact(recordKey.devicePreKey(waId, deviceId, taken.id), taken.sealed))) as {
        id: number;
        public_key: string;
      };
      bundle.oneTimePreKeyId = json.id;
      bundle.oneTimePreKey = unb64(json.public_key);
    }
    return bundle;
  }
}

export { KYBER_PUBLIC_KEY_LENGTH, EC_PUBLIC_KEY_LENGTH };
