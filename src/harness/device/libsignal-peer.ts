/**
 * A reusable in-memory libsignal-client device: the interop peer for tests and the anchor for
 * benchmarks and the load harness. It speaks our types (`PreKeyBundle`, `Ciphertext`) at its
 * edges and libsignal's inside. Two versions: 0.103.0 (`@signalapp/libsignal-client`, the
 * default: SPQR mandatory) and 0.90.0 (`libsignal-client-0.90`, an npm alias: SPQR by default
 * but negotiable down), which takes no local address in processPreKeyBundle / signalEncrypt /
 * signalDecrypt / signalDecryptPreKey.
 *
 * libsignal-client is AGPL and a devDependency: used here as a peer only.
 */
import * as ls from '@signalapp/libsignal-client';
import type { Ciphertext, PreKeyBundle, ProtocolAddress } from '../../signal/index.js';
import * as ls090 from 'libsignal-client-0.90';

export type LibsignalVersion = '0.103.0' | '0.90.0';
export const LIBSIGNAL_VERSIONS: readonly LibsignalVersion[] = ['0.103.0', '0.90.0'];
type Library = typeof ls;
/** The two copies share their JS surface except for the local-address argument. */
const LIBRARIES: Record<LibsignalVersion, Library> = { '0.103.0': ls, '0.90.0': ls090 as unknown as Library };

type Bytes = Uint8Array<ArrayBuffer>;
const bytes = (b: Uint8Array): Bytes => new Uint8Array(b) as Bytes;
const addressKey = (a: ls.ProtocolAddress): string => `${a.name()}.${a.deviceId()}`;

/** In-memory stores subclassing `lib`'s own abstract stores (each native module checks its own classes). */
function storeClasses(lib: Library) {
  class MemorySessionStore extends lib.SessionStore {
    readonly sessions = new Map<string, ls.SessionRecord>();
    override async saveSession(address: ls.ProtocolAddress, record: ls.SessionRecord): Promise<void> {
      this.sessions.set(addressKey(address), record);
    }
    override async getSession(address: ls.ProtocolAddress): Promise<ls.SessionRecord | null> {
      return this.sessions.get(addressKey(address)) ?? null;
    }
    override async getExistingSessions(addresses: ls.ProtocolAddress[]): Promise<ls.SessionRecord[]> {
      return addresses.map((a) => {
        const r = this.sessions.get(addressKey(a));
        if (r === undefined) throw new Error(`no session for ${addressKey(a)}`);
        return r;
      });
    }
  }

  class MemoryIdentityStore extends lib.IdentityKeyStore {
    readonly identities = new Map<string, ls.PublicKey>();
    constructor(
      private readonly identity: ls.IdentityKeyPair,
      private readonly registrationId: number,
    ) {
      super();
    }
    override async getIdentityKey(): Promise<ls.PrivateKey> {
      return this.identity.privateKey;
    }
    override async getLocalRegistrationId(): Promise<number> {
      return this.registrationId;
    }
    override async saveIdentity(address: ls.ProtocolAddress, key: ls.PublicKey): Promise<ls.IdentityChange> {
      const previous = this.identities.get(addressKey(address));
      this.identities.set(addressKey(address), key);
      return previous !== undefined && !previous.equals(key) ? ls.IdentityChange.ReplacedExisting : ls.IdentityChange.NewOrUnchanged;
    }
    override async isTrustedIdentity(): Promise<boolean> {
      return true; // trust on first use, and after: the tests check identities themselves
    }
    override async getIdentity(address: ls.ProtocolAddress): Promise<ls.PublicKey | null> {
      return this.identities.get(addressKey(address)) ?? null;
    }
  }

  class MemoryPreKeyStore extends lib.PreKeyStore {
    readonly records = new Map<number, ls.PreKeyRecord>();
    override async savePreKey(id: number, record: ls.PreKeyRecord): Promise<void> {
      this.records.set(id, record);
    }
    override async getPreKey(id: number): Promise<ls.PreKeyRecord> {
      const r = this.records.get(id);
      if (r === undefined) throw new Error(`no prekey ${id}`);
      return r;
    }
    override async removePreKey(id: number): Promise<void> {
      this.records.delete(id);
    }
  }

  class MemorySignedPreKeyStore extends lib.SignedPreKeyStore {
    readonly records = new Map<number, ls.SignedPreKeyRecord>();
    override async saveSignedPreKey(id: number, record: ls.SignedPreKeyRecord): Promise<void> {
      this.records.set(id, record);
    }
    override async getSignedPreKey(id: number): Promise<ls.SignedPreKeyRecord> {
      const r = this.records.get(id);
      if (r === undefined) throw new Error(`no signed prekey ${id}`);
      return r;
    }
  }

  class MemoryKyberPreKeyStore extends lib.KyberPreKeyStore {
    readonly records = new Map<number, ls.KyberPreKeyRecord>();
    override async saveKyberPreKey(id: number, record: ls.KyberPreKeyRecord): Promise<void> {
      this.records.set(id, record);
    }
    override async getKyberPreKey(id: number): Promise<ls.KyberPreKeyRecord> {
      const r = this.records.get(id);
      if (r === undefined) throw new Error(`no Kyber prekey ${id}`);
      return r;
    }
    override async markKyberPreKeyUsed(): Promise<void> {
      // last-resort semantics: keep the key
    }
  }
  return { MemorySessionStore, MemoryIdentityStore, MemoryPreKeyStore, MemorySignedPreKeyStore, MemoryKyberPreKeyStore };
}
type Stores = ReturnType<typeof storeClasses>;
const STORES = new Map<LibsignalVersion, Stores>();
function storesOf(version: LibsignalVersion): Stores {
  let stores = STORES.get(version);
  if (stores === undefined) {
    stores = storeClasses(LIBRARIES[version]);
    STORES.set(version, stores);
  }
  return stores;
}

export interface BundleOptions {
  /** Include a fresh one-time prekey (default true). */
  oneTimePreKey?: boolean;
}

export class LibsignalDevice {
  readonly sessionStore: InstanceType<Stores['MemorySessionStore']>;
  readonly identityStore: InstanceType<Stores['MemoryIdentityStore']>;
  readonly preKeyStore: InstanceType<Stores['MemoryPreKeyStore']>;
  readonly signedPreKeyStore: InstanceType<Stores['MemorySignedPreKeyStore']>;
  readonly kyberPreKeyStore: InstanceType<Stores['MemoryKyberPreKeyStore']>;
  private readonly lib: Library;
  private nextPreKeyId = 100;

  private constructor(
    readonly name: string,
    readonly deviceId: number,
    readonly identity: ls.IdentityKeyPair,
    readonly registrationId: number,
    private readonly signedPreKey: ls.SignedPreKeyRecord,
    private readonly kyberPreKey: ls.KyberPreKeyRecord,
    readonly version: LibsignalVersion,
  ) {
    const stores = storesOf(version);
    this.lib = LIBRARIES[version];
    this.sessionStore = new stores.MemorySessionStore();
    this.identityStore = new stores.MemoryIdentityStore(identity, registrationId);
    this.preKeyStore = new stores.MemoryPreKeyStore();
    this.signedPreKeyStore = new stores.MemorySignedPreKeyStore();
    this.kyberPreKeyStore = new stores.MemoryKyberPreKeyStore();
  }

  /** A device with a fresh identity, one signed prekey (id 1) and one Kyber prekey (id 1). */
  static async create(
    name: string,
    deviceId: number,
    registrationId = 1 + Math.floor(Math.random() * 16380),
    version: LibsignalVersion = '0.103.0',
  ): Promise<LibsignalDevice> {
    const lib = LIBRARIES[version];
    const identity = lib.IdentityKeyPair.generate();
    const spk = lib.PrivateKey.generate();
    const spkPublic = spk.getPublicKey();
    const now = Date.now();
    const signedPreKey = lib.SignedPreKeyRecord.new(1, now, spkPublic, spk, identity.privateKey.sign(spkPublic.serialize()));
    const kem = lib.KEMKeyPair.generate();
    const kyberPreKey = lib.KyberPreKeyRecord.new(1, now, kem, identity.privateKey.sign(kem.getPublicKey().serialize()));
    const device = new LibsignalDevice(name, deviceId, identity, registrationId, signedPreKey, kyberPreKey, version);
    await device.signedPreKeyStore.saveSignedPreKey(1, signedPreKey);
    await device.kyberPreKeyStore.saveKyberPreKey(1, kyberPreKey);
    return device;
  }

  /** Our 33-byte serialized identity key. */
  get identityKey(): Uint8Array {
    return this.identity.publicKey.serialize();
  }

  get address(): ProtocolAddress {
    return { name: this.name, deviceId: this.deviceId };
  }

  /** A bundle in the Signal core's shape, from this device's keys. */
  bundle(options: BundleOptions = {}): PreKeyBundle {
    const bundle: PreKeyBundle = {
      registrationId: this.registrationId,
      deviceId: this.deviceId,
      identityKey: this.identity.publicKey.serialize(),
      signedPreKeyId: this.signedPreKey.id(),
      signedPreKey: this.signedPreKey.publicKey().serialize(),
      signedPreKeySignature: this.signedPreKey.signature(),
      kyberPreKeyId: this.kyberPreKey.id(),
      kyberPreKey: this.kyberPreKey.publicKey().serialize(),
      kyberPreKeySignature: this.kyberPreKey.signature(),
    };
    if (options.oneTimePreKey ?? true) {
      const id = this.nextPreKeyId++;
      const key = this.lib.PrivateKey.generate();
      this.preKeyStore.records.set(id, this.lib.PreKeyRecord.new(id, key.getPublicKey(), key));
      bundle.oneTimePreKeyId = id;
      bundle.oneTimePreKey = key.getPublicKey().serialize();
    }
    return bundle;
  }

  /** Start a session with the owner of `bundle` (libsignal processPreKeyBundle). */
  async processBundle(address: ProtocolAddress, bundle: PreKeyBundle): Promise<void> {
    const lib = this.lib;
    const hasOneTime = bundle.oneTimePreKeyId !== undefined && bundle.oneTimePreKey !== undefined;
    const lsBundle = lib.PreKeyBundle.new(
      bundle.registrationId,
      bundle.deviceId,
      hasOneTime ? bundle.oneTimePreKeyId! : null,
      hasOneTime ? lib.PublicKey.deserialize(bytes(bundle.oneTimePreKey!)) : null,
      bundle.signedPreKeyId,
      lib.PublicKey.deserialize(bytes(bundle.signedPreKey)),
      bytes(bundle.signedPreKeySignature),
      lib.PublicKey.deserialize(bytes(bundle.identityKey)),
      bundle.kyberPreKeyId,
      lib.KEMPublicKey.deserialize(bytes(bundle.kyberPreKey)),
      bytes(bundle.kyberPreKeySignature),
    );
    await this.call(lib.processPreKeyBundle, lsBundle, this.lsAddress(address), this.sessionStore, this.identityStore);
  }

  async encrypt(address: ProtocolAddress, plaintext: Uint8Array): Promise<Ciphertext> {
    const message = await this.call(this.lib.signalEncrypt, bytes(plaintext), this.lsAddress(address), this.sessionStore, this.identityStore);
    const type = message.type();
    if (type !== 2 && type !== 3) throw new Error(`unexpected libsignal message type ${type}`);
    return { type, body: message.serialize() };
  }

  async decrypt(address: ProtocolAddress, ciphertext: Ciphertext): Promise<Uint8Array> {
    const lib = this.lib;
    const lsAddress = this.lsAddress(address);
    if (ciphertext.type === 2) {
      return this.call(lib.signalDecrypt, lib.SignalMessage.deserialize(bytes(ciphertext.body)), lsAddress, this.sessionStore, this.identityStore);
    }
    return this.call(
      lib.signalDecryptPreKey,
      lib.PreKeySignalMessage.deserialize(bytes(ciphertext.body)),
      lsAddress,
      this.sessionStore,
      this.identityStore,
      this.preKeyStore,
      this.signedPreKeyStore,
      this.kyberPreKeyStore,
    );
  }

  /** libsignal's serialized SessionRecord for `address` (for size comparisons and white-box tests), if any. */
  async sessionRecordBytes(address: ProtocolAddress): Promise<Uint8Array | undefined> {
    return (await this.sessionStore.getSession(this.lsAddress(address)))?.serialize();
  }

  /** Replace the stored SessionRecord for `address` (record injection: replays are deterministic). */
  async setSessionRecord(address: ProtocolAddress, record: Uint8Array): Promise<void> {
    await this.sessionStore.saveSession(this.lsAddress(address), this.lib.SessionRecord.deserialize(bytes(record)));
  }

  /** 0.103 takes the local address right after the remote one; 0.90 does not. */
  private call<M, A extends unknown[], R>(
    fn: (message: M, remote: ls.ProtocolAddress, local: ls.ProtocolAddress, ...rest: A) => R,
    message: M,
    remote: ls.ProtocolAddress,
    ...rest: A
  ): R {
    const f = fn as unknown as (...args: unknown[]) => R;
    return this.version === '0.90.0' ? f(message, remote, ...rest) : f(message, remote, this.lsAddress(this.address), ...rest);
  }

  private lsAddress(address: ProtocolAddress): ls.ProtocolAddress {
    return this.lib.ProtocolAddress.new(address.name, address.deviceId);
  }
}
