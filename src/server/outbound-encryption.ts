/**
 * The CPU-heavy half of a business send to one device, as a pure function: encrypt the message
 * on the device's established session (Double Ratchet, transport-api.md §2), then seal the
 * updated session slot and the inbox entry at rest under the business's data key. It runs on the
 * event loop (signal-sessions.ts) or on the session-crypto thread (src/server/session-crypto-worker.ts);
 * the store writes stay with the caller on the event loop.
 */
import type { CryptoBackend } from '../crypto/backend.js';
import { encryptMessage, type LocalIdentity } from '../signal/index.js';
import type { AtRest } from './at-rest.js';
import { sealSessionSlot, type SessionSlot } from './session-slot.js';

/** What an inbox entry seals: the Signal message type (2 or 3) then the serialized message. */
export function inboxEntryBytes(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + body.length);
  out[0] = type;
  out.set(body, 1);
  return out;
}

export interface OutboundEncryption {
  /** recordKey.session(…) of the slot: its at-rest AAD. */
  readonly sessionKey: string;
  /** recordKey.inbox(…) of the entry: its at-rest AAD. */
  readonly inboxKey: string;
  /** The business's data key (AtRest.dataKey). */
  readonly dataKey: Uint8Array;
  readonly local: LocalIdentity;
  /** Must hold a current session (`slot.record.hasCurrentSession()`); updated in place. */
  readonly slot: SessionSlot;
  readonly plaintext: Uint8Array;
}

export interface SealedOutbound {
  /** The slot after this message, sealed (kind `session`). */
  readonly sealedSlot: Uint8Array;
  /** The inbox entry, sealed (kind `inbox`). */
  readonly sealedInbox: Uint8Array;
}

export function encryptForInbox(backend: CryptoBackend, atRest: AtRest, input: OutboundEncryption): SealedOutbound {
  const ciphertext = encryptMessage(backend, input.local, input.slot.record, input.plaintext);
  return {
    sealedSlot: sealSessionSlot(atRest, input.dataKey, input.sessionKey, input.slot),
    sealedInbox: atRest.seal(input.dataKey, 'inbox', input.inboxKey, inboxEntryBytes(ciphertext.type, ciphertext.body)),
  };
}
