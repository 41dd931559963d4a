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

/**
 * `ct` (a SignalMessage whose field 5 is its last field, shorter than 128 bytes, as ours are)
 * with field 5 replaced by a payload shorter than 128 bytes, spliced without re-encoding; its
 * MAC is then not valid.
 */
export function spliceField5(ct: Ciphertext, field5: Uint8Array): Ciphertext {
  const body = ct.body;
  const old = decodeSignalMessage(body).pqRatchet;
  const start = body.length - 8 - old.length - 2;
  if (old.length >= 128 || field5.length >= 128 || body[start] !== 0x2a) throw new Error('spliceField5: unexpected layout');
  const out = new Uint8Array(start + 2 + field5.length + 8);
  out.set(body.subarray(0, start), 0);
  out[start] = 0x2a;
  out[start + 1] = field5.length;
  out.set(field5, start + 2);
  out.set(body.subarray(body.length - 8), start + 2 + field5.length);
  return { type: 2, body: out };
}

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
