/** A device built on our Signal core with in-memory prekeys and sessions, for tests. */
import type { CryptoBackend } from '../../src/crypto/backend.js';
import {
  IdentityKeyPair,
  SessionRecord,
  decryptMessage,
  encryptMessage,
  generateKyberPreKey,
  generateOneTimePreKeys,
  generateSignedPreKey,
  processPreKeyBundle,
  type Ciphertext,
  type KyberPreKeyRecord,
  type LocalIdentity,
  type OneTimePreKeyRecord,
  type PreKeyBundle,
  type PreKeyLookup,
  type ProtocolAddress,
  type SignedPreKeyRecord,
} from '../../src/signal/index.js';

export class OurDevice implements PreKeyLookup {
  readonly local: LocalIdentity;
  readonly sessions = new Map<string, SessionRecord>();
  readonly signedPreKeys = new Map<number, SignedPreKeyRecord>();
  readonly kyberPreKeys = new Map<number, KyberPreKeyRecord>();
  readonly oneTimePreKeys = new Map<number, OneTimePreKeyRecord>();
  private nextOneTimeId = 500;

  constructor(
    readonly backend: CryptoBackend,
    readonly name: string,
    readonly deviceId = 1,
    registrationId = 4242,
  ) {
    const identity = IdentityKeyPair.generate(backend);
    this.local = { identity, registrationId };
    const spk = generateSignedPreKey(backend, identity, 7);
    this.signedPreKeys.set(spk.id, spk);
    const kyber = generateKyberPreKey(backend, identity, 9);
    this.kyberPreKeys.set(kyber.id, kyber);
  }

  get address(): ProtocolAddress {
    return { name: this.name, deviceId: this.deviceId };
  }

  signedPreKey(id: number) {
    return this.signedPreKeys.get(id);
  }
  kyberPreKey(id: number) {
    return this.kyberPreKeys.get(id);
  }
  oneTimePreKey(id: number) {
    return this.oneTimePreKeys.get(id);
  }

  bundle(withOneTime = true): PreKeyBundle {
    const spk = this.signedPreKeys.get(7)!;
    const kyber = this.kyberPreKeys.get(9)!;
    const bundle: PreKeyBundle = {
      registrationId: this.local.registrationId,
      deviceId: this.deviceId,
      identityKey: this.local.identity.publicKey,
      signedPreKeyId: spk.id,
      signedPreKey: spk.keyPair.publicKey,
      signedPreKeySignature: spk.signature,
      kyberPreKeyId: kyber.id,
      kyberPreKey: kyber.publicKey,
      kyberPreKeySignature: kyber.signature,
    };
    if (withOneTime) {
      const [otp] = generateOneTimePreKeys(this.backend, this.nextOneTimeId++, 1);
      this.oneTimePreKeys.set(otp!.id, otp!);
      bundle.oneTimePreKeyId = otp!.id;
      bundle.oneTimePreKey = otp!.publicKey;
    }
    return bundle;
  }

  record(address: ProtocolAddress): SessionRecord {
    const key = `${address.name}.${address.deviceId}`;
    let r = this.sessions.get(key);
    if (r === undefined) {
      r = SessionRecord.empty();
      this.sessions.set(key, r);
    }
    return r;
  }

  processBundle(address: ProtocolAddress, bundle: PreKeyBundle): void {
    processPreKeyBundle(this.backend, this.local, this.record(address), bundle);
  }

  encrypt(address: ProtocolAddress, plaintext: Uint8Array): Ciphertext {
    return encryptMessage(this.backend, this.local, this.record(address), plaintext);
  }

  decrypt(address: ProtocolAddress, ciphertext: Ciphertext): Uint8Array {
    const result = decryptMessage(this.backend, this.local, this.record(address), ciphertext, this);
    if (result.usedOneTimePreKeyId !== undefined) this.oneTimePreKeys.delete(result.usedOneTimePreKeyId);
    return result.plaintext;
  }
}
