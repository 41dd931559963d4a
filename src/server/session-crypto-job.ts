/**
 * What crosses between the event loop and the session-crypto thread (as bytes:
 * session-crypto-wire.ts). Each job carries only what the thread cannot already have.
 */
import type { BackendName } from '../crypto/backend.js';

/** A business's keys, sent once (and again only if they change). */
export interface SessionCryptoBusiness {
  readonly pnid: string;
  readonly dataKey: Uint8Array;
  readonly registrationId: number;
  readonly identityPublicKey: Uint8Array;
  readonly identityPrivateKey: Uint8Array;
}

export interface SessionCryptoJobBase {
  readonly id: number;
  readonly pnid: string;
  readonly sessionKey: string;
  /**
   * The slot's sealed bytes as the store holds them, when they are not the bytes this thread
   * last sealed for the session (then the thread opens them); absent: use the thread's own.
   */
  readonly storedSlot?: Uint8Array;
}

/** A business message for a device: encrypt on its established session, seal slot and inbox entry. */
export interface SessionEncryptJob extends SessionCryptoJobBase {
  readonly op: 'encrypt';
  readonly inboxKey: string;
  readonly plaintext: Uint8Array;
}

/**
 * A device's message to the business on a session the slot already holds: a SignalMessage
 * (type 2), or a PreKey message (type 3) repeating the base key of a session in the slot (a
 * device sends those until it hears from the business). Decrypt it and seal the advanced slot;
 * the event loop decides whether the message is accepted and writes the slot only then. A PreKey
 * message that starts a new session needs the business's prekeys: declined.
 */
export interface SessionDecryptJob extends SessionCryptoJobBase {
  readonly op: 'decrypt';
  readonly messageType: 2 | 3;
  /** The serialized SignalMessage or PreKeySignalMessage. */
  readonly message: Uint8Array;
  /** The device's identity key as registered (33 bytes): the session must be with it. */
  readonly remoteIdentity: Uint8Array;
}

export type SessionCryptoJob = SessionEncryptJob | SessionDecryptJob;

export interface SessionCryptoBatch {
  /** Businesses new to the thread (or whose keys changed), before the jobs that need them. */
  readonly businesses: readonly SessionCryptoBusiness[];
  readonly jobs: readonly SessionCryptoJob[];
}

export type SessionCryptoResult =
  | { readonly id: number; readonly outcome: 'sealed'; readonly sealedSlot: Uint8Array; readonly sealedInbox: Uint8Array }
  /** A decrypt job's plaintext and the advanced slot, sealed. */
  | { readonly id: number; readonly outcome: 'opened'; readonly sealedSlot: Uint8Array; readonly plaintext: Uint8Array }
  /** No current session in the slot (a PreKey bundle is needed), nothing cached, or any failure: the event loop does it. */
  | { readonly id: number; readonly outcome: 'declined'; readonly reason: string };

export interface SessionCryptoWorkerData {
  readonly backend: BackendName;
  /** Decoded slots kept on the thread (oldest dropped first). */
  readonly cachedSlots: number;
}
