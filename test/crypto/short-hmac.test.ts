/**
 * The JavaScript HMAC-SHA256 / HKDF-SHA256 the `node` backend uses for short inputs, against
 * OpenSSL (node:crypto) at every length around the SHA-256 block and padding boundaries, for
 * long keys (hashed first, RFC 2104 §2) and at the backend's switch-over sizes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, hkdfSync } from 'node:crypto';
import { getBackend } from '../../src/crypto/index.js';
import { SHORT_HMAC_DATA_BYTES, SHORT_INPUT_BYTES, SHORT_OUTPUT_BYTES, hkdfSha256Short, hmacSha256Short } from '../../src/crypto/short-hmac.js';
import { seeded } from './vectors.js';


const openSslHmac = (key: Uint8Array, data: Uint8Array) => new Uint8Array(createHmac('sha256', key).update(data).digest());
const openSslHkdf = (ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number) =>
  new Uint8Array(hkdfSync('sha256', ikm, salt, info, length));

test('short HMAC-SHA256 equals OpenSSL for data of 0..200 bytes and keys of 0..140 bytes', () => {
  for (let dataLength = 0; dataLength <= 200; dataLength++) {
    const data = seeded(dataLength, dataLength + 1);
    for (const keyLength of [0, 1, 31, 32, 33, 63, 64, 65, 100, 140]) {
      const key = seeded(keyLength, 1000 + keyLength * 7 + dataLength);
      assert.deepEqual(hmacSha256Short(key, data), openSslHmac(key, data), `key ${keyLength} B, data ${dataLength} B`);
    }
  }
  const long = seeded(5000, 3);
  assert.deepEqual(hmacSha256Short(seeded(32, 4), long), openSslHmac(seeded(32, 4), long), 'many blocks');
});

test('short HKDF-SHA256 equals OpenSSL for outputs of 1..300 bytes, empty and long salts and infos', () => {
  for (let length = 1; length <= 300; length += length < 100 ? 1 : 7) {
    for (const [ikmLength, saltLength, infoLength] of [
      [32, 0, 18],
      [128, 32, 47],
      [32, 64, 0],
      [0, 65, 55],
      [200, 100, 120],
    ] as const) {
      const ikm = seeded(ikmLength, length + ikmLength);
      const salt = seeded(saltLength, length + 2 * saltLength + 1);
      const info = seeded(infoLength, length + 3 * infoLength + 2);
      assert.deepEqual(hkdfSha256Short(ikm, salt, info, length), openSslHkdf(ikm, salt, info, length), `L ${length}, ${ikmLength}/${saltLength}/${infoLength}`);
    }
  }
  assert.deepEqual(hkdfSha256Short(seeded(32, 1), new Uint8Array(0), seeded(10, 2), 0), new Uint8Array(0));
});

test('node backend: HMAC and HKDF agree with OpenSSL on both sides of the switch-over', () => {
  const node = getBackend('node');
  for (const dataLength of [SHORT_HMAC_DATA_BYTES - 1, SHORT_HMAC_DATA_BYTES, SHORT_HMAC_DATA_BYTES + 1]) {
    for (const keyLength of [0, 32, 64, 65]) {
      const key = seeded(keyLength, dataLength);
      const data = seeded(dataLength, dataLength + 1);
      assert.deepEqual(node.hmacSha256(key, data), openSslHmac(key, data), `HMAC, ${keyLength} B key, ${dataLength} B data`);
    }
  }
  for (const total of [SHORT_INPUT_BYTES - 1, SHORT_INPUT_BYTES, SHORT_INPUT_BYTES + 1]) {
    const ikm = seeded(total - 64, total + 2);
    const salt = seeded(32, total + 3);
    const info = seeded(32, total + 4);
    assert.deepEqual(node.hkdfSha256(ikm, salt, info, 80), openSslHkdf(ikm, salt, info, 80), `HKDF, ${total} B in`);
  }
  for (const length of [SHORT_OUTPUT_BYTES - 1, SHORT_OUTPUT_BYTES, SHORT_OUTPUT_BYTES + 1]) {
    const ikm = seeded(32, length);
    assert.deepEqual(node.hkdfSha256(ikm, new Uint8Array(0), ikm, length), openSslHkdf(ikm, new Uint8Array(0), ikm, length), `HKDF, ${length} B out`);
  }
});

test('short HMAC leaves its inputs untouched and returns fresh arrays', () => {
  const key = seeded(100, 9);
  const data = seeded(70, 10);
  const keyCopy = key.slice();
  const dataCopy = data.slice();
  const first = hmacSha256Short(key, data);
  const second = hmacSha256Short(key, data);
  assert.notEqual(first, second);
  assert.deepEqual(first, second);
  assert.deepEqual(key, keyCopy);
  assert.deepEqual(data, dataCopy);
});
