/**
 * X25519 and Ed25519 verification through node:crypto (OpenSSL).
 *
 * Raw 32-byte keys are imported as JWK (RFC 8037 §2, kty "OKP", crv "X25519"): measured ~8×
 * faster than the equivalent DER import (PKCS#8/SPKI go through OpenSSL's decoder chain; JWK
 * goes straight to EVP_PKEY_new_raw_*_key). Node requires a private JWK to carry `x` but derives
 * the public half from `d` alone, so a placeholder `x` is passed instead of computing the
 * public key first; `jwkImportIgnoresX` checks that at load, and the DER path is used if not.
 *
 * No `generateKeyPairSync` and no JWK *export* here: on Node 20, exporting a freshly generated
 * key as JWK can deadlock the process. `KeyObject.export({format:'jwk'})` holds the key's mutex
 * while it allocates; a GC in that window runs the weak callback of the `KeyGenJob` that made the
 * key, whose destructor takes the same mutex (gdb: ~KeyGenJob → uv_mutex_lock under
 * ExportJWKEdKey). Seen as a test file hanging at 0% CPU. Key pairs are therefore made from
 * random bytes (clamped, RFC 7748 §5) and imported; an imported key has no KeyGenJob.
 */
import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  randomFillSync,
  verify,
  type KeyObject,
} from 'node:crypto';
import { CryptoError } from './errors.js';
import { clampX25519PrivateKey, requireNonZeroSharedSecret } from './input-checks.js';
import { PrivateKeyMemo } from './private-key-memo.js';

/** RFC 8410 §7: SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.110 }, OCTET STRING { OCTET STRING (32) } }. */
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const PLACEHOLDER_X = Buffer.alloc(32).toString('base64url');

function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64url');
}

/** Decoded into a fresh array: small Buffers share Node's pool slab, keys should not. */
function fromBase64url(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64url'));
}

function importPrivateKeyJwk(privateKey: Uint8Array): KeyObject {
  return createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: base64url(privateKey), x: PLACEHOLDER_X }, format: 'jwk' });
}

function importPrivateKeyDer(privateKey: Uint8Array): KeyObject {
  const der = Buffer.concat([PKCS8_X25519_PREFIX, privateKey]);
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}

/**
 * Recently imported public keys (public data only). One PQXDH run uses the same peer key in up
 * to four agreements (the base key on the responder, the signed prekey on the initiator).
 */
const recentPublicKeys = new Map<string, KeyObject>();
const RECENT_PUBLIC_KEYS = 16;

function importPublicKey(publicKey: Uint8Array): KeyObject {
  const x = base64url(publicKey);
  let key = recentPublicKeys.get(x);
  if (key !== undefined) return key;
  key = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' });
  if (recentPublicKeys.size >= RECENT_PUBLIC_KEYS) recentPublicKeys.delete(recentPublicKeys.keys().next().value!);
  recentPublicKeys.set(x, key);
  return key;
}

/**
 * The public half of an imported private key, read from its JWK export (`x`, which OpenSSL
 * derived from `d` at import). Safe from the deadlock above: the key was imported, not
 * generated, so no KeyGenJob holds its mutex.
 */
function publicKeyOf(privateKeyObject: KeyObject): Uint8Array {
  return fromBase64url(privateKeyObject.export({ format: 'jwk' }).x as string);
}

/**
 * Load-time check: does a private JWK with a wrong `x` still act as the key `d` says? Checked
 * with RFC 7748 §6.1's Alice key pair, so no key is generated or exported.
 */
function jwkImportIgnoresX(): boolean {
  try {
    const d = Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex');
    const expected = Buffer.from('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a', 'hex');
    return Buffer.from(publicKeyOf(importPrivateKeyJwk(d))).equals(expected);
  } catch {
    return false;
  }
}

const importPrivateKeyRaw = jwkImportIgnoresX() ? importPrivateKeyJwk : importPrivateKeyDer;
/** Import is ~half the cost of one X25519 here; long-lived keys are imported once (private-key-memo.ts). */
const importedPrivateKeys = new PrivateKeyMemo<KeyObject>();
const importPrivateKey = (privateKey: Uint8Array): KeyObject => importedPrivateKeys.get(privateKey, importPrivateKeyRaw);

/** Raw X25519(k, u); inputs already length-checked by the caller. */
export function nodeX25519(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: importPrivateKey(privateKey), publicKey: importPublicKey(publicKey) });
  } catch (error) {
    // OpenSSL refuses an all-zero result (RFC 7748 §6.1) with a derivation error.
    throw new CryptoError('invalid-key', `X25519 rejected the public key: ${(error as Error).message}`);
  }
  return requireNonZeroSharedSecret(new Uint8Array(shared.buffer, shared.byteOffset, shared.length));
}

/** X25519(k, 9): the public key of a raw private key. */
export function nodeX25519PublicKey(privateKey: Uint8Array): Uint8Array {
  return publicKeyOf(importPrivateKey(privateKey));
}

/**
 * A fresh key pair: 32 random bytes, clamped (RFC 7748 §5), imported into OpenSSL. The imported
 * KeyObject is remembered for the returned private-key array, so the agreements an ephemeral
 * key takes part in (base key, ratchet keys) skip the import.
 */
export function nodeX25519GenerateKeyPair(): { privateKey: Uint8Array; publicKey: Uint8Array } {
  const privateKey = clampX25519PrivateKey(randomFillSync(new Uint8Array(32)));
  const keyObject = importPrivateKeyRaw(privateKey);
  importedPrivateKeys.remember(privateKey, keyObject);
  return { privateKey, publicKey: publicKeyOf(keyObject) };
}

/** The last imported verification key (public): a bundle's two signatures share one identity key. */
let lastEd25519Key: { readonly x: string; readonly key: KeyObject } | undefined;

/**
 * OpenSSL Ed25519 verification (RFC 8032 §5.1.7) for the XEdDSA verifier: `publicEdwards` is
 * the converted key A, `signature` is R ‖ s with s < q. OpenSSL decodes A itself and answers
 * false for a y with no curve point.
 */
export function nodeEd25519Verify(publicEdwards: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const x = base64url(publicEdwards);
  let key = lastEd25519Key?.x === x ? lastEd25519Key.key : undefined;
  if (key === undefined) {
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
    lastEd25519Key = { x, key };
  }
  return verify(null, message, key, signature);
}
