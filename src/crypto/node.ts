/**
 * The `node` backend: node:crypto (OpenSSL) wherever it was measured faster than @noble, the
 * noble implementation elsewhere. Every choice, and the measurement behind it, is in
 * docs/crypto.md; `providers` records what served each primitive in this process.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  randomFillSync,
} from 'node:crypto';
import type { CryptoBackend, X25519KeyPair } from './backend.js';
import { CryptoError } from './errors.js';
import {
  AES256_KEY_BYTES,
  AES_BLOCK_BYTES,
  GCM_NONCE_BYTES,
  GCM_TAG_BYTES,
  HKDF_SHA256_MAX_BYTES,
  X25519_KEY_BYTES,
  XEDDSA_RANDOM_BYTES,
  clampX25519PrivateKey,
  requireBytes,
  requireCbcCiphertext,
  requireOutputLength,
  requireUint8Array,
} from './input-checks.js';
import type { KeccakHashes } from './kyber1024.js';
import { selectKyberProvider } from './kyber-providers.js';
import { selectBaseMultiply } from './edwards-base.js';
import { nodeEd25519Verify, nodeX25519, nodeX25519GenerateKeyPair, nodeX25519PublicKey } from './node-curve25519.js';
import { SHORT_HMAC_DATA_BYTES, SHORT_INPUT_BYTES, SHORT_OUTPUT_BYTES, hkdfSha256Short, hmacSha256Short } from './short-hmac.js';
import { xeddsaSign, xeddsaVerify } from './xeddsa.js';
import { chooseKeyArgument, keyArgument, type KeyArgumentMode } from './node-key-argument.js';

/** A Uint8Array view of a Buffer (no copy), so results compare equal to plain Uint8Arrays. */
function asBytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
}

function randomBytes(length: number): Uint8Array {
  requireOutputLength(length, 2 ** 16, 'random length');
  return randomFillSync(new Uint8Array(length));
}

const sha512 = (data: Uint8Array): Uint8Array => asBytes(createHash('sha512').update(data).digest());

export const nodeKeccak: KeccakHashes = {
  sha3_256: (data) => asBytes(createHash('sha3-256').update(data).digest()),
  shake256: (data, outputLength) => asBytes(createHash('shake256', { outputLength }).update(data).digest()),
};

/** Chosen once per process at module load (see kyber-providers.ts, edwards-base.ts). */
const kyber = await selectKyberProvider(nodeKeccak);
const edwardsBase = await selectBaseMultiply();
const keyChoice = chooseKeyArgument();

function checkAesKey(key: Uint8Array): void {
  requireBytes(key, AES256_KEY_BYTES, 'AES-256 key', 'invalid-key');
}

/** The primitives that take a raw symmetric key, handing it to node:crypto as `mode` says (node-key-argument.ts). */
export function nodeSymmetricWith(mode: KeyArgumentMode): Pick<CryptoBackend, 'hmacSha256' | 'aes256CbcEncrypt' | 'aes256CbcDecrypt' | 'aes256GcmEncrypt' | 'aes256GcmDecrypt'> {
  const asKey = keyArgument(mode);
  return {
    hmacSha256(key, data) {
      requireUint8Array(key, 'HMAC key');
      requireUint8Array(data, 'HMAC data');
      // Short inputs: per-call overhead dominates createHmac; see short-hmac.ts.
      if (data.length <= SHORT_HMAC_DATA_BYTES && key.length <= 64) return hmacSha256Short(key, data);
      return asBytes(createHmac('sha256', asKey(key)).update(data).digest());
    },
    aes256CbcEncrypt(key, iv, plaintext) {
      checkAesKey(key);
      requireBytes(iv, AES_BLOCK_BYTES, 'AES-CBC IV', 'invalid-length');
      requireUint8Array(plaintext, 'AES-CBC plaintext');
      const cipher = createCipheriv('aes-256-cbc', asKey(key), iv); // PKCS#7 padding on by default
      return asBytes(Buffer.concat([cipher.update(plaintext), cipher.final()]));
    },
    aes256CbcDecrypt(key, iv, ciphertext) {
      checkAesKey(key);
      requireBytes(iv, AES_BLOCK_BYTES, 'AES-CBC IV', 'invalid-length');
      requireCbcCiphertext(ciphertext);
      const decipher = createDecipheriv('aes-256-cbc', asKey(key), iv);
      const head = decipher.update(ciphertext);
      let tail: Buffer;
      try {
        tail = decipher.final();
      } catch {
        head.fill(0);
        throw new CryptoError('bad-padding', 'AES-CBC: invalid PKCS#7 padding');
      }
      return asBytes(tail.length === 0 ? head : Buffer.concat([head, tail]));
    },
    aes256GcmEncrypt(key, nonce, plaintext, aad) {
      checkAesKey(key);
      requireBytes(nonce, GCM_NONCE_BYTES, 'AES-GCM nonce', 'invalid-length');
      requireUint8Array(plaintext, 'AES-GCM plaintext');
      const cipher = createCipheriv('aes-256-gcm', asKey(key), nonce);
      if (aad !== undefined && aad.length > 0) cipher.setAAD(aad);
      return asBytes(Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]));
    },
    aes256GcmDecrypt(key, nonce, sealed, aad) {
      checkAesKey(key);
      requireBytes(nonce, GCM_NONCE_BYTES, 'AES-GCM nonce', 'invalid-length');
      requireUint8Array(sealed, 'AES-GCM sealed');
      if (sealed.length < GCM_TAG_BYTES) throw new CryptoError('invalid-length', 'AES-GCM input shorter than its 16-byte tag');
      const decipher = createDecipheriv('aes-256-gcm', asKey(key), nonce);
      decipher.setAuthTag(sealed.subarray(sealed.length - GCM_TAG_BYTES));
      if (aad !== undefined && aad.length > 0) decipher.setAAD(aad);
      const head = decipher.update(sealed.subarray(0, sealed.length - GCM_TAG_BYTES));
      try {
        decipher.final();
      } catch {
        head.fill(0);
        throw new CryptoError('bad-tag', 'AES-GCM: authentication failed');
      }
      return asBytes(head);
    },
  };
}

export const nodeBackend: CryptoBackend = {
  name: 'node',
  providers: Object.freeze({
    random: 'node:crypto randomFillSync',
    x25519: 'node:crypto diffieHellman (OpenSSL), raw keys imported as JWK',
    xeddsa: `sign: ${edwardsBase.provider} + node:crypto sha512; verify: node:crypto Ed25519 (OpenSSL) on the converted key (noble for s >= q)`,
    sha256: 'node:crypto',
    sha512: 'node:crypto',
    sha3_256: 'node:crypto',
    shake256: 'node:crypto',
    hmacSha256: `JavaScript SHA-256 (short-hmac.ts) for keys up to 64 B and data up to ${SHORT_HMAC_DATA_BYTES} B, node:crypto createHmac otherwise`,
    symmetricKeys: `handed to node:crypto as ${keyChoice.mode} (${keyChoice.reason}; node-key-argument.ts)`,
    hkdfSha256: `JavaScript SHA-256 (short-hmac.ts) up to ${SHORT_INPUT_BYTES} B in / ${SHORT_OUTPUT_BYTES} B out, node:crypto hkdfSync above`,
    aes256Cbc: 'node:crypto',
    aes256Gcm: 'node:crypto',
    kyber1024: kyber.description,
  }),

  randomBytes,

  x25519GenerateKeyPair(): X25519KeyPair {
    const pair = nodeX25519GenerateKeyPair();
    clampX25519PrivateKey(pair.privateKey); // OpenSSL already clamps; kept so both backends promise the same
    return pair;
  },
  x25519PublicKey(privateKey) {
    requireBytes(privateKey, X25519_KEY_BYTES, 'X25519 private key', 'invalid-key');
    return nodeX25519PublicKey(privateKey);
  },
  x25519(privateKey, publicKey) {
    requireBytes(privateKey, X25519_KEY_BYTES, 'X25519 private key', 'invalid-key');
    requireBytes(publicKey, X25519_KEY_BYTES, 'X25519 public key', 'invalid-key');
    return nodeX25519(privateKey, publicKey);
  },

  xeddsaSign(privateKey, message, random) {
    return xeddsaSign(sha512, privateKey, message, random ?? randomBytes(XEDDSA_RANDOM_BYTES), edwardsBase.multiply);
  },
  xeddsaVerify(publicKey, message, signature) {
    return xeddsaVerify(sha512, publicKey, message, signature, nodeEd25519Verify);
  },

  sha256: (data) => asBytes(createHash('sha256').update(data).digest()),
  sha512,
  sha3_256: nodeKeccak.sha3_256,
  shake256(data, outputLength) {
    requireOutputLength(outputLength, 2 ** 20, 'SHAKE256 output length');
    return nodeKeccak.shake256(data, outputLength);
  },
  hkdfSha256(ikm, salt, info, length) {
    requireUint8Array(ikm, 'HKDF ikm');
    requireUint8Array(salt, 'HKDF salt');
    requireUint8Array(info, 'HKDF info');
    requireOutputLength(length, HKDF_SHA256_MAX_BYTES, 'HKDF output length');
    if (info.length > 1024) throw new CryptoError('invalid-length', 'HKDF info longer than 1024 bytes (OpenSSL limit)');
    if (length === 0) return new Uint8Array(0);
    if (ikm.length + salt.length + info.length <= SHORT_INPUT_BYTES && length <= SHORT_OUTPUT_BYTES) {
      return hkdfSha256Short(ikm, salt, info, length);
    }
    return new Uint8Array(hkdfSync('sha256', ikm, salt, info, length));
  },

  ...nodeSymmetricWith(keyChoice.mode),

  kyber1024GenerateKeyPair: () => kyber.generateKeyPair(),
  kyber1024Encapsulate: (publicKey) => kyber.encapsulate(publicKey),
  kyber1024Decapsulate: (ciphertext, secretKey) => kyber.decapsulate(ciphertext, secretKey),
};
