import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeKeccak } from '../../src/crypto/node.js';
import { nobleKyberProvider, selectKyberProvider, type KyberProviderName } from '../../src/crypto/kyber-providers.js';

async function forced(name: string): Promise<KyberProviderName> {
  const previous = process.env['SIGLOAD_KYBER_PROVIDER'];
  process.env['SIGLOAD_KYBER_PROVIDER'] = name;
  try {
    return (await selectKyberProvider(nodeKeccak)).name;
  } finally {
    if (previous === undefined) delete process.env['SIGLOAD_KYBER_PROVIDER'];
    else process.env['SIGLOAD_KYBER_PROVIDER'] = previous;
  }
}

test('kyber providers: forcing noble, or an unknown name, gives noble', async () => {
  assert.equal(await forced('noble'), 'noble');
  assert.equal(await forced('no-such-provider'), 'noble');
});

test('kyber providers: native ML-KEM is used only where node:crypto has encapsulate', async () => {
  const hasNative = typeof (await import('node:crypto') as Record<string, unknown>)['encapsulate'] === 'function';
  assert.equal(await forced('node-ml-kem'), hasNative ? 'node-ml-kem' : 'noble');
});

test('kyber providers: liboqs round-3 Kyber1024 (when installed) interoperates with the noble adapter both ways', async () => {
  const previous = process.env['SIGLOAD_KYBER_PROVIDER'];
  process.env['SIGLOAD_KYBER_PROVIDER'] = 'liboqs-wasm';
  const provider = await selectKyberProvider(nodeKeccak);
  if (previous === undefined) delete process.env['SIGLOAD_KYBER_PROVIDER'];
  else process.env['SIGLOAD_KYBER_PROVIDER'] = previous;
  assert.equal(provider.name, 'liboqs-wasm', '@oqs/liboqs-js is a dependency and must load');
  for (let i = 0; i < 5; i++) {
    const theirs = provider.generateKeyPair();
    const toThem = nobleKyberProvider.encapsulate(theirs.publicKey);
    assert.deepEqual(provider.decapsulate(toThem.ciphertext, theirs.secretKey), toThem.sharedSecret);
    const ours = nobleKyberProvider.generateKeyPair();
    const toUs = provider.encapsulate(ours.publicKey);
    assert.deepEqual(nobleKyberProvider.decapsulate(toUs.ciphertext, ours.secretKey), toUs.sharedSecret);
  }
});
