/**
 * Boundary checks for request fields: each face checks its input once, here, and works on typed
 * values afterwards (design.md style). Missing → 131008, wrong type or value → 131009 or 100
 * (transport-api.md conventions).
 */
import { GraphError } from './graph-error.js';

type JsonObject = Record<string, unknown>;

/** Deepest nesting of arrays and objects accepted in any JSON the server parses (bodies, device plaintexts). */
export const maxJsonDepth = 32;

/**
 * Largest Cloud API message object, as UTF-8 JSON, in either direction (a business send's
 * message object, a device's decrypted plaintext). cloud-api.md §1 bounds `text.body` at 4,096
 * characters; 64 KiB leaves room for templates with many components and keeps every inbox entry
 * and webhook payload small.
 */
export const maxMessageObjectBytes = 64 * 1024;

const isWellFormed = (text: string): boolean => (text as unknown as { isWellFormed(): boolean }).isWellFormed();

/**
 * What is wrong with a parsed JSON value at the boundary, or undefined: nesting deeper than
 * `maxDepth` (serialising it later would overflow the stack), or a string (key or value) that
 * is not well-formed UTF-16 (a lone surrogate, which UTF-8 cannot carry). Iterative, stops at
 * the first finding.
 */
export function jsonShapeProblem(value: unknown, maxDepth = maxJsonDepth): string | undefined {
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const item = next.value;
    if (typeof item === 'string') {
      if (!isWellFormed(item)) return 'a string holds a lone UTF-16 surrogate';
    } else if (item !== null && typeof item === 'object') {
      if (next.depth >= maxDepth) return `JSON nests deeper than ${maxDepth} levels`;
      if (Array.isArray(item)) {
        for (const element of item) stack.push({ value: element, depth: next.depth + 1 });
      } else {
        for (const [key, element] of Object.entries(item)) {
          if (!isWellFormed(key)) return 'a key holds a lone UTF-16 surrogate';
          stack.push({ value: element, depth: next.depth + 1 });
        }
      }
    }
  }
  return undefined;
}

export function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function requireObject(parent: JsonObject, name: string): JsonObject {
  const value = parent[name];
  if (value === undefined || value === null) throw new GraphError('required-parameter', `${name} is required`);
  if (!isObject(value)) throw new GraphError('invalid-parameter', `${name} must be an object`);
  return value;
}

export function requireString(parent: JsonObject, name: string, maxLength = 4096): string {
  const value = parent[name];
  if (value === undefined || value === null) throw new GraphError('required-parameter', `${name} is required`);
  if (typeof value !== 'string') throw new GraphError('invalid-parameter', `${name} must be a string`);
  if (value.length > maxLength) throw new GraphError('parameter-value', `${name} is longer than ${maxLength} characters`);
  return value;
}

export function optionalString(parent: JsonObject, name: string, maxLength = 4096): string | undefined {
  const value = parent[name];
  if (value === undefined || value === null) return undefined;
  return requireString(parent, name, maxLength);
}

export function requireInteger(parent: JsonObject, name: string, min: number, max: number): number {
  const value = parent[name];
  if (value === undefined || value === null) throw new GraphError('required-parameter', `${name} is required`);
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new GraphError('invalid-parameter', `${name} must be an integer`);
  if (value < min || value > max) throw new GraphError('parameter-value', `${name} must be between ${min} and ${max}`);
  return value;
}

export function optionalInteger(parent: JsonObject, name: string, min: number, max: number): number | undefined {
  const value = parent[name];
  if (value === undefined || value === null) return undefined;
  return requireInteger(parent, name, min, max);
}

/**
 * Decodes standard base64 with padding (RFC 4648 §4, canonical: what any encoder writes), or
 * undefined when `text` is not that. Node's decoder is lenient (it skips characters outside the
 * alphabet, stops at an inner '=', reads '-' '_' as the URL-safe alphabet, and reads a UTF-16
 * code unit by its low byte, so a lone surrogate can stand for a letter or for '='), so the text
 * is valid exactly when encoding the decoded bytes gives it back. Two native passes instead of a
 * grouped regex plus the decode (docs/measurements.md).
 */
export function decodePaddedBase64(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) return undefined;
  return new Uint8Array(bytes); // an own ArrayBuffer (not a view of Buffer's shared pool), as before
}

/** True for standard base64 with padding (see `decodePaddedBase64`). */
export function isPaddedBase64(text: string): boolean {
  return decodePaddedBase64(text) !== undefined;
}

/** Standard base64 with padding (transport-api.md conventions); optional exact decoded length. */
export function requireBase64(parent: JsonObject, name: string, exactBytes?: number, maxBytes = 1024 * 1024): Uint8Array {
  const text = requireString(parent, name, Math.ceil((maxBytes * 4) / 3) + 4);
  const bytes = decodePaddedBase64(text);
  if (bytes === undefined) throw new GraphError('invalid-parameter', `${name} must be standard base64 with padding`);
  if (exactBytes !== undefined && bytes.length !== exactBytes) {
    throw new GraphError('parameter-value', `${name} must decode to ${exactBytes} bytes, got ${bytes.length}`);
  }
  if (bytes.length === 0) throw new GraphError('parameter-value', `${name} is empty`);
  return bytes;
}

export function requireArray(parent: JsonObject, name: string, maxItems: number): unknown[] {
  const value = parent[name];
  if (value === undefined || value === null) throw new GraphError('required-parameter', `${name} is required`);
  if (!Array.isArray(value)) throw new GraphError('invalid-parameter', `${name} must be an array`);
  if (value.length > maxItems) throw new GraphError('parameter-value', `${name} has more than ${maxItems} items`);
  return value;
}

/** A user's WhatsApp id: 8 to 15 digits (transport-api.md §1). A leading '+' is accepted and dropped. */
export function parseWaId(input: string, fieldName = 'wa_id'): string {
  const digits = input.startsWith('+') ? input.slice(1) : input;
  if (!/^[0-9]{8,15}$/.test(digits)) throw new GraphError('invalid-parameter', `${fieldName} must be 8 to 15 digits`);
  return digits;
}
