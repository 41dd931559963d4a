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
export { MAX_ARCHIVED_STATES } from './session-serialization.js';
export {
  encodeSignalMessage,
  decodeSignalMessage,
  encodePreKeySignalMessage,
  decodePreKeySignalMessage,
  type DecodedSignalMessage,
  type DecodedPreKeySignalMessage,
} from './wire.js';
