/**
 * Rate limits on device registration (`POST /transport/v1/devices`), per source address and per
 * registration token: the registration token models phone verification, and without a limit
 * one holder of it (or one address) could register a Sybil of fresh devices in a second
 * (docs/server.md "Registration limits"). Refusals are 429 with 133016 (cloud-api.md §4:
 * "Account register/deregister rate limit exceeded").
 *
 * Token buckets on wall time (performance.now), not the server clock: the limit is about the
 * rate requests arrive, and a virtual clock that never moves would never refill them. Buckets
 * are in-process and bounded: at most `maxTrackedSources` source addresses are kept (the
 * oldest dropped), and a bucket that is full again is forgotten.
 */
import { performance } from 'node:perf_hooks';
import { GraphError } from './graph-error.js';
import { TokenBucket } from './token-bucket.js';

export interface RegistrationLimitsOptions {
  /** Registrations one source address may make at once. */
  readonly sourceBurst?: number;
  /** Registrations per minute per source address, sustained. */
  readonly sourcePerMinute?: number;
  /** Registrations one registration token may make at once. */
  readonly tokenBurst?: number;
  /** Registrations per minute per registration token, sustained. */
  readonly tokenPerMinute?: number;
}

/**
 * Defaults: a source address registers 20 devices at once and 60 a minute after that; the
 * registration token (all devices share it) 200 at once and 600 a minute. The load scenarios'
 * server child and the bench suites, which register thousands of devices from loopback, raise
 * them explicitly (`npm start -- --registration-burst`, bench/load/server-child.ts).
 */
export const defaultRegistrationLimits: Required<RegistrationLimitsOptions> = {
  sourceBurst: 20,
  sourcePerMinute: 60,
  tokenBurst: 200,
  tokenPerMinute: 600,
};

/**
 * For load generators and test suites that register thousands of devices from loopback with the
 * one registration token (bench/load/server-child.ts, bench/pg/suite.ts, test/server/): bursts
 * no run reaches, set explicitly where the server is started.
 */
export const loadGeneratorRegistrationLimits: RegistrationLimitsOptions = { sourceBurst: 1_000_000, tokenBurst: 1_000_000 };

const maxTrackedSources = 10_000;

export class RegistrationLimits {
  readonly #settings: Required<RegistrationLimitsOptions>;
  readonly #sources = new Map<string, TokenBucket>();
  #token: TokenBucket | undefined;

  constructor(options: RegistrationLimitsOptions = {}) {
    this.#settings = { ...defaultRegistrationLimits, ...options };
    for (const [name, value] of Object.entries(this.#settings)) {
      if (!Number.isFinite(value) || value <= 0) throw new RangeError(`registration limit ${name} must be a positive number`);
    }
  }

  #bucket(burst: number, perMinute: number, nowMs: number): TokenBucket {
    return new TokenBucket({ capacity: burst, refillPerMs: perMinute / 60_000 }, nowMs);
  }

  /**
   * Takes one registration from the source's and the token's budgets, or throws 133016 and
   * takes nothing. Called after the token was checked, before the body is read.
   */
  take(sourceAddress: string): void {
    const nowMs = performance.now();
    const s = this.#settings;
    this.#token ??= this.#bucket(s.tokenBurst, s.tokenPerMinute, nowMs);
    let source = this.#sources.get(sourceAddress);
    if (source === undefined) source = this.#bucket(s.sourceBurst, s.sourcePerMinute, nowMs);
    if (!source.canTake(nowMs)) throw new GraphError('registration-rate', `too many registrations from ${sourceAddress}; retry later`);
    if (!this.#token.canTake(nowMs)) throw new GraphError('registration-rate', 'too many registrations with this registration token; retry later');
    source.take(nowMs);
    this.#token.take(nowMs);
    this.#sources.delete(sourceAddress);
    this.#sources.set(sourceAddress, source);
    // Most recently used last: drop the least recently used beyond the bound.
    while (this.#sources.size > maxTrackedSources) this.#sources.delete(this.#sources.keys().next().value!);
  }

  /** Gives one registration back (the registration was refused after `take`: nothing stored). */
  giveBack(sourceAddress: string): void {
    this.#sources.get(sourceAddress)?.giveBack();
    this.#token?.giveBack();
  }
}
