/**
 * A simulated Signal device built on our core (src/signal): identity, signed prekey, Kyber
 * prekey, one-time prekeys, and the helpers benchmarks need to start and run sessions.
 * Used by the micro suite, the pool workers and the heap-per-session measurement.
 */
import type { CryptoBackend } from '../src/crypto/backend.js';
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
  type SignedPreKeyRecord,
} from '../src/signal/index.js';

export interface SimulatedDevice {
  readonly local: LocalIdentity;
  readonly deviceId: number;
  readonly signedPreKey: SignedPreKeyRecord;
  readonly kyberPreKey: KyberPreKeyRecord;
  readonly oneTimePreKeys: Map<number, OneTimePreKeyRecord>;
  /** Lookup that never deletes a used one-time prekey (benchmarks replay the same bundle). */
  readonly lookup: PreKeyLookup;
  /** This device's bundle; with the first one-time prekey unless `oneTimePreKey` is false. */
  bundle(oneTimePreKey?: boolean): PreKeyBundle;
}

export function createDevice(backend: CryptoBackend, deviceId = 1, oneTimePreKeys = 1): SimulatedDevice {
  const identity = IdentityKeyPair.generate(backend);
  const local: LocalIdentity = { identity, registrationId: generateRegistrationId(backend) };
  const signedPreKey = generateSignedPreKey(backend, identity, 1);
  const kyberPreKey = generateKyberPreKey(backend, identity, 1);
  const otpks = new Map(generateOneTimePreKeys(backend, 1, oneTimePreKeys).map((k) => [k.id, k]));
  const lookup: PreKeyLookup = {
    signedPreKey: (id) => (id === signedPreKey.id ? signedPreKey : undefined),
    kyberPreKey: (id) => (id === kyberPreKey.id ? kyberPreKey : undefined),
    oneTimePreKey: (id) => otpks.get(id),
  };
  return {
    local,
    deviceId,
    signedPreKey,
    kyberPreKey,
    oneTimePreKeys: otpks,
    lookup,
    bundle(withOneTime = true): PreKeyBundle {
      const bundle: PreKeyBundle = {
        registrationId: local.registrationId,
        deviceId,
        identityKey: identity.publicKey,
        signedPreKeyId: signedPreKey.id,
        signedPreKey: signedPreKey.keyPair.publicKey,
        signedPreKeySignature: signedPreKey.signature,
        kyberPreKeyId: kyberPreKey.id,
        kyberPreKey: kyberPreKey.publicKey,
        kyberPreKeySignature: kyberPreKey.signature,
      };
      const first = otpks.values().next().value;
      if (withOneTime && first) {
        bundle.oneTimePreKeyId = first.id;
        bundle.oneTimePreKey = first.publicKey;
      }
      return bundle;
    },
  };
}

export interface SessionPair {
  /** Initiator's record of the session with the responder. */
  initiator: SessionRecord;
  /** Responder's record of the session with the initiator. */
  responder: SessionRecord;
}

/**
 * One full session setup: initiator processes the responder's bundle (PQXDH initiator), sends
 * the first PreKey message, the responder decrypts it (PQXDH responder). Returns both records.
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
  decryptMessage(backend, responder.local, b, first, responder.lookup);
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
  decryptMessage(backend, to.local, toRecord, message, to.lookup);
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
