/**
 * Per-key memo of work derived from a long-lived private key (an identity or signed-prekey key
 * used in many sessions): the imported OpenSSL KeyObject for X25519, the Edwards key pair for
 * XEdDSA signing.
 *
 * It is not a global cache of secrets: entries hang off the caller's own key array in a
 * WeakMap, so they are collectable exactly when the caller's key is, and every lookup compares
 * the array's current bytes with the bytes the entry was made from, so a key that was zeroed
 * or overwritten in place is never served a stale result.
 */
export class PrivateKeyMemo<T> {
  readonly #entries = new WeakMap<Uint8Array, { readonly bytes: Uint8Array; readonly value: T }>();

  get(privateKey: Uint8Array, derive: (privateKey: Uint8Array) => T): T {
    const entry = this.#entries.get(privateKey);
    if (entry !== undefined && sameBytes(entry.bytes, privateKey)) return entry.value;
    const value = derive(privateKey);
    this.#entries.set(privateKey, { bytes: privateKey.slice(), value });
    return value;
  }

  /** Records `value` for a key the caller has just made (e.g. a generated key pair's KeyObject). */
  remember(privateKey: Uint8Array, value: T): void {
    this.#entries.set(privateKey, { bytes: privateKey.slice(), value });
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
