/**
 * Minimal proto2 codec for libsignal's wire messages (`wire.proto`): varint
 * (wire type 0) and length-delimited (wire type 2) fields only.
 *
 * Writing emits fields in ascending tag order, as prost does (signal-wire.md §2).
 * Reading does not depend on order, keeps the last occurrence of a repeated
 * scalar (proto2 semantics), skips unknown fields of wire types 0, 1, 2 and 5,
 * and rejects truncation, overlong varints, groups and wire-type mismatches
 * with SignalError('invalid-message').
 */
import { SignalError } from './errors.js';

export type FieldKind = 'uint32' | 'bytes';
/** Field schema indexed by tag number; unlisted tags are skipped as unknown. */
export type FieldSchema = readonly (FieldKind | undefined)[];
export type FieldValues = (number | Uint8Array | undefined)[];

function invalid(detail: string): never {
  throw new SignalError('invalid-message', `protobuf: ${detail}`);
}

/** Growable writer; callers add fields in ascending tag order. */
/** A byte buffer that doubles as it fills, with the varint encoding both of our formats use. */
export class GrowableBytes {
  protected output: Uint8Array;
  protected len: number;

  constructor(initialCapacity: number, start = 0) {
    this.output = new Uint8Array(initialCapacity);
    this.len = start;
  }

  protected ensure(extra: number): void {
    if (this.len + extra <= this.output.length) return;
    let cap = this.output.length * 2;
    while (cap < this.len + extra) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.output.subarray(0, this.len));
    this.output = next;
  }

  /** Unsigned LEB128 of a uint32 (protobuf encoding §varints). */
  varint(value: number): void {
    this.ensure(5);
    let v = value >>> 0;
    while (v >= 0x80) {
      this.output[this.len++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.output[this.len++] = v;
  }

  protected raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.output.set(bytes, this.len);
    this.len += bytes.length;
  }
}

export class ProtoWriter extends GrowableBytes {
  constructor(initialCapacity = 64, reserveHead = 0) {
    super(Math.max(initialCapacity, reserveHead + 16), reserveHead);
  }

  uint32(tag: number, value: number): this {
    this.varint(tag << 3);
    this.varint(value);
    return this;
  }

  bytes(tag: number, value: Uint8Array): this {
    this.varint((tag << 3) | 2);
    this.varint(value.length);
    this.raw(value);
    return this;
  }

  /** Reserve `extra` writable bytes at the end and return the whole buffer. */
  finish(extra = 0): Uint8Array {
    this.ensure(extra);
    return this.output.subarray(0, this.len + extra);
  }

  get length(): number {
    return this.len;
  }
}

/**
 * Decode `encoded[start..end)` against `schema`. Returns values indexed by tag;
 * bytes values are views into `encoded` (no copy).
 */
export function readFields(encoded: Uint8Array, schema: FieldSchema, start = 0, end = encoded.length): FieldValues {
  const out: FieldValues = new Array(schema.length);
  let pos = start;

  // Reads a varint of at most 10 bytes; returns a number if it fits in 32 bits,
  // otherwise -1 (the caller decides whether that is acceptable).
  const readVarint = (): number => {
    let result = 0;
    let shift = 0;
    let big = false;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) invalid('truncated varint');
      const b = encoded[pos++]!;
      if (i === 9 && b > 1) invalid('overlong varint');
      if (shift < 28) {
        result |= (b & 0x7f) << shift;
      } else if (shift === 28) {
        // bits 28..34: only the low 4 fit in 32 bits
        result = (result | ((b & 0x0f) << 28)) >>> 0;
        if ((b & 0x70) !== 0) big = true;
      } else if ((b & 0x7f) !== 0) {
        big = true;
      }
      if ((b & 0x80) === 0) return big ? -1 : result >>> 0;
      shift += 7;
    }
    return invalid('overlong varint');
  };

  while (pos < end) {
    const key = readVarint();
    if (key < 0) invalid('field key too large');
    const tag = key >>> 3;
    const wireType = key & 7;
    if (tag === 0) invalid('field tag 0');
    const kind = tag < schema.length ? schema[tag] : undefined;
    switch (wireType) {
      case 0: {
        const v = readVarint();
        if (kind === 'uint32') {
          if (v < 0) invalid(`field ${tag} exceeds uint32`);
          out[tag] = v;
        } else if (kind === 'bytes') invalid(`field ${tag} wire type mismatch`);
        break;
      }
      case 2: {
        const n = readVarint();
        if (n < 0 || n > end - pos) invalid('truncated length-delimited field');
        if (kind === 'bytes') out[tag] = encoded.subarray(pos, pos + n);
        else if (kind === 'uint32') invalid(`field ${tag} wire type mismatch`);
        pos += n;
        break;
      }
      case 1:
        if (kind !== undefined) invalid(`field ${tag} wire type mismatch`);
        if (end - pos < 8) invalid('truncated fixed64');
        pos += 8;
        break;
      case 5:
        if (kind !== undefined) invalid(`field ${tag} wire type mismatch`);
        if (end - pos < 4) invalid('truncated fixed32');
        pos += 4;
        break;
      default:
        invalid(`unsupported wire type ${wireType}`);
    }
  }
  return out;
}
