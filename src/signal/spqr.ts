/**
 * SPQR, the Sparse Post-Quantum Ratchet, as libsignal ≥ 0.92 runs it beside the Double
 * Ratchet (spqr.md §3, §6 "what the library does around the braid", §9): the chain, the
 * braid, and version negotiation.
 *
 * Sessions are created V1 with minimum V1, so there is no negotiation left to track: an empty
 * field 5 (version 0) is `spqr-minimum-version`, a version byte above 1 `spqr-version-mismatch`.
 * A received (epoch 1, index 0) means "no key" (0.83–0.91 initiators send it before
 * negotiation ends); it is accepted and never sent.
 *
 *   send:    braid send → [epoch secret → chain] → next send key of chain-epoch (braid epoch − 1)
 *   receive: decode → braid receive → [epoch secret → chain] → key of chain-epoch (epoch − 1) at index
 *
 * `send` changes the state; `receive` works on a copy and returns it, so the caller installs
 * it only once the message has authenticated (SPQR handles chunks before the MAC is checked).
 */
import type { CryptoBackend } from '../crypto/backend.js';
import { startAuthenticator } from './spqr-authenticator.js';
import { braidReceive, braidSend, initialBraidState, type BraidRandomness, type BraidState } from './spqr-braid.js';
import { SpqrChain, type ChainDirection } from './spqr-chain.js';
import { SignalError } from './errors.js';
import { decodeSpqrMessage, encodeSpqrMessage } from './spqr-message.js';
import { KEY_GENERATION_SEED_BYTES, MESSAGE_BYTES } from './ml-kem-768-incremental.js';

export interface SpqrSend {
  /** SignalMessage field 5. */
  message: Uint8Array;
  /** The Double Ratchet message keys' HKDF salt. */
  key: Uint8Array;
}

export interface SpqrReceive {
  /** The salt, or undefined for (epoch 1, index 0). */
  key: Uint8Array | undefined;
  /** The state after this message, to install once the message authenticates. */
  next: SpqrState;
}

function randomness(backend: CryptoBackend): BraidRandomness {
  return {
    keySeed: () => backend.randomBytes(KEY_GENERATION_SEED_BYTES),
    encapsulationMessage: () => backend.randomBytes(MESSAGE_BYTES),
  };
}

export class SpqrState {
  constructor(
    public chain: SpqrChain,
    public braid: BraidState,
  ) {}

  /** A new V1 session from the PQXDH output bytes 64..96; the initiator sends A2B and starts as ek sender. */
  static start(backend: CryptoBackend, authKey: Uint8Array, initiator: boolean): SpqrState {
    const direction: ChainDirection = initiator ? 'a2b' : 'b2a';
    return new SpqrState(SpqrChain.start(backend, authKey, direction), initialBraidState(initiator, startAuthenticator(backend, authKey)));
  }

  get epoch(): number {
    return this.braid.epoch;
  }

  send(backend: CryptoBackend): SpqrSend {
    const sent = braidSend(backend, this.braid, randomness(backend));
    const chain = this.chain;
    if (sent.secret !== undefined) chain.addEpoch(backend, sent.secret.epoch, sent.secret.secret);
    const epoch = sent.state.epoch;
    const { index, key } = chain.sendKey(backend, epoch - 1);
    this.braid = sent.state;
    const message = encodeSpqrMessage(sent.chunk === undefined ? { epoch, index, type: sent.type } : { epoch, index, type: sent.type, chunk: sent.chunk });
    return { message, key };
  }

  /** Process field 5 on a copy; throws a SignalError 'spqr-…' kind and leaves this state as it was. */
  receive(backend: CryptoBackend, field5: Uint8Array): SpqrReceive {
    if (field5.length === 0) throw new SignalError('spqr-minimum-version', 'message without SPQR (version 0)');
    const m = decodeSpqrMessage(field5);
    const received = braidReceive(backend, this.braid, m.epoch, m.type, m.chunk);
    const chain = this.chain.clone();
    if (received.secret !== undefined) chain.addEpoch(backend, received.secret.epoch, received.secret.secret);
    const key = m.epoch === 1 && m.index === 0 ? undefined : chain.recvKey(backend, m.epoch - 1, m.index);
    return { key, next: new SpqrState(chain, received.state) };
  }
}
