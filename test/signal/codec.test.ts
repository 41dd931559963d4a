/** Protobuf reader/writer, key encodings and wire messages, without a session. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ed25519, ED25519_TORSION_SUBGROUP } from '@noble/curves/ed25519.js';
import { getBackend } from '../../src/crypto/index.js';
import { SignalError } from '../../src/signal/errors.js';
import { ProtoWriter, readFields } from '../../src/signal/protobuf.js';
import {
  IdentityKeyPair,
  isCanonicalBaseKey,
  parseEcPublicKey,
  parseKyber,
  serializeEcPublicKey,
} from '../../src/signal/keys.js';
import {
  VERSION_BYTE,
  decodePreKeySignalMessage,
  decodeSignalMessage,
  encodePreKeySignalMessage,
  encodeSignalMessage,
  verifySignalMessageMac,
} from '../../src/signal/wire.js';
import { generateKyberPreKey, generateSignedPreKey, verifyPreKeyBundle } from '../../src/signal/prekeys.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const kind = (k: string) => (err: unknown) => err instanceof SignalError && err.kind === k;

test('protobuf writer emits fields in the order given, varints LEB128', () => {
  const out = new ProtoWriter().uint32(1, 11).bytes(2, unhex('0102')).uint32(5, 1111).uint32(6, 0xffffffff).finish();
  assert.equal(hex(out), '080b' + '12020102' + '28d708' + '30ffffffff0f');
});

test('protobuf reader ignores order, keeps the last value, skips unknown fields', () => {
  // field 2 bytes, field 1 = 5, unknown 9 (varint), unknown 10 (fixed64), unknown 11 (fixed32), unknown 12 (bytes), field 1 = 7
  const buf = unhex('12020a0b' + '0805' + '4801' + '510102030405060708' + '5d01020304' + '6202aaaa' + '0807');
  const f = readFields(buf, [undefined, 'uint32', 'bytes']);
  assert.equal(f[1], 7);
  assert.equal(hex(f[2] as Uint8Array), '0a0b');
});

test('protobuf reader rejects truncation, overlong varints, groups, mismatched wire types, uint32 overflow', () => {
  const schema = [undefined, 'uint32', 'bytes'] as const;
  for (const bad of [
    '08', // missing value
    '0880', // truncated varint
    '1205aabb', // length past end
    '08ffffffffffffffffff7f', // 11-byte varint
    '08ffffffffffffffffff02', // 10th byte > 1
    '0b', // start group
    '0a0100', // field 1 declared uint32 but length-delimited
    '1001', // field 2 declared bytes but varint
    '0880808080 10'.replace(' ', ''), // 2^32: exceeds uint32
    '00', // tag 0
    '0d0102', // truncated fixed32 (unknown schema kind → mismatch anyway)
  ]) {
    assert.throws(() => readFields(unhex(bad), schema), kind('invalid-message'), bad);
  }
  // a multi-byte varint within 32 bits is accepted
  assert.equal(readFields(unhex('08ff01'), schema)[1], 255);
});

test('EC keys are 0x05 ‖ 32 bytes exactly; Kyber keys 0x08 ‖ 1568', () => {
  const raw = new Uint8Array(32).fill(9);
  const ser = serializeEcPublicKey(raw);
  assert.equal(ser.length, 33);
  assert.equal(ser[0], 5);
  assert.deepEqual(parseEcPublicKey(ser), raw);
  assert.throws(() => parseEcPublicKey(new Uint8Array([...ser, 0])), kind('invalid-key'));
  assert.throws(() => parseEcPublicKey(ser.subarray(0, 32)), kind('invalid-key'));
  assert.throws(() => parseEcPublicKey(new Uint8Array([6, ...raw])), kind('invalid-key'));
  const kyber = new Uint8Array(1569);
  kyber[0] = 8;
  assert.equal(parseKyber(kyber).length, 1568);
  kyber[0] = 0x0a;
  assert.throws(() => parseKyber(kyber), kind('invalid-key'));
});

for (const backendName of ['noble', 'node'] as const) {
  test(`base key check: real keys pass; non-canonical, small-order, twist and torsioned keys fail (${backendName})`, () => {
    const backend = getBackend(backendName);
    const check = (raw: Uint8Array) => isCanonicalBaseKey(backend, raw);
    for (let i = 0; i < 5; i++) assert.equal(check(backend.x25519GenerateKeyPair().publicKey), true);
    const le = (n: bigint) => {
      const out = new Uint8Array(32);
      for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
      return out;
    };
    const p = (1n << 255n) - 19n;
    assert.equal(check(le(0n)), false, 'u = 0 (order 4)');
    assert.equal(check(le(1n)), false, 'u = 1 (order 4/identity image)');
    assert.equal(check(le(p - 1n)), false, 'u = −1');
    assert.equal(check(le(p)), false, 'u = p');
    assert.equal(check(le(p + 9n)), false, 'u = p + 9 (the base point, not canonical)');
    const order8 = 39382357235489614581723060781553021112529911719440698176882885853963445705823n;
    assert.equal(check(le(order8)), false, 'order-8 point');
    const good = backend.x25519GenerateKeyPair().publicKey;
    let u = 0n;
    for (let i = 31; i >= 0; i--) u = (u << 8n) | BigInt(good[i]!);
    assert.equal(check(le(u + p)), false, 'u + p is not canonical');
    const highBit = good.slice();
    highBit[31]! |= 0x80;
    assert.equal(check(highBit), false, 'top bit set');
    assert.equal(check(le(2n)), false, 'u = 2 lies on the twist');
    assert.equal(check(le(9n)), true, 'u = 9 is the base point');
    assert.equal(check(good.subarray(0, 31)), false, 'short key');
    // a prime-order point plus each non-trivial torsion point (Edwards → Montgomery u = (1 + y)/(1 − y))
    const Fp = ed25519.Point.Fp;
    const montgomeryU = (point: InstanceType<typeof ed25519.Point>) => {
      const { y } = point.toAffine();
      return Fp.mul(Fp.add(1n, y), Fp.inv(Fp.sub(1n, y)));
    };
    for (const [i, torsionHex] of ED25519_TORSION_SUBGROUP.entries()) {
      for (const scalar of [1000n + BigInt(i), 0x1234567890abcdefn * BigInt(i + 3)]) {
        const point = ed25519.Point.BASE.multiply(scalar).add(ed25519.Point.fromHex(torsionHex));
        assert.equal(check(le(montgomeryU(point))), i === 0, `torsion component ${i}, scalar ${scalar}`);
      }
    }
    // Pseudo-random u: on the twist when u³ + 486662u² + u is not a square mod p (Euler's
    // criterion), always refused; on the curve, accepted exactly when the Edwards image
    // y = (u − 1)/(u + 1) is torsion-free (noble's independent check).
    const seen = { twist: 0, torsionFree: 0, torsioned: 0 };
    for (let n = 3n; seen.twist < 12 || seen.torsioned < 12; n += 7919n) {
      const x = Fp.create(n * 0x9e3779b97f4a7c15n);
      const rhs = Fp.add(Fp.add(Fp.mul(Fp.sqr(x), x), Fp.mul(486662n, Fp.sqr(x))), x);
      if (!Fp.eql(Fp.pow(rhs, (p - 1n) / 2n), Fp.ONE)) {
        seen.twist += 1;
        assert.equal(check(le(x)), false, `twist point u = ${x}`);
        continue;
      }
      const y = Fp.mul(Fp.sub(x, 1n), Fp.inv(Fp.add(x, 1n)));
      const torsionFree = ed25519.Point.fromBytes(le(y)).isTorsionFree();
      seen[torsionFree ? 'torsionFree' : 'torsioned'] += 1;
      assert.equal(check(le(x)), torsionFree, `curve point u = ${x}`);
    }
  });
}

test('base key check scalar 5L − 1: a clamped scalar, −1 mod L, and no twist point maps to itself', () => {
  const p = (1n << 255n) - 19n;
  const L = (1n << 252n) + 27742317777372353535851937790883648493n;
  const twistPrime = (2n * (p + 1n) - 8n * L) / 4n; // the twist has order 4·L'
  const k = 5n * L - 1n;
  assert.equal(k % 8n, 0n, 'multiple of 8');
  assert.equal(k >> 254n, 1n, 'bit 254 set, bit 255 clear');
  assert.equal((k + 1n) % L, 0n, '≡ −1 (mod L)');
  // [k]P' = ±P' on the twist needs ord(P') | k ∓ 1; both are odd and no multiple of L'
  for (const m of [k - 1n, k + 1n]) {
    assert.equal(m % 2n, 1n);
    assert.notEqual(m % twistPrime, 0n);
  }
  const backend = getBackend('noble');
  const nine = new Uint8Array(32);
  nine[0] = 9;
  assert.equal(isCanonicalBaseKey(backend, nine), true, 'the base point');
});

test('IdentityKeyPair serializes as libsignal does and round-trips', () => {
  const backend = getBackend('noble');
  const id = IdentityKeyPair.generate(backend);
  const bytes = id.serialize();
  assert.equal(hex(bytes.subarray(0, 2)), '0a21');
  assert.equal(hex(bytes.subarray(35, 37)), '1220');
  const back = IdentityKeyPair.deserialize(bytes);
  assert.deepEqual(back.publicKey, id.publicKey);
  assert.deepEqual(back.privateKey, id.privateKey);
  assert.throws(() => IdentityKeyPair.deserialize(bytes.subarray(0, 35)), kind('invalid-key'));
});

test('SignalMessage layout: 0x44, fields 1–4 in order, 8-byte MAC over IK_s ‖ IK_r ‖ version ‖ protobuf', () => {
  const backend = getBackend('noble');
  const ratchetKey = serializeEcPublicKey(new Uint8Array(32).fill(1));
  const macKey = new Uint8Array(32).fill(2);
  const prefix = new Uint8Array(66).fill(3);
  const ciphertext = new Uint8Array(16).fill(4);
  const msg = encodeSignalMessage(backend, { ratchetKey, counter: 5, previousCounter: 3, ciphertext }, macKey, prefix);
  const pb = '0a21' + hex(ratchetKey) + '1005' + '1803' + '2210' + hex(ciphertext);
  assert.equal(hex(msg.subarray(0, msg.length - 8)), '44' + pb);
  const expectedMac = backend.hmacSha256(macKey, unhex(hex(prefix) + '44' + pb)).subarray(0, 8);
  assert.equal(hex(msg.subarray(msg.length - 8)), hex(expectedMac));
  const decoded = decodeSignalMessage(msg);
  assert.equal(decoded.counter, 5);
  assert.equal(decoded.previousCounter, 3);
  assert.equal(decoded.pqRatchet.length, 0);
  assert.equal(verifySignalMessageMac(backend, decoded, macKey, prefix), true);
  const swapped = new Uint8Array(66).fill(3);
  swapped[0] = 9;
  assert.equal(verifySignalMessageMac(backend, decoded, macKey, swapped), false);
});

test('SignalMessage versions: 3 is legacy, 5 is unknown, missing fields are invalid', () => {
  const ok = '0a2105' + '11'.repeat(32) + '1000' + '2200' + '0000000000000000';
  assert.equal(decodeSignalMessage(unhex('44' + ok)).counter, 0);
  assert.throws(() => decodeSignalMessage(unhex('34' + ok)), kind('legacy-version'));
  assert.throws(() => decodeSignalMessage(unhex('54' + ok)), kind('invalid-message'));
  assert.throws(() => decodeSignalMessage(unhex('44' + '1000' + '2200' + '0000000000000000')), kind('invalid-message'));
  assert.throws(() => decodeSignalMessage(unhex('44' + '00000000')), kind('invalid-message'));
  assert.throws(() => decodeSignalMessage(new Uint8Array(0)), kind('invalid-message'));
});

test('PreKeySignalMessage layout matches the 0.103 dump order (fields 1–8), round-trips', () => {
  const inner = unhex('44' + '0a2105' + '11'.repeat(32) + '1000' + '2200' + '0000000000000000');
  const baseKey = serializeEcPublicKey(new Uint8Array(32).fill(0x22));
  const identityKey = serializeEcPublicKey(new Uint8Array(32).fill(0x33));
  const kyberCiphertext = new Uint8Array(1568).fill(0x44);
  const msg = encodePreKeySignalMessage({
    preKeyId: 11, baseKey, identityKey, message: inner, registrationId: 1111,
    signedPreKeyId: 22, kyberPreKeyId: 33, kyberCiphertext,
  });
  const expectedHead = '44' + '080b' + '1221' + hex(baseKey) + '1a21' + hex(identityKey) + '22' + inner.length.toString(16) + hex(inner)
    + '28d708' + '3016' + '3821' + '42a10c08';
  assert.equal(hex(msg.subarray(0, expectedHead.length / 2)), expectedHead);
  assert.equal(msg.length, expectedHead.length / 2 + 1568);
  const d = decodePreKeySignalMessage(msg);
  assert.equal(d.preKeyId, 11);
  assert.equal(d.registrationId, 1111);
  assert.equal(d.signedPreKeyId, 22);
  assert.equal(d.kyberPreKeyId, 33);
  assert.deepEqual(d.kyberCiphertext, kyberCiphertext);
  assert.deepEqual(d.baseKey, baseKey.subarray(1));
  // without Kyber fields a v4 message is invalid
  const noKyber = encodePreKeySignalMessage({
    baseKey, identityKey, message: inner, registrationId: 1, signedPreKeyId: 2, kyberPreKeyId: 3, kyberCiphertext,
  }).subarray(0, 1 + 2 + 35 + 35 + 2 + inner.length + 2 + 2);
  assert.throws(() => decodePreKeySignalMessage(noKyber), kind('invalid-message'));
  assert.equal(msg[0], VERSION_BYTE);
});

test('bundle verification: signatures cover the prefixed keys; a tampered bundle is refused', () => {
  for (const name of ['noble', 'node'] as const) {
    const backend = getBackend(name);
    const id = IdentityKeyPair.generate(backend);
    const spk = generateSignedPreKey(backend, id, 1);
    const kyber = generateKyberPreKey(backend, id, 2);
    assert.equal(backend.xeddsaVerify(id.rawPublicKey, spk.keyPair.publicKey, spk.signature), true);
    assert.equal(backend.xeddsaVerify(id.rawPublicKey, kyber.publicKey, kyber.signature), true);
    const bundle = {
      registrationId: 1, deviceId: 1, identityKey: id.publicKey,
      signedPreKeyId: 1, signedPreKey: spk.keyPair.publicKey, signedPreKeySignature: spk.signature,
      kyberPreKeyId: 2, kyberPreKey: kyber.publicKey, kyberPreKeySignature: kyber.signature,
    };
    verifyPreKeyBundle(backend, bundle);
    const badSig = spk.signature.slice();
    badSig[3]! ^= 1;
    assert.throws(() => verifyPreKeyBundle(backend, { ...bundle, signedPreKeySignature: badSig }), kind('invalid-signature'));
    const badKyber = kyber.publicKey.slice();
    badKyber[100]! ^= 1;
    assert.throws(() => verifyPreKeyBundle(backend, { ...bundle, kyberPreKey: badKyber }), kind('invalid-signature'));
    assert.throws(() => verifyPreKeyBundle(backend, { ...bundle, identityKey: id.publicKey.subarray(1) }), kind('invalid-key'));
    assert.throws(() => verifyPreKeyBundle(backend, { ...bundle, oneTimePreKeyId: 5 }), kind('invalid-key'));
  }
});
