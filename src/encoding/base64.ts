/**
 * Standard base64 (RFC 4648 §4, padded), the text form of every binary field in the transport
 * contract, the store's audit export and the key files. Encoding takes a view without copying;
 * decoding is lenient (Node's decoder skips what is not base64) and returns bytes in their own
 * ArrayBuffer. A request field that must be strict base64 is checked at the server's boundary
 * (src/server/request-fields.ts, `decodePaddedBase64`).
 *
 * Lowest layer: imports nothing of the project, so crypto, store, server and harness may all use it.
 */

/** Standard padded base64 of `bytes` (a view: no copy of the bytes). */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** The bytes of standard base64 `text`, in an ArrayBuffer of their own (not Buffer's shared pool). */
export function fromBase64(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64'));
}
