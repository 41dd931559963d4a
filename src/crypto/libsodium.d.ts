/** The few libsodium-wrappers-sumo functions the `node` backend uses (no @types package needed). */
declare module 'libsodium-wrappers-sumo' {
  interface Sodium {
    readonly ready: Promise<void>;
    /** Fixed-base Ed25519 scalar multiplication without clamping; returns the point encoding (RFC 8032 §5.1.2). */
    crypto_scalarmult_ed25519_base_noclamp(scalar: Uint8Array): Uint8Array;
  }
  const sodium: Sodium;
  export default sodium;
}
