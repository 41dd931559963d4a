/**
 * Webhook signatures and the verification handshake (M-WHEP, G-WH): `X-Hub-Signature-256:
 * sha256=<lowercase hex HMAC-SHA256(raw body, app secret)>` over the exact bytes sent, and the
 * GET `callback?hub.mode=subscribe&hub.challenge=…&hub.verify_token=…` that must answer 200 with
 * the bare challenge. Both sides: the sender signs and verifies a callback, a receiver checks.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-hub-signature-256';

/** `sha256=<lowercase hex HMAC-SHA256(rawBody, appSecret)>`, over the exact bytes sent. */
export function signPayload(rawBody: Uint8Array | string, appSecret: string): string {
  return `sha256=${createHmac('sha256', appSecret).update(rawBody).digest('hex')}`;
}

/** Receiver side: checks the header against the raw body received, in constant time. */
export function verifySignature(rawBody: Uint8Array | string, header: string | undefined | null, appSecret: string): boolean {
  if (typeof header !== 'string' || !/^sha256=[0-9a-f]{64}$/.test(header)) return false;
  const expected = Buffer.from(signPayload(rawBody, appSecret), 'latin1');
  const given = Buffer.from(header, 'latin1');
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** Receiver side of the handshake: what a callback answers to a verification GET. */
export function answerVerification(query: URLSearchParams, verifyToken: string): { readonly status: number; readonly body: string } {
  const challenge = query.get('hub.challenge');
  if (query.get('hub.mode') === 'subscribe' && query.get('hub.verify_token') === verifyToken && challenge !== null) {
    return { status: 200, body: challenge };
  }
  return { status: 403, body: 'verification failed' };
}

export interface VerifyCallbackOptions {
  /** Default: a random decimal integer string. */
  readonly challenge?: string;
  /** Default 5,000 ms (wall clock). */
  readonly timeout_ms?: number;
}

/** Sender side: performs the verification GET; true iff the callback echoes the challenge with 200. */
export async function verifyCallback(callbackUrl: string, verifyToken: string, options: VerifyCallbackOptions = {}): Promise<boolean> {
  const challenge = options.challenge ?? String(randomBytes(4).readUInt32BE(0));
  let url: URL;
  try {
    url = new URL(callbackUrl);
  } catch {
    return false;
  }
  url.searchParams.set('hub.mode', 'subscribe');
  url.searchParams.set('hub.challenge', challenge);
  url.searchParams.set('hub.verify_token', verifyToken);
  try {
    const response = await fetch(url, { method: 'GET', signal: AbortSignal.timeout(options.timeout_ms ?? 5_000) });
    const body = await response.text();
    return response.status === 200 && body === challenge;
  } catch {
    return false;
  }
}
