/**
 * The session cipher: start a session from a bundle, encrypt, decrypt
 * (libsignal `session_cipher.rs`, `session.rs`).
 *
 * Decryption never leaves a record half-updated: each state's `decrypt`
 * validates into locals and the record is changed only after the message has
 * authenticated and decrypted (see session-state.ts).
 */
import type { CryptoBackend } from '../crypto/backend.js';
import { SignalError, asSignalError } from './errors.js';
import { bytesEqual, type LocalIdentity } from './keys.js';
import type { PreKeyBundle, PreKeyLookup } from './prekeys.js';
import { acceptSession, initiateSession } from './pqxdh.js';
import type { SessionRecord } from './session-record.js';
import type { SessionState, StateDecryption } from './session-state.js';
import {
  decodePreKeySignalMessage,
  decodeSignalMessage,
  encodePreKeySignalMessage,
  type DecodedSignalMessage,
} from './wire.js';

export interface ProtocolAddress {
  name: string;
  deviceId: number;
}

/** libsignal CiphertextMessageType: Whisper = 2, PreKey = 3. */
export type CiphertextType = 2 | 3;
export const WHISPER_TYPE = 2;
export const PREKEY_TYPE = 3;

export interface Ciphertext {
  type: CiphertextType;
  body: Uint8Array;
}

export interface DecryptResult {
  plaintext: Uint8Array;
  usedOneTimePreKeyId?: number;
  usedKyberPreKeyId?: number;
  usedSignedPreKeyId?: number;
  remoteIdentityKey: Uint8Array;
  remoteRegistrationId?: number;
}

/** Initiator: verify the bundle and start a session in `record` (mutates it; archives any previous state). */
export function processPreKeyBundle(
  backend: CryptoBackend,
  local: LocalIdentity,
  record: SessionRecord,
  bundle: PreKeyBundle,
): void {
  let state: SessionState;
  try {
    state = initiateSession(backend, local, bundle);
  } catch (err) {
    throw asSignalError(err, 'invalid-key');
  }
  record.archiveCurrentState();
  record.current = state;
}

/** Encrypt on the record's current session (mutates it). Throws 'no-session', or 'spqr-session-unusable' on a session from before SPQR. */
export function encryptMessage(
  backend: CryptoBackend,
  local: LocalIdentity,
  record: SessionRecord,
  plaintext: Uint8Array,
): Ciphertext {
  const state = record.current;
  if (state === undefined) throw new SignalError('no-session', 'no current session');
  const body = state.encrypt(backend, plaintext);
  const pending = state.pending;
  if (pending === undefined) return { type: WHISPER_TYPE, body };
  // Until the first reply every message repeats the PQXDH header (signal-wire.md §2).
  const parts = {
    baseKey: serializeBaseKey(state),
    identityKey: local.identity.publicKey,
    message: body,
    registrationId: local.registrationId,
    signedPreKeyId: pending.signedPreKeyId,
    kyberPreKeyId: pending.kyberPreKeyId,
    kyberCiphertext: pending.kyberCiphertext,
  };
  return {
    type: PREKEY_TYPE,
    body: encodePreKeySignalMessage(pending.preKeyId === undefined ? parts : { ...parts, preKeyId: pending.preKeyId }),
  };
}

function serializeBaseKey(state: SessionState): Uint8Array {
  const out = new Uint8Array(33);
  out[0] = 0x05;
  out.set(state.aliceBaseKey, 1);
  return out;
}

function checkTrust(remoteIdentityKey: Uint8Array, trusted: Uint8Array | undefined): void {
  if (trusted !== undefined && !bytesEqual(remoteIdentityKey, trusted)) {
    throw new SignalError('untrusted-identity', 'sender identity key differs from the trusted one');
  }
}

/** Try the current state, then archived ones. */
function decryptWithRecord(
  backend: CryptoBackend,
  record: SessionRecord,
  message: DecodedSignalMessage,
  trusted: Uint8Array | undefined,
): { state: SessionState; result: StateDecryption } {
  const current = record.current;
  if (current !== undefined) {
    try {
      const result = current.decrypt(backend, message);
      checkTrust(current.remoteIdentityKey, trusted);
      return { state: current, result };
    } catch (err) {
      if (record.previous.length === 0 || (err instanceof SignalError && err.kind === 'untrusted-identity')) throw err;
      return decryptWithArchive(backend, record, message, trusted, err);
    }
  }
  if (record.previous.length === 0) throw new SignalError('no-session', 'no session to decrypt with');
  return decryptWithArchive(backend, record, message, trusted, undefined);
}

/** libsignal tries archived states newest first; the first error (the current state's) is reported. */
function decryptWithArchive(
  backend: CryptoBackend,
  record: SessionRecord,
  message: DecodedSignalMessage,
  trusted: Uint8Array | undefined,
  currentError: unknown,
): { state: SessionState; result: StateDecryption } {
  let firstError = currentError;
  for (const state of record.previous) {
    try {
      const result = state.decrypt(backend, message);
      checkTrust(state.remoteIdentityKey, trusted);
      return { state, result };
    } catch (err) {
      if (err instanceof SignalError && err.kind === 'untrusted-identity') throw err;
      if (firstError === undefined) firstError = err;
    }
  }
  throw asSignalError(firstError, 'invalid-message');
}

/**
 * Decrypt; the record is updated only when decryption fully succeeds — on ANY error the
 * record is exactly as before. `trustedIdentityKey`, when given, must equal the sender's
 * identity or 'untrusted-identity' is thrown.
 */
export function decryptMessage(
  backend: CryptoBackend,
  local: LocalIdentity,
  record: SessionRecord,
  message: Ciphertext,
  keys?: PreKeyLookup,
  trustedIdentityKey?: Uint8Array,
): DecryptResult {
  try {
    if (message.type === WHISPER_TYPE) {
      const decoded = decodeSignalMessage(message.body);
      const { state, result } = decryptWithRecord(backend, record, decoded, trustedIdentityKey);
      result.commit();
      record.promote(state);
      return {
        plaintext: result.plaintext,
        remoteIdentityKey: state.remoteIdentityKey.slice(),
        remoteRegistrationId: state.remoteRegistrationId,
      };
    }
    if (message.type === PREKEY_TYPE) {
      const decoded = decodePreKeySignalMessage(message.body);
      checkTrust(decoded.identityKey, trustedIdentityKey);
      // A repeated PreKey message belongs to the session its base key created (promote_matching_session).
      const existing = record.findByBaseKey(decoded.version, decoded.baseKey);
      if (existing !== undefined) {
        const result = existing.decrypt(backend, decoded.message);
        result.commit();
        record.promote(existing);
        return {
          plaintext: result.plaintext,
          remoteIdentityKey: existing.remoteIdentityKey.slice(),
          remoteRegistrationId: existing.remoteRegistrationId,
        };
      }
      if (keys === undefined) throw new SignalError('invalid-prekey-id', 'PreKey message needs a prekey lookup');
      const accepted = acceptSession(backend, local, decoded, keys);
      const result = accepted.state.decrypt(backend, decoded.message);
      result.commit();
      record.promote(accepted.state);
      const out: DecryptResult = {
        plaintext: result.plaintext,
        usedSignedPreKeyId: accepted.usedSignedPreKeyId,
        usedKyberPreKeyId: accepted.usedKyberPreKeyId,
        remoteIdentityKey: accepted.state.remoteIdentityKey.slice(),
        remoteRegistrationId: accepted.state.remoteRegistrationId,
      };
      if (accepted.usedOneTimePreKeyId !== undefined) out.usedOneTimePreKeyId = accepted.usedOneTimePreKeyId;
      return out;
    }
    throw new SignalError('invalid-message', `unknown ciphertext type ${String((message as { type: unknown }).type)}`);
  } catch (err) {
    throw asSignalError(err, 'invalid-message');
  }
}
