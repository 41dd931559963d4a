/**
 * Forging SignalMessages for the SPQR negative and bad-input tests: replace field 5 of a
 * message, or build the next message of a sender with any field 5 and any salt, correctly
 * MAC'd, without changing the sender's record.
 */
import type { CryptoBackend } from '../../src/crypto/backend.js';
import type { Ciphertext, SessionRecord } from '../../src/signal/index.js';
import { deriveMessageKeys, messageSeed } from '../../src/signal/ratchet.js';
import { decodeSignalMessage, encodeSignalMessage } from '../../src/signal/wire.js';

const WRONG_MAC_KEY = new Uint8Array(32);

/** `ct` (a SignalMessage) with field 5 replaced; the MAC is not valid. */
export function withField5(backend: CryptoBackend, ct: Ciphertext, field5: Uint8Array): Ciphertext {
  const m = decodeSignalMessage(ct.body);
  const ratchetKey = new Uint8Array(33);
  ratchetKey[0] = 0x05;
  ratchetKey.set(m.ratchetKey, 1);
  const parts = { ratchetKey, counter: m.counter, previousCounter: m.previousCounter, ciphertext: m.ciphertext, pqRatchet: field5 };
  return { type: 2, body: encodeSignalMessage(backend, parts, WRONG_MAC_KEY, new Uint8Array(66)) };
}

/**
 * The sender's next SignalMessage with `field5` and message keys salted with `salt` (none:
 * unsalted), MAC'd as the sender would; the sender's record is not changed.
 */
export function forgeNext(backend: CryptoBackend, sender: SessionRecord, plaintext: Uint8Array, field5: Uint8Array, salt?: Uint8Array): Ciphertext {
  const state = sender.current!;
  const keys = deriveMessageKeys(backend, messageSeed(backend, state.senderChainKey), salt);
  const prefix = new Uint8Array(66);
  prefix.set(state.localIdentityKey, 0);
  prefix.set(state.remoteIdentityKey, 33);
  const parts = {
    ratchetKey: state.senderRatchetKey,
    counter: state.senderIndex,
    previousCounter: state.previousCounter,
    ciphertext: backend.aes256CbcEncrypt(keys.cipherKey, keys.iv, plaintext),
    pqRatchet: field5,
  };
  return { type: 2, body: encodeSignalMessage(backend, parts, keys.macKey, prefix) };
}
