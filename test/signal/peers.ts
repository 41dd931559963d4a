/** Our device and a libsignal device behind one asynchronous interface, for interop tests. */
import type { LibsignalDevice } from '../../src/harness/device/libsignal-peer.js';
import type { Ciphertext, PreKeyBundle, ProtocolAddress } from '../../src/signal/index.js';
import type { SimulatedDevice } from '../../src/harness/device/signal-device.js';

export interface Peer {
  address: ProtocolAddress;
  kind: 'ours' | 'libsignal';
  bundle(withOneTime: boolean): PreKeyBundle;
  processBundle(to: ProtocolAddress, bundle: PreKeyBundle): Promise<void>;
  encrypt(to: ProtocolAddress, plaintext: Uint8Array): Promise<Ciphertext>;
  decrypt(from: ProtocolAddress, ct: Ciphertext): Promise<Uint8Array>;
}

export function ours(device: SimulatedDevice): Peer {
  return {
    address: device.address,
    kind: 'ours',
    bundle: (w) => device.bundle(w),
    processBundle: async (to, b) => device.processBundle(to, b),
    encrypt: async (to, p) => device.encrypt(to, p),
    decrypt: async (from, ct) => device.decrypt(from, ct),
  };
}

export function theirs(device: LibsignalDevice): Peer {
  return {
    address: device.address,
    kind: 'libsignal',
    bundle: (w) => device.bundle({ oneTimePreKey: w }),
    processBundle: (to, b) => device.processBundle(to, b),
    encrypt: (to, p) => device.encrypt(to, p),
    decrypt: (from, ct) => device.decrypt(from, ct),
  };
}
