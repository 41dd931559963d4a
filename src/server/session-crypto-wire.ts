/**
 * The session-crypto thread's batches as bytes: one ArrayBuffer per batch each way, transferred
 * (not copied) by postMessage. Structured clone of the same objects cost ~14 % of each thread's
 * CPU (an object walk and a fresh ArrayBuffer per byte field); this is a length-prefixed layout
 * read back as views, so a job's bytes are not copied again on the thread. The event loop copies
 * the sealed results out of the reply (`slice`), so a stored record never pins a whole reply.
 *
 * Batch:  u32 businesses ‖ u32 jobs ‖ businesses ‖ jobs
 *   business: str8 pnid ‖ 32 data key ‖ u32 registration id ‖ 33 identity public ‖ 32 identity private
 *   job:      u32 id ‖ str8 pnid ‖ str16 session key ‖ str16 inbox key ‖ opt32 stored slot ‖ bytes32 plaintext
 * Reply:  u32 results ‖ results
 *   result:   u32 id ‖ u8 outcome (1 sealed, 0 declined) ‖ sealed: bytes32 slot ‖ bytes32 inbox; declined: str16 reason
 * (strN: N-bit byte length then UTF-8; bytes32: u32 length then bytes; opt32: bytes32 with 0xffffffff for absent)
 */
import type { SessionCryptoBatch, SessionCryptoBusiness, SessionCryptoJob, SessionCryptoResult } from './session-crypto-job.js';

const ABSENT = 0xffffffff;

class WireWriter {
  #buf = Buffer.allocUnsafeSlow(4096);
  #at = 0;
  #room(n: number): void {
    if (this.#at + n <= this.#buf.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(this.#buf.length * 2, this.#at + n));
    this.#buf.copy(grown, 0, 0, this.#at);
    this.#buf = grown;
  }
  u8(v: number): this {
    this.#room(1);
    this.#buf[this.#at++] = v;
    return this;
  }
  u32(v: number): this {
    this.#room(4);
    this.#buf.writeUInt32LE(v, this.#at);
    this.#at += 4;
    return this;
  }
  raw(bytes: Uint8Array): this {
    this.#room(bytes.length);
    this.#buf.set(bytes, this.#at);
    this.#at += bytes.length;
    return this;
  }
  bytes32(bytes: Uint8Array): this {
    return this.u32(bytes.length).raw(bytes);
  }
  str(text: string, lengthBytes: 1 | 2): this {
    const n = Buffer.byteLength(text);
    this.#room(lengthBytes + n);
    if (lengthBytes === 1) this.#buf[this.#at] = n;
    else this.#buf.writeUInt16LE(n, this.#at);
    this.#buf.write(text, this.#at + lengthBytes, 'utf8');
    this.#at += lengthBytes + n;
    return this;
  }
  /** The written bytes in an ArrayBuffer of their own (to transfer). */
  finish(): ArrayBuffer {
    return this.#buf.buffer.slice(this.#buf.byteOffset, this.#buf.byteOffset + this.#at) as ArrayBuffer;
  }
}

class WireReader {
  readonly #buf: Buffer;
  #at = 0;
  constructor(buffer: ArrayBuffer) {
    this.#buf = Buffer.from(buffer);
  }
  u8(): number {
    return this.#buf[this.#at++]!;
  }
  u32(): number {
    const v = this.#buf.readUInt32LE(this.#at);
    this.#at += 4;
    return v;
  }
  /** A view into the batch (valid while the batch is). */
  raw(n: number): Uint8Array {
    const view = new Uint8Array(this.#buf.buffer, this.#buf.byteOffset + this.#at, n);
    this.#at += n;
    return view;
  }
  bytes32(): Uint8Array {
    return this.raw(this.u32());
  }
  str(lengthBytes: 1 | 2): string {
    const n = lengthBytes === 1 ? this.#buf[this.#at]! : this.#buf.readUInt16LE(this.#at);
    this.#at += lengthBytes;
    const text = this.#buf.toString('utf8', this.#at, this.#at + n);
    this.#at += n;
    return text;
  }
}

export function encodeBatch(batch: SessionCryptoBatch): ArrayBuffer {
  const w = new WireWriter().u32(batch.businesses.length).u32(batch.jobs.length);
  for (const b of batch.businesses) w.str(b.pnid, 1).raw(b.dataKey).u32(b.registrationId).raw(b.identityPublicKey).raw(b.identityPrivateKey);
  for (const j of batch.jobs) {
    w.u32(j.id).str(j.pnid, 1).str(j.sessionKey, 2).str(j.inboxKey, 2);
    if (j.storedSlot === undefined) w.u32(ABSENT);
    else w.bytes32(j.storedSlot);
    w.bytes32(j.plaintext);
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
    const pnid = r.str(1);
    const sessionKey = r.str(2);
    const inboxKey = r.str(2);
    const storedLength = r.u32();
    const storedSlot = storedLength === ABSENT ? undefined : r.raw(storedLength);
    const plaintext = r.bytes32();
    jobs.push({ id, pnid, sessionKey, inboxKey, plaintext, ...(storedSlot !== undefined ? { storedSlot } : {}) });
  }
  return { businesses, jobs };
}

export function encodeReply(results: readonly SessionCryptoResult[]): ArrayBuffer {
  const w = new WireWriter().u32(results.length);
  for (const result of results) {
    w.u32(result.id);
    if (result.outcome === 'sealed') w.u8(1).bytes32(result.sealedSlot).bytes32(result.sealedInbox);
    else w.u8(0).str(result.reason.slice(0, 1000), 2);
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
    if (r.u8() === 1) results.push({ id, outcome: 'sealed', sealedSlot: r.bytes32().slice(), sealedInbox: r.bytes32().slice() });
    else results.push({ id, outcome: 'declined', reason: r.str(2) });
  }
  return results;
}
