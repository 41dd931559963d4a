/**
 * Each business's Signal identity, managed by the server on the business's behalf (cloud-api.md
 * §6: "Cloud API manages the encryption/decryption keys on behalf of the business").
 *
 * - Identity key pair and registration id: generated at business creation, kept forever.
 * - Signed prekey and Kyber (last-resort) prekey: rotated together every `rotationPeriodMs`
 *   (default 7 days) of server clock, checked lazily on bundle requests; superseded ones stay
 *   usable for `supersededKeepMs` (default 30 days, the message retention) so PreKey messages
 *   built from an older bundle still decrypt (X3DH §3.3 / PQXDH §3.3).
 * - One-time prekeys: a pool of `poolTarget` (default 100) in the store; a bundle request takes
 *   one (never handed out twice: `BusinessKeyStore.takeBusinessPreKey` is atomic) and, when the pool has
 *   fallen under `poolLowWater` (default 50), a background refill tops it up. The private half
 *   of a handed-out prekey is kept with the requesting device's session record (sealed, written
 *   by compare-and-set) until a PreKey message uses it, then deleted in the same write, so it
 *   survives restarts, works across processes, and cannot be used twice.
 *
 * Everything is sealed under the business's data key (kind `business_key`).
 */
import type { CryptoBackend } from '../crypto/backend.js';
import {
  IdentityKeyPair,
  generateRegistrationId,
  generateKyberPreKey,
  generateOneTimePreKeys,
  generateSignedPreKey,
  type KyberPreKeyRecord,
  type OneTimePreKeyRecord,
  type PreKeyBundle,
  type PreKeyLookup,
  type SignedPreKeyRecord,
} from '../signal/index.js';
import { fromBase64 as unb64, toBase64 as b64 } from '../encoding/base64.js';
import type { AtRest } from './at-rest.js';
import { recordKey, type BusinessRecord, type SealedPreKey, type BusinessKeyStore } from '../store/store.js';

export interface BusinessKeysOptions {
  /** Signed + Kyber prekey rotation period on the server clock (default 7 days). */
  readonly rotationPeriodMs?: number;
  /** How long superseded signed/Kyber prekeys still decrypt (default 30 days). */
  readonly supersededKeepMs?: number;
  /** One-time prekeys the pool is filled to (default 100). */
  readonly poolTarget?: number;
  /** Refill when the pool is below this (default 50). */
  readonly poolLowWater?: number;
}

const dayMs = 86_400_000;

/** The decoded, in-memory form of a business's identity record. */
export interface BusinessSignalIdentity {
  readonly registrationId: number;
  readonly identity: IdentityKeyPair;
  /** Newest first; [0] is the one bundles carry. */
  signedPreKeys: SignedPreKeyRecord[];
  kyberPreKeys: KyberPreKeyRecord[];
  nextSignedPreKeyId: number;
  nextKyberPreKeyId: number;
  nextOneTimePreKeyId: number;
}

type BusinessKeyRef = Pick<BusinessRecord, 'phone_number_id' | 'region' | 'wrapped_data_key'>;

interface IdentityJson {
  registration_id: number;
  identity: string;
  signed_pre_keys: { id: number; public_key: string; private_key: string; signature: string; timestamp: number }[];
  kyber_pre_keys: { id: number; public_key: string; secret_key: string; signature: string; timestamp: number }[];
  next_signed_pre_key_id: number;
  next_kyber_pre_key_id: number;
  next_one_time_pre_key_id: number;
}

function identityToJson(identity: BusinessSignalIdentity): IdentityJson {
  return {
    registration_id: identity.registrationId,
    identity: b64(identity.identity.serialize()),
    signed_pre_keys: identity.signedPreKeys.map((k) => ({
      id: k.id,
      public_key: b64(k.keyPair.publicKey),
      private_key: b64(k.keyPair.privateKey),
      signature: b64(k.signature),
      timestamp: k.timestamp,
    })),
    kyber_pre_keys: identity.kyberPreKeys.map((k) => ({
      id: k.id,
      public_key: b64(k.publicKey),
      secret_key: b64(k.secretKey),
      signature: b64(k.signature),
      timestamp: k.timestamp,
    })),
    next_signed_pre_key_id: identity.nextSignedPreKeyId,
    next_kyber_pre_key_id: identity.nextKyberPreKeyId,
    next_one_time_pre_key_id: identity.nextOneTimePreKeyId,
  };
}

function identityFromJson(json: IdentityJson): BusinessSignalIdentity {
  return {
    registrationId: json.registration_id,
    identity: IdentityKeyPair.deserialize(unb64(json.identity)),
    signedPreKeys: json.signed_pre_keys.map((k) => ({
      id: k.id,
      keyPair: { publicKey: unb64(k.public_key), privateKey: unb64(k.private_key) },
      signature: unb64(k.signature),
      timestamp: k.timestamp,
    })),
    kyberPreKeys: json.kyber_pre_keys.map((k) => ({
      id: k.id,
      publicKey: unb64(k.public_key),
      secretKey: unb64(k.secret_key),
      signature: unb64(k.signature),
      timestamp: k.timestamp,
    })),
    nextSignedPreKeyId: json.next_signed_pre_key_id,
    nextKyberPreKeyId: json.next_kyber_pre_key_id,
    nextOneTimePreKeyId: json.next_one_time_pre_key_id,
  };
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export class BusinessKeys {
  private readonly identities = new Map<string, BusinessSignalIdentity>();
  private readonly refilling = new Set<string>();
  private readonly pendingRefills = new Set<Promise<void>>();
  readonly rotationPeriodMs: number;
  readonly supersededKeepMs: number;
  readonly poolTarget: number;
  readonly poolLowWater: number;

  constructor(
    private readonly store: BusinessKeyStore,
    private readonly atRest: AtRest,
    private readonly backend: CryptoBackend,
    private readonly now: () => number,
    options: BusinessKeysOptions = {},
  ) {
    this.rotationPeriodMs = options.rotationPeriodMs ?? 7 * dayMs;
    this.supersededKeepMs = options.supersededKeepMs ?? 30 * dayMs;
    this.poolTarget = options.poolTarget ?? 100;
    this.poolLowWater = options.poolLowWater ?? 50;
  }

  /** Generates and stores the identity of a new business, and fills its one-time prekey pool. */
  async createIdentity(business: BusinessKeyRef): Promise<BusinessSignalIdentity> {
    const nowMs = this.now();
    const identity = IdentityKeyPair.generate(this.backend);
    const created: BusinessSignalIdentity = {
      registrationId: generateRegistrationId(this.backend),
      identity,
      signedPreKeys: [generateSignedPreKey(this.backend, identity, 1, nowMs)],
      kyberPreKeys: [generateKyberPreKey(this.backend, identity, 1, nowMs)],
      nextSignedPreKeyId: 2,
      nextKyberPreKeyId: 2,
      nextOneTimePreKeyId: 1,
    };
    const preKeys = this.mintOneTimePreKeys(business, created, this.poolTarget);
    await this.save(business, created);
    await this.store.addBusinessPreKeys(business.phone_number_id, preKeys);
    this.identities.set(business.phone_number_id, created);
    return created;
  }

  private mintOneTimePreKeys(business: BusinessKeyRef, identity: BusinessSignalIdentity, count: number): SealedPreKey[] {
    const records = generateOneTimePreKeys(this.backend, identity.nextOneTimePreKeyId, count);
    identity.nextOneTimePreKeyId += count;
    return records.map((r) => ({
      id: r.id,
      sealed: this.atRest.sealForBusiness(
        business,
        'business_key',
        recordKey.businessPreKey(business.phone_number_id, r.id),
        utf8.encode(JSON.stringify({ id: r.id, public_key: b64(r.publicKey), private_key: b64(r.privateKey) })),
      ),
    }));
  }

  private async save(business: BusinessKeyRef, identity: BusinessSignalIdentity): Promise<void> {
    const sealed = this.atRest.sealForBusiness(
      business,
      'business_key',
      recordKey.businessIdentity(business.phone_number_id),
      utf8.encode(JSON.stringify(identityToJson(identity))),
    );
    await this.store.putBusinessIdentity({ phone_number_id: business.phone_number_id, sealed, updated_at_ms: this.now() });
  }

  /**
   * The business's identity: cached after the first read; `fresh` re-reads the store (before
   * changing the record, and when another process may have rotated the prekeys).
   */
  async identity(business: BusinessKeyRef, fresh = false): Promise<BusinessSignalIdentity> {
    const cached = this.identities.get(business.phone_number_id);
    if (cached !== undefined && !fresh) return cached;
    const record = await this.store.getBusinessIdentity(business.phone_number_id);
    if (record === undefined) return this.createIdentity(business);
    const opened = this.atRest.openForBusiness(business, 'business_key', recordKey.businessIdentity(business.phone_number_id), record.sealed);
    const identity = identityFromJson(JSON.parse(fromUtf8.decode(opened)) as IdentityJson);
    this.identities.set(business.phone_number_id, identity);
    return identity;
  }

  /**
   * The identity, re-read when it lacks the signed or Kyber prekey a PreKey message names (another
   * process rotated them since this one cached the record).
   */
  async identityWith(business: BusinessKeyRef, signedPreKeyId: number, kyberPreKeyId: number): Promise<BusinessSignalIdentity> {
    const identity = await this.identity(business);
    const has = (i: BusinessSignalIdentity): boolean =>
      i.signedPreKeys.some((k) => k.id === signedPreKeyId) && i.kyberPreKeys.some((k) => k.id === kyberPreKeyId);
    return has(identity) ? identity : this.identity(business, true);
  }

  /** Rotates the signed and Kyber prekeys when the current ones are older than the period. */
  async rotateIfDue(business: BusinessKeyRef): Promise<boolean> {
    const nowMs = this.now();
    if (nowMs - (await this.identity(business)).signedPreKeys[0]!.timestamp < this.rotationPeriodMs) return false;
    const identity = await this.identity(business, true);
    if (nowMs - identity.signedPreKeys[0]!.timestamp < this.rotationPeriodMs) return false; // another process did it
    const signed = generateSignedPreKey(this.backend, identity.identity, identity.nextSignedPreKeyId++, nowMs);
    const kyber = generateKyberPreKey(this.backend, identity.identity, identity.nextKyberPreKeyId++, nowMs);
    const keepAfter = nowMs - this.supersededKeepMs;
    identity.signedPreKeys = [signed, ...identity.signedPreKeys.filter((k) => k.timestamp >= keepAfter)];
    identity.kyberPreKeys = [kyber, ...identity.kyberPreKeys.filter((k) => k.timestamp >= keepAfter)];
    await this.save(business, identity);
    return true;
  }

  /**
   * A bundle for one device's request: current signed and Kyber prekeys plus one one-time
   * prekey no other request gets (or none when the pool is dry), with its private half for the
   * caller to keep with the device's session (signal-sessions.ts). Starts a background refill
   * when the pool is low.
   */
  async bundle(business: BusinessKeyRef): Promise<{ bundle: PreKeyBundle; oneTime?: OneTimePreKeyRecord }> {
    await this.rotateIfDue(business);
    const identity = await this.identity(business);
    const taken = await this.store.takeBusinessPreKey(business.phone_number_id);
    let oneTime: OneTimePreKeyRecord | undefined;
    if (taken !== undefined) {
      const opened = this.atRest.openForBusiness(business, 'business_key', recordKey.businessPreKey(business.phone_number_id, taken.id), taken.sealed);
      const json = JSON.parse(fromUtf8.decode(opened)) as { id: number; public_key: string; private_key: string };
      oneTime = { id: json.id, publicKey: unb64(json.public_key), privateKey: unb64(json.private_key) };
    }
    this.refillSoon(business);
    const signed = identity.signedPreKeys[0]!;
    const kyber = identity.kyberPreKeys[0]!;
    const bundle: PreKeyBundle = {
      registrationId: identity.registrationId,
      deviceId: 1,
      identityKey: identity.identity.publicKey,
      signedPreKeyId: signed.id,
      signedPreKey: signed.keyPair.publicKey,
      signedPreKeySignature: signed.signature,
      kyberPreKeyId: kyber.id,
      kyberPreKey: kyber.publicKey,
      kyberPreKeySignature: kyber.signature,
      ...(oneTime !== undefined ? { oneTimePreKeyId: oneTime.id, oneTimePreKey: oneTime.publicKey } : {}),
    };
    return oneTime !== undefined ? { bundle, oneTime } : { bundle };
  }

  /** The private halves a PreKey message may name (synchronous, as the Signal core wants). */
  preKeyLookup(identity: BusinessSignalIdentity, issuedOneTimePreKeys: readonly OneTimePreKeyRecord[]): PreKeyLookup {
    return {
      signedPreKey: (id) => identity.signedPreKeys.find((k) => k.id === id),
      kyberPreKey: (id) => identity.kyberPreKeys.find((k) => k.id === id),
      oneTimePreKey: (id) => issuedOneTimePreKeys.find((k) => k.id === id),
    };
  }

  private refillSoon(business: BusinessKeyRef): void {
    const pnid = business.phone_number_id;
    if (this.refilling.has(pnid)) return;
    this.refilling.add(pnid);
    const job = (async () => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const count = await this.store.businessPreKeyCount(pnid);
      if (count >= this.poolLowWater) return;
      // Fresh read: another process may have advanced the id counter.
      const identity = await this.identity(business, true);
      const preKeys = this.mintOneTimePreKeys(business, identity, this.poolTarget - count);
      // Save the advanced id counter before publishing the keys, so ids are never reused.
      await this.save(business, identity);
      await this.store.addBusinessPreKeys(pnid, preKeys);
    })()
      .catch(() => undefined)
      .finally(() => {
        this.refilling.delete(pnid);
        this.pendingRefills.delete(job);
      });
    this.pendingRefills.add(job);
  }

  /** Waits for background refills (shutdown, tests). */
  async settle(): Promise<void> {
    while (this.pendingRefills.size > 0) await Promise.all([...this.pendingRefills]);
  }
}
