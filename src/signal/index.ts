/** Public surface of the Signal core. Every function takes the CryptoBackend first. */
export { SignalError, SIGNAL_ERROR_KINDS, type SignalErrorKind } from './errors.js';
export {
  IdentityKeyPair,
  generateRegistrationId,
  EC_PUBLIC_KEY_LENGTH,
  KYBER_PUBLIC_KEY_LENGTH,
  SIGNATURE_LENGTH,
  type LocalIdentity,
} from './keys.js';
export {
  generateSignedPreKey,
  generateKyberPreKey,
  generateOneTimePreKeys,
  verifyPreKeyBundle,
  type SignedPreKeyRecord,
  type KyberPreKeyRecord,
  type OneTimePreKeyRecord,
  type PreKeyBundle,
  type PreKeyLookup,
} from './prekeys.js';
export { SessionRecord } from './session-record.js';
export {
  processPreKeyBundle,
  encryptMessage,
  decryptMessage,
  type ProtocolAddress,
  type CiphertextType,
  type Ciphertext,
  type DecryptResult,
} from './session-cipher.js';
export { MAX_FORWARD_JUMPS, MAX_MESSAGE_KEYS, MAX_RECEIVER_CHAINS } from './session-state.js';
export { MAX_ARCHIVED_STATES, SESSION_FORMAT_VERSION } from './session-serialization.js';
export { SpqrState } from './spqr.js';
export { MAX_JUMP as SPQR_MAX_JUMP, MAX_OOO_KEYS as SPQR_MAX_OOO_KEYS } from './spqr-chain.js';
export {
  encodeSignalMessage,
  decodeSignalMessage,
  encodePreKeySignalMessage,
  decodePreKeySignalMessage,
  type DecodedSignalMessage,
  type DecodedPreKeySignalMessage,
} from './wire.js';
