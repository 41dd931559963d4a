/**
 * The session-crypto thread's batches as bytes: one ArrayBuffer per batch each way, transferred
 * (not copied) by postMessage. Structured clone of the same objects costs a noticeable share of
 * each thread's CPU (an object walk and a fresh ArrayBuffer per byte field); this is a length-prefixed layout
 * read back as views, so a job's bytes are not copied again on the thread. The event loop copies
 * the sealed results out of the reply (`slice`), so a stored record never pins a whole reply.
 *
 * Batch:  u32 businesses ‖ u32 jobs ‖ businesses ‖ jobs
 *   business: str8 pnid ‖ 32 data key ‖ u32 registration id ‖ 33 identity public ‖ 32 identity private
 *   job:      u32 id ‖ u8 op (1 encrypt, 2 decrypt) ‖ str8 pnid ‖ str16 session key ‖ opt32 stored slot ‖
 *             encrypt: str16 inbox key ‖ bytes32 plaintext; decrypt: u8 message type ‖ bytes32 message ‖ bytes32 remote identity
 * Reply:  u32 results ‖ results
 *   result:   u32 id ‖ u8 outcome (1 sealed, 2 opened, 0 declined) ‖ sealed: bytes32 slot ‖ bytes32 inbox;
 *             opened: bytes32 slot ‖ bytes32 plaintext; declined: str16 reason
 * (strN: N-bit byte length then UTF-8; bytes32: u32 length then bytes; opt32: bytes32 with 0xffffffff for absent)
 */
import type { SessionCryptoBatch, SessionCryptoBusiness, SessionCryptoJob, SessionCryptoResult } from './session-crypto-job.js';

const ABSENT = 0xffffffff;
const OP_ENCRYPT = 1;
const OP_DECRYPT = 2;
const DECLINED = 0;
const SEALED = 1;
const OPENED = 2;

class WireWriter {
  #bytes = Buffer.allocUnsafeSlow(4096);
  #at = 0;
  #room(n: number): void {
    if (this.#at + n <= this.#bytes.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(this.#bytes.length * 2, this.#at + n));
    this.#bytes.copy(grown, 0, 0, this.#at);
    this.#bytes = grown;
  }
  u8(v: number): this {
    this.#room(1);
    this.#bytes[this.#at++] = v;
    return this;
  }
  u32(v: number): this {
    this.#room(4);
    this.#bytes.writeUInt32LE(v, this.#at);
    this.#at += 4;
    return this;
  }
  raw(bytes: Uint8Array): this {
    this.#room(bytes.length);
    this.#bytes.set(bytes, this.#at);
    this.#at += bytes.length;
    return this;
  }
  bytes32(bytes: Uint8Array): this {
    return this.u32(bytes.length).raw(bytes);
  }
  str(text: string, lengthBytes: 1 | 2): this {
    const n = Buffer.byteLength(text);
    this.#room(lengthBytes + n);
    if (lengthBytes === 1) this.#bytes[this.#at] = n;
    else this.#bytes.writeUInt16LE(n, this.#at);
    this.#bytes.write(text, this.#at + lengthBytes, 'utf8');
    this.#at += lengthBytes + n;
    return this;
  }
  /** The written bytes in an ArrayBuffer of their own (to transfer). */
  finish(): ArrayBuffer {
    return this.#bytes.buffer.slice(this.#bytes.byteOffset, this.#bytes.byteOffset + this.#at) as ArrayBuffer;
  }
}

class WireReader {
  readonly #bytes: Buffer;
  #at = 0;
  constructor(buffer: ArrayBuffer) {
    this.#bytes = Buffer.from(buffer);
  }
  u8(): number {
    return this.#bytes[this.#at++]!;
  }
  u32(): number {
    const v = this.#bytes.readUInt32LE(this.#at);
    this.#at += 4;
    return v;
  }
  /** A view into the batch (valid while the batch is). */
  raw(n: number): Uint8Array {
    const view = new Uint8Array(this.#bytes.buffer, this.#bytes.byteOffset + this.#at, n);
    this.#at += n;
    return view;
  }
  bytes32(): Uint8Array {
    return this.raw(this.u32());
  }
  str(lengthBytes: 1 | 2): string {
    const n = lengthBytes === 1 ? this.#bytes[this.#at]! : this.#bytes.readUInt16LE(this.#at);
    this.#at += lengthBytes;
    const text = this.#bytes.toString('utf8', this.#at, this.#at + n);
    this.#at += n;
    return text;
  }
}

export function encodeBatch(batch: SessionCryptoBatch): ArrayBuffer {
  const w = new WireWriter().u32(batch.businesses.length).u32(batch.jobs.length);
  for (const b of batch.businesses) w.str(b.pnid, 1).raw(b.dataKey).u32(b.registrationId).raw(b.identityPublicKey).raw(b.identityPrivateKey);
  for (const j of batch.jobs) {
    w.u32(j.id).u8(j.op === 'encrypt' ? OP_ENCRYPT : OP_DECRYPT).str(j.pnid, 1).str(j.sessionKey, 2);
    if (j.storedSlot === undefined) w.u32(ABSENT);
    else w.bytes32(j.storedSlot);
    if (j.op === 'encrypt') w.str(j.inboxKey, 2).bytes32(j.plaintext);
    else w.u8(j.messageType).bytes32(j.message).bytes32(j.remoteIdentity);
  }
  return w.finish();
}

export function decodeBatch(buffer: ArrayBuffer): SessionCryptoBatch {
  const r = new WireReader(buffer);
  const businessCount = r.u32();
  const jobCount = r.u32();
  const businesses: SessionCryptoBusiness[] = [];
  for (let i = 0; i < businessCount; i++) {
    businesses.push({ pnid: r.str(1), dataKey: r.raw(32), registrationId: r.u32(), identityPublicKey: r.raw(33), identityPrivateKey: r.raw(32) });
  }
  const jobs: SessionCryptoJob[] = [];
  for (let i = 0; i < jobCount; i++) {
    const id = r.u32();
    const op = r.u8();
    const pnid = r.str(1);
    const sessionKey = r.str(2);
    const storedLength = r.u32();
    const stored = storedLength === ABSENT ? {} : { storedSlot: r.raw(storedLength) };
    if (op === OP_ENCRYPT) {
      const inboxKey = r.str(2);
      jobs.push({ op: 'encrypt', id, pnid, sessionKey, ...stored, inboxKey, plaintext: r.bytes32() });
    } else {
      const messageType = r.u8() === 3 ? 3 : 2;
      const message = r.bytes32();
      jobs.push({ op: 'decrypt', id, pnid, sessionKey, ...stored, messageType, message, remoteIdentity: r.bytes32() });
    }
  }
  return { businesses, jobs };
}

export function encodeReply(results: readonly SessionCryptoResult[]): ArrayBuffer {
  const w = new WireWriter().u32(results.length);
  for (const result of results) {
    w.u32(result.id);
    if (result.outcome === 'sealed') w.u8(SEALED).bytes32(result.sealedSlot).bytes32(result.sealedInbox);
    else if (result.outcome === 'opened') w.u8(OPENED).bytes32(result.sealedSlot).bytes32(result.plaintext);
    else w.u8(DECLINED).str(result.reason.slice(0, 1000), 2);
  }
  return w.finish();
}

/** Results with their sealed bytes copied out of the reply. */
export function decodeReply(buffer: ArrayBuffer): SessionCryptoResult[] {
  const r = new WireReader(buffer);
  const count = r.u32();
  const results: SessionCryptoResult[] = [];
  for (let i = 0; i < count; i++) {
    const id = r.u32();
    const outcome = r.u8();
    if (outcome === SEALED) results.push({ id, outcome: 'sealed', sealedSlot: r.bytes32().slice(), sealedInbox: r.bytes32().slice() });
    else if (outcome === OPENED) results.push({ id, outcome: 'opened', sealedSlot: r.bytes32().slice(), plaintext: r.bytes32().slice() });
    else results.push({ id, outcome: 'declined', reason: r.str(2) });
  }
  return results;
}
