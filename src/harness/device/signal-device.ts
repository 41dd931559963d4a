/**
 * A simulated Signal device built on our core (src/signal): identity, signed prekey, Kyber
 * prekey, one-time prekeys and its sessions, one record per peer address. The one device the
 * micro and retention suites, the pool and fleet workers, the Signal tests and the figures
 * script all use.
 *
 * Two ways to run sessions: the device's own (`processBundle`, `encrypt`, `decrypt` on the record
 * kept for each peer; a decrypt that used a one-time prekey deletes it, as a real device does),
 * or explicit records (`setUpSession`, `establishSession`, `sendAndReceive`), which benchmarks use
 * to replay the same bundle: looking a prekey up never deletes it.
 */
import type { CryptoBackend } from '../../crypto/backend.js';
import {
  decryptMessage,
  encryptMessage,
  generateKyberPreKey,
  generateOneTimePreKeys,
  generateRegistrationId,
  generateSignedPreKey,
  IdentityKeyPair,
  processPreKeyBundle,
  SessionRecord,
  type Ciphertext,
  type KyberPreKeyRecord,
  type LocalIdentity,
  type OneTimePreKeyRecord,
  type PreKeyBundle,
  type PreKeyLookup,
  type ProtocolAddress,
  type SignedPreKeyRecord,
} from '../../signal/index.js';

export interface SimulatedDeviceOptions {
  /** Name of the device's protocol address (a user's wa_id, a test's 'alice'). @default 'device' */
  name?: string;
  /** Device id of the address. @default 1 */
  deviceId?: number;
  /** Registration id. @default a random one (generateRegistrationId) */
  registrationId?: number;
  /** One-time prekeys made with the device. @default 1 */
  oneTimePreKeys?: number;
  /** Id of the first one-time prekey; the others follow it. @default 1 */
  firstOneTimePreKeyId?: number;
  /** Id of the signed prekey. @default 1 */
  signedPreKeyId?: number;
  /** Id of the Kyber prekey. @default 1 */
  kyberPreKeyId?: number;
}

/** Defaults of `SimulatedDeviceOptions` (registrationId: random per device). */
export const DEFAULT_SIMULATED_DEVICE_OPTIONS = {
  name: 'device',
  deviceId: 1,
  oneTimePreKeys: 1,
  firstOneTimePreKeyId: 1,
  signedPreKeyId: 1,
  kyberPreKeyId: 1,
} as const;

const addressKey = (address: ProtocolAddress): string => `${address.name}.${address.deviceId}`;

export class SimulatedDevice implements PreKeyLookup {
  readonly local: LocalIdentity;
  readonly name: string;
  readonly deviceId: number;
  readonly signedPreKeys = new Map<number, SignedPreKeyRecord>();
  readonly kyberPreKeys = new Map<number, KyberPreKeyRecord>();
  readonly oneTimePreKeys = new Map<number, OneTimePreKeyRecord>();
  /** This device's session record with each peer, by `name.deviceId`. */
  readonly sessions = new Map<string, SessionRecord>();
  private readonly bundleSignedPreKey: SignedPreKeyRecord;
  private readonly bundleKyberPreKey: KyberPreKeyRecord;

  constructor(
    readonly backend: CryptoBackend,
    options: SimulatedDeviceOptions = {},
  ) {
    const settings = { ...DEFAULT_SIMULATED_DEVICE_OPTIONS, ...options };
    this.name = settings.name;
    this.deviceId = settings.deviceId;
    const identity = IdentityKeyPair.generate(backend);
    this.local = { identity, registrationId: options.registrationId ?? generateRegistrationId(backend) };
    this.bundleSignedPreKey = generateSignedPreKey(backend, identity, settings.signedPreKeyId);
    this.signedPreKeys.set(this.bundleSignedPreKey.id, this.bundleSignedPreKey);
    this.bundleKyberPreKey = generateKyberPreKey(backend, identity, settings.kyberPreKeyId);
    this.kyberPreKeys.set(this.bundleKyberPreKey.id, this.bundleKyberPreKey);
    for (const key of generateOneTimePreKeys(backend, settings.firstOneTimePreKeyId, settings.oneTimePreKeys)) this.oneTimePreKeys.set(key.id, key);
  }

  get address(): ProtocolAddress {
    return { name: this.name, deviceId: this.deviceId };
  }

  /** The device as a prekey lookup for `decryptMessage` on explicit records (never deletes a key). */
  get lookup(): PreKeyLookup {
    return this;
  }

  signedPreKey(id: number): SignedPreKeyRecord | undefined {
    return this.signedPreKeys.get(id);
  }

  kyberPreKey(id: number): KyberPreKeyRecord | undefined {
    return this.kyberPreKeys.get(id);
  }

  oneTimePreKey(id: number): OneTimePreKeyRecord | undefined {
    return this.oneTimePreKeys.get(id);
  }

  /** This device's bundle; with its first unused one-time prekey unless `withOneTimePreKey` is false or none is left. */
  bundle(withOneTimePreKey = true): PreKeyBundle {
    const bundle: PreKeyBundle = {
      registrationId: this.local.registrationId,
      deviceId: this.deviceId,
      identityKey: this.local.identity.publicKey,
      signedPreKeyId: this.bundleSignedPreKey.id,
      signedPreKey: this.bundleSignedPreKey.keyPair.publicKey,
      signedPreKeySignature: this.bundleSignedPreKey.signature,
      kyberPreKeyId: this.bundleKyberPreKey.id,
      kyberPreKey: this.bundleKyberPreKey.publicKey,
      kyberPreKeySignature: this.bundleKyberPreKey.signature,
    };
    const first = this.oneTimePreKeys.values().next().value;
    if (withOneTimePreKey && first !== undefined) {
      bundle.oneTimePreKeyId = first.id;
      bundle.oneTimePreKey = first.publicKey;
    }
    return bundle;
  }

  /** The session record kept for `address` (an empty one the first time). */
  record(address: ProtocolAddress): SessionRecord {
    const key = addressKey(address);
    let record = this.sessions.get(key);
    if (record === undefined) {
      record = SessionRecord.empty();
      this.sessions.set(key, record);
    }
    return record;
  }

  processBundle(address: ProtocolAddress, bundle: PreKeyBundle): void {
    processPreKeyBundle(this.backend, this.local, this.record(address), bundle);
  }

  encrypt(address: ProtocolAddress, plaintext: Uint8Array): Ciphertext {
    return encryptMessage(this.backend, this.local, this.record(address), plaintext);
  }

  /** Decrypts on the record kept for `address`; a one-time prekey the message used is deleted. */
  decrypt(address: ProtocolAddress, ciphertext: Ciphertext): Uint8Array {
    const result = decryptMessage(this.backend, this.local, this.record(address), ciphertext, this);
    if (result.usedOneTimePreKeyId !== undefined) this.oneTimePreKeys.delete(result.usedOneTimePreKeyId);
    return result.plaintext;
  }
}

/** A device with `deviceId` and `oneTimePreKeys` one-time prekeys (the benchmarks' shorthand). */
export function createDevice(backend: CryptoBackend, deviceId = 1, oneTimePreKeys = 1): SimulatedDevice {
  return new SimulatedDevice(backend, { deviceId, oneTimePreKeys });
}

export interface SessionPair {
  /** Initiator's record of the session with the responder. */
  initiator: SessionRecord;
  /** Responder's record of the session with the initiator. */
  responder: SessionRecord;
}

/**
 * One full session setup on fresh records: the initiator processes the responder's bundle
 * (PQXDH initiator) and sends the first PreKey message, the responder decrypts it (PQXDH
 * responder). Returns both records.
 */
export function setUpSession(
  backend: CryptoBackend,
  initiator: SimulatedDevice,
  responder: SimulatedDevice,
  firstPlaintext: Uint8Array,
  bundle: PreKeyBundle = responder.bundle(),
): SessionPair {
  const a = SessionRecord.empty();
  processPreKeyBundle(backend, initiator.local, a, bundle);
  const first = encryptMessage(backend, initiator.local, a, firstPlaintext);
  const b = SessionRecord.empty();
  decryptMessage(backend, responder.local, b, first, responder);
  return { initiator: a, responder: b };
}

/** A session set up and answered once, so both sides send plain SignalMessages (type 2). */
export function establishSession(
  backend: CryptoBackend,
  initiator: SimulatedDevice,
  responder: SimulatedDevice,
  plaintext: Uint8Array,
): SessionPair {
  const pair = setUpSession(backend, initiator, responder, plaintext);
  const reply = encryptMessage(backend, responder.local, pair.responder, plaintext);
  decryptMessage(backend, initiator.local, pair.initiator, reply);
  return pair;
}

/** Sends one message from `from` to `to` on their records; returns the ciphertext. */
export function sendAndReceive(
  backend: CryptoBackend,
  from: SimulatedDevice,
  fromRecord: SessionRecord,
  to: SimulatedDevice,
  toRecord: SessionRecord,
  plaintext: Uint8Array,
): Ciphertext {
  const message = encryptMessage(backend, from.local, fromRecord, plaintext);
  decryptMessage(backend, to.local, toRecord, message, to);
  return message;
}

/** A 160-byte plaintext, the size the message figures use. */
export function plaintextOf(length = 160): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = 0x41 + (i % 26);
  return bytes;
}

/** One message per call, the direction alternating, so whole SPQR epochs are averaged. */
export function alternating(send: (forward: boolean) => unknown): () => unknown {
  let forward = true;
  return () => {
    const out = send(forward);
    forward = !forward;
    return out;
  };
}
