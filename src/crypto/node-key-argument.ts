/**
 * How the `node` backend hands a raw AES or HMAC key to node:crypto on this runtime: as the bytes
 * themselves, or wrapped in a secret KeyObject first.
 *
 * node:crypto takes either. Some runtimes (Node 24.21.0 among those tested) first try a byte key
 * as a KeyObject and then as a CryptoKey, each try throwing and catching an exception, which
 * costs ~10 µs per createHmac / createCipheriv / createDecipheriv; others take bytes as cheaply
 * as a KeyObject. Which releases do this is not announced and may change in either direction, so
 * the choice is measured once when the backend loads: `key-object` when a byte key costs more
 * than 1.25 × a fresh KeyObject (the measured ratios, per runtime, sit well on either side of it:
 * docs/measurements.md, "Raw keys by runtime"), `bytes` otherwise. `SIGLOAD_NODE_KEY_ARGUMENT=bytes|key-object` forces
 * either (tests use it; so can a comparison across runtimes). The choice and the measured ratio
 * are in the backend's `providers`, hence in every result file's environment.
 */
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';

export type KeyArgumentMode = 'bytes' | 'key-object';

export const KEY_ARGUMENT_ENV = 'SIGLOAD_NODE_KEY_ARGUMENT';

export interface KeyArgumentChoice {
  readonly mode: KeyArgumentMode;
  /** Why: forced by the environment, or the measured ratio. */
  readonly reason: string;
}

/** A byte key that costs more than this many fresh KeyObjects is wrapped. */
const WRAP_ABOVE_RATIO = 1.25;
const PROBE_ROUNDS = 8;
const CALLS_PER_ROUND = 25;

/** ns of `CALLS_PER_ROUND` HMACs with the key given as `hmacKey()` says. */
function timeRound(hmacKey: () => Uint8Array | KeyObject, data: Uint8Array): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < CALLS_PER_ROUND; i++) createHmac('sha256', hmacKey()).update(data).digest();
  return Number(process.hrtime.bigint() - start);
}

/** Measures a byte key against a fresh KeyObject (~1–6 ms), unless the environment says which. */
export function chooseKeyArgument(forced: string | undefined = process.env[KEY_ARGUMENT_ENV]): KeyArgumentChoice {
  if (forced === 'bytes' || forced === 'key-object') return { mode: forced, reason: `${KEY_ARGUMENT_ENV}=${forced}` };
  if (forced !== undefined && forced !== '') throw new RangeError(`${KEY_ARGUMENT_ENV}=${JSON.stringify(forced)}: expected bytes or key-object`);
  const key = new Uint8Array(32).fill(7);
  const data = new Uint8Array(160);
  const asBytes = (): Uint8Array => key;
  const asKeyObject = (): KeyObject => createSecretKey(key);
  timeRound(asBytes, data); // warm-up of both paths
  timeRound(asKeyObject, data);
  // Rounds alternate, and each side keeps its fastest: a disturbance hits both sides alike or
  // only some rounds of one.
  let bytesNs = Infinity;
  let keyObjectNs = Infinity;
  for (let round = 0; round < PROBE_ROUNDS; round++) {
    bytesNs = Math.min(bytesNs, timeRound(asBytes, data));
    keyObjectNs = Math.min(keyObjectNs, timeRound(asKeyObject, data));
  }
  const ratio = bytesNs / keyObjectNs;
  const shown = `a byte key measured ${ratio.toFixed(1)}× a fresh KeyObject`;
  return ratio > WRAP_ABOVE_RATIO ? { mode: 'key-object', reason: shown } : { mode: 'bytes', reason: shown };
}

/** The key as node:crypto should get it in this mode. */
export function keyArgument(mode: KeyArgumentMode): (key: Uint8Array) => Uint8Array | KeyObject {
  return mode === 'key-object' ? (key) => createSecretKey(key) : (key) => key;
}
