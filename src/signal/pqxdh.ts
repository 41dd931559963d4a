/**
 * PQXDH key agreement (PQXDH §3.3 sending, §3.4 receiving) and the ratchet
 * start that follows it (Double Ratchet §7 integration; signal-wire.md §3).
 *
 *   SK = HKDF-SHA256(ikm = 0xFF×32 ‖ DH1 ‖ DH2 ‖ DH3 [‖ DH4] ‖ SS, salt = 0×32,
 *                    info = "WhisperText_X25519_SHA-256_CRYSTALS-KYBER-1024", 96)
 *   root key = SK[0..32], chain key = SK[32..64], SK[64..96] = SPQR auth key (spqr.md §5):
 *   both sides start SPQR V1 from it, the initiator as ek sender on the A2B chain.
 */
import type { CryptoBackend } from '../crypto/backend.js';
import { SignalError } from './errors.js';
import {
  agree,
  isCanonicalBaseKey,
  parseEcPublicKey,
  parseKyber,
  type LocalIdentity,
} from './keys.js';
import { checkKyberPreKeyRecord, verifyPreKeyBundle, type PreKeyBundle, type PreKeyLookup } from './prekeys.js';
import { deriveRootStep } from './ratchet.js';
import { SessionState, type PendingPreKey } from './session-state.js';
import { SpqrState } from './spqr.js';
import { CURRENT_VERSION, type DecodedPreKeySignalMessage } from './wire.js';

const PQXDH_INFO = new TextEncoder().encode('WhisperText_X25519_SHA-256_CRYSTALS-KYBER-1024');
const NO_SALT = new Uint8Array(0);
const HANDSHAKE_OUTPUT_LENGTH = 96;

/** PQXDH §2.2 KDF: F = 0xFF×32 prepended, the KEM secret last. */
function deriveHandshakeKeys(
  backend: CryptoBackend,
  dhs: readonly Uint8Array[],
  kemSecret: Uint8Array,
): { rootKey: Uint8Array; chainKey: Uint8Array; spqrAuthKey: Uint8Array } {
  const ikm = new Uint8Array(32 + dhs.length * 32 + kemSecret.length);
  ikm.fill(0xff, 0, 32);
  let off = 32;
  for (const dh of dhs) {
    ikm.set(dh, off);
    off += 32;
  }
  ikm.set(kemSecret, off);
  const okm = backend.hkdfSha256(ikm, NO_SALT, PQXDH_INFO, HANDSHAKE_OUTPUT_LENGTH);
  return { rootKey: okm.slice(0, 32), chainKey: okm.slice(32, 64), spqrAuthKey: okm.slice(64, 96) };
}

function kem<T>(what: string, op: () => T): T {
  try {
    return op();
  } catch (err) {
    throw new SignalError('invalid-key', `${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Initiator (Alice, §3.3): verify the bundle, agree, and start the sending
 * chain with a fresh ratchet key against Bob's signed prekey. Bob's handshake
 * chain (which libsignal records as a receiving chain for SPK_B) can never
 * carry a message, so it is not stored.
 */
export function initiateSession(backend: CryptoBackend, local: LocalIdentity, bundle: PreKeyBundle): SessionState {
  verifyPreKeyBundle(backend, bundle);
  const theirIdentity = parseEcPublicKey(bundle.identityKey);
  const theirSignedPreKey = parseEcPublicKey(bundle.signedPreKey);
  const theirKyberPreKey = parseKyber(bundle.kyberPreKey);

  const base = backend.x25519GenerateKeyPair();
  const dhs = [
    agree(backend, local.identity.privateKey, theirSignedPreKey), // DH1 = DH(IK_A, SPK_B)
    agree(backend, base.privateKey, theirIdentity), // DH2 = DH(EK_A, IK_B)
    agree(backend, base.privateKey, theirSignedPreKey), // DH3 = DH(EK_A, SPK_B)
  ];
  if (bundle.oneTimePreKey !== undefined) {
    dhs.push(agree(backend, base.privateKey, parseEcPublicKey(bundle.oneTimePreKey))); // DH4 = DH(EK_A, OPK_B)
  }
  const encapsulation = kem('Kyber1024 encapsulate', () => backend.kyber1024Encapsulate(theirKyberPreKey));
  const handshake = deriveHandshakeKeys(backend, dhs, encapsulation.sharedSecret);

  // Double Ratchet §3.3 RatchetInitAlice: DHs = new pair, (RK, CKs) = KDF_RK(SK, DH(DHs, SPK_B)).
  const ratchet = backend.x25519GenerateKeyPair();
  const sending = deriveRootStep(backend, handshake.rootKey, agree(backend, ratchet.privateKey, theirSignedPreKey));

  const pending: PendingPreKey = {
    signedPreKeyId: bundle.signedPreKeyId,
    kyberPreKeyId: bundle.kyberPreKeyId,
    kyberCiphertext: encapsulation.ciphertext,
  };
  if (bundle.oneTimePreKeyId !== undefined) pending.preKeyId = bundle.oneTimePreKeyId;

  return new SessionState({
    version: CURRENT_VERSION,
    localIdentityKey: local.identity.rawPublicKey,
    remoteIdentityKey: theirIdentity,
    localRegistrationId: local.registrationId,
    remoteRegistrationId: bundle.registrationId,
    rootKey: sending.rootKey,
    previousCounter: 0,
    aliceBaseKey: base.publicKey,
    senderRatchetKey: ratchet.publicKey,
    senderRatchetPrivateKey: ratchet.privateKey,
    senderChainKey: sending.chainKey,
    senderIndex: 0,
    pending,
    spqr: SpqrState.start(backend, handshake.spqrAuthKey, true),
  });
}

export interface AcceptedSession {
  state: SessionState;
  usedSignedPreKeyId: number;
  usedKyberPreKeyId: number;
  usedOneTimePreKeyId?: number;
}

/**
 * Responder (Bob, §3.4): look up the named prekeys, check the base key, agree,
 * and start with SPK_B as the sending ratchet key and the handshake chain key
 * (RatchetInitBob). The first incoming message then performs a DH ratchet step.
 */
export function acceptSession(
  backend: CryptoBackend,
  local: LocalIdentity,
  message: DecodedPreKeySignalMessage,
  keys: PreKeyLookup,
): AcceptedSession {
  const signedPreKey = keys.signedPreKey(message.signedPreKeyId);
  if (signedPreKey === undefined) throw new SignalError('invalid-prekey-id', `no signed prekey ${message.signedPreKeyId}`);
  const kyberPreKey = keys.kyberPreKey(message.kyberPreKeyId);
  if (kyberPreKey === undefined) throw new SignalError('invalid-prekey-id', `no Kyber prekey ${message.kyberPreKeyId}`);
  const oneTimePreKey = message.preKeyId === undefined ? undefined : keys.oneTimePreKey(message.preKeyId);
  if (message.preKeyId !== undefined && oneTimePreKey === undefined) {
    throw new SignalError('invalid-prekey-id', `no one-time prekey ${message.preKeyId}`);
  }
  if (!isCanonicalBaseKey(backend, message.baseKey)) throw new SignalError('invalid-key', 'base key is not canonical or not torsion-free');

  const theirIdentity = parseEcPublicKey(message.identityKey);
  const baseKey = message.baseKey;
  const signedPrivate = signedPreKey.keyPair.privateKey;
  const dhs = [
    agree(backend, signedPrivate, theirIdentity), // DH1 = DH(SPK_B, IK_A)
    agree(backend, local.identity.privateKey, baseKey), // DH2 = DH(IK_B, EK_A)
    agree(backend, signedPrivate, baseKey), // DH3 = DH(SPK_B, EK_A)
  ];
  if (oneTimePreKey !== undefined) dhs.push(agree(backend, oneTimePreKey.privateKey, baseKey)); // DH4
  const secretKey = checkKyberPreKeyRecord(kyberPreKey);
  const kemSecret = kem('Kyber1024 decapsulate', () => backend.kyber1024Decapsulate(message.kyberCiphertext, secretKey));
  const handshake = deriveHandshakeKeys(backend, dhs, kemSecret);

  const state = new SessionState({
    version: message.version,
    localIdentityKey: local.identity.rawPublicKey,
    remoteIdentityKey: theirIdentity,
    localRegistrationId: local.registrationId,
    remoteRegistrationId: message.registrationId,
    rootKey: handshake.rootKey,
    previousCounter: 0,
    aliceBaseKey: baseKey,
    senderRatchetKey: parseEcPublicKey(signedPreKey.keyPair.publicKey, 'signed prekey'),
    // Shared, not copied: the first message's DH ratchet step (which always follows) replaces
    // this sending chain, and the shared array keeps the backend's per-key import memo.
    senderRatchetPrivateKey: signedPrivate,
    senderChainKey: handshake.chainKey,
    senderIndex: 0,
    spqr: SpqrState.start(backend, handshake.spqrAuthKey, false),
  });
  const accepted: AcceptedSession = {
    state,
    usedSignedPreKeyId: message.signedPreKeyId,
    usedKyberPreKeyId: message.kyberPreKeyId,
  };
  if (message.preKeyId !== undefined) accepted.usedOneTimePreKeyId = message.preKeyId;
  return accepted;
}
