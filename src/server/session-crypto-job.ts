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

export interface SessionCryptoJob {
  readonly id: number;
  readonly pnid: string;
  readonly sessionKey: string;
  readonly inboxKey: string;
  /**
   * The slot's sealed bytes as the store holds them, when they are not the bytes this thread
   * last sealed for the session (then the thread opens them); absent: use the thread's own.
   */
  readonly storedSlot?: Uint8Array;
  readonly plaintext: Uint8Array;
}

export interface SessionCryptoBatch {
  /** Businesses new to the thread (or whose keys changed), before the jobs that need them. */
  readonly businesses: readonly SessionCryptoBusiness[];
  readonly jobs: readonly SessionCryptoJob[];
}

export type SessionCryptoResult =
  | { readonly id: number; readonly outcome: 'sealed'; readonly sealedSlot: Uint8Array; readonly sealedInbox: Uint8Array }
  /** No current session in the slot (a PreKey bundle is needed), nothing cached, or any failure: the event loop does it. */
  | { readonly id: number; readonly outcome: 'declined'; readonly reason: string };

export interface SessionCryptoWorkerData {
  readonly backend: BackendName;
  /** Decoded slots kept on the thread (oldest dropped first). */
  readonly cachedSlots: number;
}
