/**
 * Signed EC prekeys, signed Kyber prekeys, one-time prekeys and the bundle a
 * server hands out (X3DH §3.2, PQXDH §3.2).
 *
 * Signatures are XEdDSA by the identity key over the *serialized* public key:
 * 33 bytes with 0x05 for the signed prekey, 1569 bytes with 0x08 for the Kyber
 * prekey (signal-wire.md §2, libsignal `session.rs` process_prekey_bundle).
 */
import type { CryptoBackend } from '../crypto/backend.js';
import { SignalError } from './errors.js';
import {
  IdentityKeyPair,
  KYBER_RAW_SECRET_KEY_LENGTH,
  SIGNATURE_LENGTH,
  parseEcPublicKey,
  parseKyber,
  serializeEcPublicKey,
  serializeKyber,
} from './keys.js';

export interface SignedPreKeyRecord {
  id: number;
  keyPair: { publicKey: Uint8Array /* 33, 0x05-prefixed */; privateKey: Uint8Array /* 32 */ };
  signature: Uint8Array;
  timestamp: number;
}

export interface KyberPreKeyRecord {
  id: number;
  publicKey: Uint8Array /* 1569, 0x08-prefixed */;
  secretKey: Uint8Array /* raw 3168 */;
  signature: Uint8Array;
  timestamp: number;
}

export interface OneTimePreKeyRecord {
  id: number;
  publicKey: Uint8Array /* 33, 0x05-prefixed */;
  privateKey: Uint8Array /* 32 */;
}

export interface PreKeyBundle {
  registrationId: number;
  deviceId: number;
  identityKey: Uint8Array /* 33 */;
  signedPreKeyId: number;
  signedPreKey: Uint8Array /* 33 */;
  signedPreKeySignature: Uint8Array /* 64 */;
  kyberPreKeyId: number;
  kyberPreKey: Uint8Array /* 1569 */;
  kyberPreKeySignature: Uint8Array /* 64 */;
  oneTimePreKeyId?: number;
  oneTimePreKey?: Uint8Array /* 33 */;
}

/** Where the responder finds the private halves named by a PreKey message. */
export interface PreKeyLookup {
  signedPreKey(id: number): SignedPreKeyRecord | undefined;
  kyberPreKey(id: number): KyberPreKeyRecord | undefined;
  oneTimePreKey(id: number): OneTimePreKeyRecord | undefined;
}

function checkId(id: number, what: string): void {
  if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new SignalError('invalid-prekey-id', `${what} id ${id}`);
}

export function generateSignedPreKey(
  backend: CryptoBackend,
  identity: IdentityKeyPair,
  id: number,
  timestamp = Date.now(),
): SignedPreKeyRecord {
  checkId(id, 'signed prekey');
  const pair = backend.x25519GenerateKeyPair();
  const publicKey = serializeEcPublicKey(pair.publicKey);
  const signature = backend.xeddsaSign(identity.privateKey, publicKey);
  return { id, keyPair: { publicKey, privateKey: pair.privateKey }, signature, timestamp };
}

export function generateKyberPreKey(
  backend: CryptoBackend,
  identity: IdentityKeyPair,
  id: number,
  timestamp = Date.now(),
): KyberPreKeyRecord {
  checkId(id, 'Kyber prekey');
  const pair = backend.kyber1024GenerateKeyPair();
  const publicKey = serializeKyber(pair.publicKey);
  const signature = backend.xeddsaSign(identity.privateKey, publicKey);
  return { id, publicKey, secretKey: pair.secretKey, signature, timestamp };
}

export function generateOneTimePreKeys(backend: CryptoBackend, startId: number, count: number): OneTimePreKeyRecord[] {
  const out: OneTimePreKeyRecord[] = [];
  for (let i = 0; i < count; i++) {
    const id = startId + i;
    checkId(id, 'one-time prekey');
    const pair = backend.x25519GenerateKeyPair();
    out.push({ id, publicKey: serializeEcPublicKey(pair.publicKey), privateKey: pair.privateKey });
  }
  return out;
}

/** Check a Kyber prekey record's secret key has the raw size the backend expects. */
export function checkKyberPreKeyRecord(record: KyberPreKeyRecord): Uint8Array {
  if (record.secretKey.length !== KYBER_RAW_SECRET_KEY_LENGTH) throw new SignalError('invalid-key', 'Kyber secret key: expected 3168 bytes');
  return record.secretKey;
}

/**
 * Bundle checks done by the initiator before using it (libsignal
 * process_prekey_bundle): well-formed keys, and both signatures by the
 * bundle's identity key. Throws SignalError('invalid-key' | 'invalid-signature').
 */
export function verifyPreKeyBundle(backend: CryptoBackend, bundle: PreKeyBundle): void {
  const identity = parseEcPublicKey(bundle.identityKey, 'bundle identity key');
  parseEcPublicKey(bundle.signedPreKey, 'bundle signed prekey');
  parseKyber(bundle.kyberPreKey, 'bundle Kyber prekey');
  if ((bundle.oneTimePreKey === undefined) !== (bundle.oneTimePreKeyId === undefined)) {
    throw new SignalError('invalid-key', 'bundle one-time prekey id and key must come together');
  }
  if (bundle.oneTimePreKey !== undefined) parseEcPublicKey(bundle.oneTimePreKey, 'bundle one-time prekey');
  for (const [id, what] of [
    [bundle.signedPreKeyId, 'signed prekey'],
    [bundle.kyberPreKeyId, 'Kyber prekey'],
    [bundle.oneTimePreKeyId ?? 0, 'one-time prekey'],
  ] as const) {
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new SignalError('invalid-key', `bundle ${what} id ${id}`);
  }
  if (
    bundle.signedPreKeySignature.length !== SIGNATURE_LENGTH ||
    !backend.xeddsaVerify(identity, bundle.signedPreKey, bundle.signedPreKeySignature)
  ) {
    throw new SignalError('invalid-signature', 'signed prekey signature');
  }
  if (
    bundle.kyberPreKeySignature.length !== SIGNATURE_LENGTH ||
    !backend.xeddsaVerify(identity, bundle.kyberPreKey, bundle.kyberPreKeySignature)
  ) {
    throw new SignalError('invalid-signature', 'Kyber prekey signature');
  }
}
