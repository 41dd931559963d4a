/**
 * Reading request bodies and writing answers on node:http, with as little per-request work as
 * possible (the server's goal is ≥ 0.5× a bare node:http JSON handler; docs/server.md).
 *
 * transport-api.md conventions: bodies over 1 MiB get 413 and are not kept (the rest is discarded
 * so the client can read the answer); malformed
 * JSON gets 400 code 100; the server never answers 500 to bad input.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { GraphError, graphErrorBody, graphErrorFacts, type GraphErrorKind } from './graph-error.js';
import { jsonShapeProblem } from './request-fields.js';

/** transport-api.md: "Request bodies over 1 MiB: 413". */
export const maxBodyBytes = 1024 * 1024;

/**
 * Read the whole body, refusing (without buffering the rest) once it passes `limitBytes`.
 * Resolves to the raw bytes; rejects with GraphError('payload-too-large').
 */
export function readBody(request: IncomingMessage, limitBytes = maxBodyBytes): Promise<Buffer> {
  const declared = request.headers['content-length'];
  if (declared !== undefined && Number(declared) > limitBytes) {
    return Promise.reject(new GraphError('payload-too-large', `body exceeds ${limitBytes} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let done = false;
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > limitBytes) {
        done = true;
        request.off('data', onData);
        reject(new GraphError('payload-too-large', `body exceeds ${limitBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.once('end', () => {
      if (done) return;
      done = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total));
    });
    request.once('error', (error) => {
      if (done) return;
      done = true;
      reject(new GraphError('invalid-parameter', `request stream failed: ${error.message}`));
    });
  });
}

/** Parse a JSON object body; anything else is 400 code 100. */
export async function readJsonObject(request: IncomingMessage): Promise<Record<string, unknown>> {
  const raw = await readBody(request);
  if (raw.length === 0) throw new GraphError('invalid-parameter', 'request body is empty; a JSON object is required');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new GraphError('invalid-parameter', 'request body is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new GraphError('invalid-parameter', 'request body must be a JSON object');
  }
  const problem = jsonShapeProblem(parsed);
  if (problem !== undefined) throw new GraphError('invalid-parameter', `request body: ${problem}`);
  return parsed as Record<string, unknown>;
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  sendJsonText(response, status, JSON.stringify(body));
}

/** Answers with a JSON text the caller already serialized (hot paths that template it). */
export function sendJsonText(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

export function sendEmpty(response: ServerResponse, status: number): void {
  response.writeHead(status, { 'content-length': 0 });
  response.end();
}

/** Status overrides for throttling codes (cloud-api.md §4 caveat). */
export type HttpStatusOverrides = Partial<Record<GraphErrorKind, number>>;

export function sendGraphError(response: ServerResponse, error: GraphError, overrides: HttpStatusOverrides): void {
  const status = overrides[error.kind] ?? graphErrorFacts[error.kind].httpStatus;
  const text = graphErrorBody(error);
  if (response.headersSent) {
    response.destroy();
    return;
  }
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

/** Constant-time comparison of a presented token with the expected one (admin and registration tokens). */
export function tokensEqual(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The bearer token of an Authorization header, or undefined. */
export function bearerToken(request: IncomingMessage): string | undefined {
  const header = request.headers.authorization;
  if (header === undefined || header.length < 8) return undefined;
  if (header.charCodeAt(6) !== 32 || header.slice(0, 6).toLowerCase() !== 'bearer') return undefined;
  const token = header.slice(7).trim();
  return token.length > 0 ? token : undefined;
}
