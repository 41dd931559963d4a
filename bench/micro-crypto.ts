/**
 * Micro-benchmark tasks for every crypto primitive of one backend (src/crypto), and the
 * primitives libsignal-client 0.103.0 exposes (X25519, XEdDSA, Kyber key generation).
 *
 * Cheap operations run in batches (`opsPerCall`) so one timed call lasts well above the
 * timer's resolution; figures are per operation.
 */
import type { BackendName, CryptoBackend } from '../src/crypto/backend.js';
import type { MicroTask } from './micro-measure.js';

function filled(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

/** Task ids this module produces for a backend (for --list). */
export function cryptoTaskIds(backend: BackendName): string[] {
  return CRYPTO_OPS.map((op) => `crypto/${op}/${backend}`);
}

const CRYPTO_OPS = [
  'random/32B',
  'x25519/keygen',
  'x25519/agree',
  'xeddsa/sign/64B',
  'xeddsa/verify/64B',
  'sha256/1KiB',
  'sha512/1KiB',
  'sha3-256/1KiB',
  'shake256/32B-to-64B',
  'hmac-sha256/64B',
  'hkdf-sha256/32B-to-80B',
  'aes256-cbc/encrypt/160B',
  'aes256-cbc/decrypt/160B',
  'aes256-gcm/encrypt/160B',
  'aes256-gcm/decrypt/160B',
  'kyber1024/keygen',
  'kyber1024/encapsulate',
  'kyber1024/decapsulate',
] as const;

/** Op name prefix -> key of CryptoBackend.providers. */
const PROVIDER_KEY: Record<string, string> = {
  'sha3-256': 'sha3_256',
  'hmac-sha256': 'hmacSha256',
  'hkdf-sha256': 'hkdfSha256',
  'aes256-cbc': 'aes256Cbc',
  'aes256-gcm': 'aes256Gcm',
};

export function cryptoTasks(backend: CryptoBackend): MicroTask[] {
  const b = backend;
  const name = backend.name;
  const alice = b.x25519GenerateKeyPair();
  const bob = b.x25519GenerateKeyPair();
  const msg64 = filled(64, 1);
  const kib = filled(1024, 2);
  const msg160 = filled(160, 3);
  const key32 = filled(32, 4);
  const iv16 = filled(16, 5);
  const nonce12 = filled(12, 6);
  const signature = b.xeddsaSign(alice.privateKey, msg64);
  const cbc = b.aes256CbcEncrypt(key32, iv16, msg160);
  const gcm = b.aes256GcmEncrypt(key32, nonce12, msg160);
  const kyber = b.kyber1024GenerateKeyPair();
  const encapsulation = b.kyber1024Encapsulate(kyber.publicKey);
  const salt = filled(32, 7);
  const info = new TextEncoder().encode('WhisperMessageKeys');
  let sink = 0;
  const use = (bytes: Uint8Array | boolean): void => {
    sink ^= typeof bytes === 'boolean' ? Number(bytes) : (bytes[0] ?? 0);
  };
  const batch = (count: number, op: () => Uint8Array | boolean): (() => number) => () => {
    for (let i = 0; i < count; i++) use(op());
    return sink;
  };
  const task = (op: (typeof CRYPTO_OPS)[number], opsPerCall: number, fn: () => Uint8Array | boolean): MicroTask => {
    const primitive = PROVIDER_KEY[op.split('/')[0]!] ?? op.split('/')[0]!;
    return {
      id: `crypto/${op}/${name}`,
      opsPerCall,
      fn: batch(opsPerCall, fn),
      params: { backend: name, primitive, provider: b.providers[primitive] ?? 'unknown' },
    };
  };
  return [
    task('random/32B', 50, () => b.randomBytes(32)),
    task('x25519/keygen', 1, () => b.x25519GenerateKeyPair().publicKey),
    task('x25519/agree', 1, () => b.x25519(alice.privateKey, bob.publicKey)),
    task('xeddsa/sign/64B', 1, () => b.xeddsaSign(alice.privateKey, msg64)),
    task('xeddsa/verify/64B', 1, () => b.xeddsaVerify(alice.publicKey, msg64, signature)),
    task('sha256/1KiB', 20, () => b.sha256(kib)),
    task('sha512/1KiB', 20, () => b.sha512(kib)),
    task('sha3-256/1KiB', 10, () => b.sha3_256(kib)),
    task('shake256/32B-to-64B', 20, () => b.shake256(key32, 64)),
    task('hmac-sha256/64B', 50, () => b.hmacSha256(key32, msg64)),
    task('hkdf-sha256/32B-to-80B', 20, () => b.hkdfSha256(key32, salt, info, 80)),
    task('aes256-cbc/encrypt/160B', 20, () => b.aes256CbcEncrypt(key32, iv16, msg160)),
    task('aes256-cbc/decrypt/160B', 20, () => b.aes256CbcDecrypt(key32, iv16, cbc)),
    task('aes256-gcm/encrypt/160B', 20, () => b.aes256GcmEncrypt(key32, nonce12, msg160)),
    task('aes256-gcm/decrypt/160B', 20, () => b.aes256GcmDecrypt(key32, nonce12, gcm)),
    task('kyber1024/keygen', 1, () => b.kyber1024GenerateKeyPair().publicKey),
    task('kyber1024/encapsulate', 1, () => b.kyber1024Encapsulate(kyber.publicKey).ciphertext),
    task('kyber1024/decapsulate', 1, () => b.kyber1024Decapsulate(encapsulation.ciphertext, kyber.secretKey)),
  ];
}

export const LIBSIGNAL_CRYPTO_IDS = [
  'libsignal/x25519/keygen',
  'libsignal/x25519/agree',
  'libsignal/xeddsa/sign/64B',
  'libsignal/xeddsa/verify/64B',
  'libsignal/kyber1024/keygen',
];

/** libsignal-client's own primitives (its Rust core via N-API), for scale. */
export async function libsignalCryptoTasks(): Promise<MicroTask[]> {
  const lib = await import('@signalapp/libsignal-client');
  const alice = lib.PrivateKey.generate();
  const bobPublic = lib.PrivateKey.generate().getPublicKey();
  const alicePublic = alice.getPublicKey();
  const msg64 = new Uint8Array(filled(64, 1));
  const signature = alice.sign(msg64);
  const params = { implementation: 'libsignal-client' };
  return [
    { id: 'libsignal/x25519/keygen', fn: () => lib.PrivateKey.generate(), params },
    { id: 'libsignal/x25519/agree', fn: () => alice.agree(bobPublic), params },
    { id: 'libsignal/xeddsa/sign/64B', fn: () => alice.sign(msg64), params },
    { id: 'libsignal/xeddsa/verify/64B', fn: () => alicePublic.verify(msg64, signature), params },
    { id: 'libsignal/kyber1024/keygen', fn: () => lib.KEMKeyPair.generate(), params },
  ];
}
