/**
 * Delivery of one webhook POST and the retry schedule between attempts.
 *
 * - One POST has a total deadline, from sending it to the last byte of the answer (a receiver
 *   that trickles its answer is cut off too), and can be cut off at shutdown.
 * - Retries (M-WHEP: "retried immediately, then … at decreasing frequency over the next 7 days";
 *   M-TPUT "exponential backoff"): after the n-th failure a piece waits 0 ms when n = 1, else a
 *   full-jitter delay uniform in [0, min(max_delay_ms, base_delay_ms · 2^(n-2))].
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { HOUR_MS } from './clock.js';

export interface BackoffOptions {
  /** Ceiling of the delay after the second failure; doubles with each further one. @default 1_000 */
  readonly base_delay_ms?: number;
  /** Largest delay between two attempts. @default HOUR_MS (1 hour) */
  readonly max_delay_ms?: number;
}

/** The defaults of `BackoffOptions`. */
export const BACKOFF_DEFAULTS: Required<BackoffOptions> = Object.freeze({ base_delay_ms: 1_000, max_delay_ms: HOUR_MS });

/**
 * Delay before the next attempt after `failures` failed attempts (≥ 1): 0 after the first
 * (M-WHEP "retried immediately"), then full jitter: uniform [0, min(max, base · 2^(failures-2))].
 */
export function backoffDelayMs(failures: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  if (failures <= 1) return 0;
  const base = options.base_delay_ms ?? BACKOFF_DEFAULTS.base_delay_ms;
  const max = options.max_delay_ms ?? BACKOFF_DEFAULTS.max_delay_ms;
  const ceiling = Math.min(max, base * 2 ** Math.min(failures - 2, 52));
  return Math.floor(random() * ceiling);
}


/**
 * One webhook POST: resolves to the receiver's HTTP status (body drained); rejects on network
 * errors, when `deadlineMs` passes before the answer's last byte, and when `abort` fires (shutdown).
 */
export type WebhookPoster = (url: string, headers: Record<string, string>, body: string, deadlineMs: number, abort: AbortSignal) => Promise<number>;

/**
 * The default poster: node:http(s) on keep-alive agents. Concurrency is bounded by the lanes
 * (`concurrency_per_business` per business), not by the agent; an idle connection is closed
 * after 4 s, before the 5 s keep-alive timeout of a node:http receiver, so a reused connection is
 * rarely one the receiver is closing.
 */
export function nodeHttpPoster(): { post: WebhookPoster; close(): void } {
  const agents = { http: new HttpAgent({ keepAlive: true, timeout: 4_000 }), https: new HttpsAgent({ keepAlive: true, timeout: 4_000 }) };
  const post: WebhookPoster = (url, headers, body, deadlineMs, abort) =>
    new Promise<number>((resolve, reject) => {
      let target: URL;
      try {
        target = new URL(url);
      } catch (error) {
        reject(error);
        return;
      }
      const secure = target.protocol === 'https:';
      if (!secure && target.protocol !== 'http:') {
        reject(new Error(`unsupported callback scheme ${target.protocol}`));
        return;
      }
      const bytes = Buffer.from(body, 'utf8');
      const send = secure ? httpsRequest : httpRequest;
      const request = send(
        target,
        { method: 'POST', agent: secure ? agents.https : agents.http, headers: { ...headers, 'content-length': bytes.length } },
        (response) => {
          response.on('error', fail);
          response.on('end', () => {
            settle();
            resolve(response.statusCode ?? 0);
          });
          response.resume(); // drain: the answer's body is not used
        },
      );
      const deadline = setTimeout(() => request.destroy(new Error(`webhook POST not answered in full within ${deadlineMs} ms`)), deadlineMs);
      const onAbort = (): void => void request.destroy(new Error('webhook POST cut off by shutdown'));
      abort.addEventListener('abort', onAbort, { once: true });
      function settle(): void {
        clearTimeout(deadline);
        abort.removeEventListener('abort', onAbort);
      }
      function fail(error: Error): void {
        settle();
        reject(error);
      }
      request.on('error', fail);
      request.end(bytes);
    });
  return {
    post,
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}

/** A poster over a fetch function (the `fetch` option). */
export function fetchPoster(fetchFn: typeof fetch): WebhookPoster {
  return async (url, headers, body, deadlineMs, abort) => {
    // The signal covers the answer's body too: a total deadline.
    const response = await fetchFn(url, { method: 'POST', headers, body, signal: AbortSignal.any([AbortSignal.timeout(deadlineMs), abort]) });
    await response.arrayBuffer().catch(() => undefined);
    return response.status;
  };
}

/** A callback URL as logged: origin and path only (its query string may carry a secret). */
export function loggableUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(unparsable callback URL)';
  }
}
