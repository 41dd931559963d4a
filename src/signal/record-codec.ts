/**
 * The byte writer and reader of the compact session serialization (session-serialization.ts,
 * spqr-serialization.ts): fixed-width keys, LEB128 varints of at most 32 bits, and any
 * malformation reported as SignalError('invalid-message').
 */
import { SignalError } from './errors.js';
import { GrowableBytes } from './protobuf.js';

export class ByteWriter extends GrowableBytes {
  constructor() {
    super(512);
  }
  u8(v: number): void {
    this.ensure(1);
    this.output[this.len++] = v;
  }
  fixed(bytes: Uint8Array, length: number): void {
    if (bytes.length !== length) throw new SignalError('invalid-key', `expected ${length} bytes, have ${bytes.length}`);
    this.raw(bytes);
  }
  result(): Uint8Array {
    return this.output.slice(0, this.len);
  }
}

export class ByteReader {
  pos = 0;
  constructor(private readonly input: Uint8Array) {}
  fail(why = 'malformed'): never {
    throw new SignalError('invalid-message', `session record: ${why} at byte ${this.pos}`);
  }
  u8(): number {
    if (this.pos >= this.input.length) this.fail();
    return this.input[this.pos++]!;
  }
  varint(): number {
    let result = 0;
    for (let shift = 0; shift <= 28; shift += 7) {
      const b = this.u8();
      if (shift === 28 && b > 0x0f) this.fail(); // more than 32 bits
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
    }
    return this.fail();
  }
  /** A copy (for what the state keeps by reference). */
  fixed(length: number): Uint8Array {
    return this.view(length).slice();
  }
  /** A view into the input (for keys the state copies). */
  view(length: number): Uint8Array {
    if (this.input.length - this.pos < length) this.fail();
    const out = this.input.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }
  get done(): boolean {
    return this.pos === this.input.length;
  }
}
