/**
 * A token bucket on the server clock (cloud-api.md §3: throughput per number, pair rate).
 *
 * Split into `available` (pure read) and `take` (commit) so that a request checks every limit
 * first and changes nothing when any one refuses (transport-api.md: nothing that the server
 * rejects changes any state).
 */
export interface TokenBucketOptions {
  /** Most tokens the bucket holds (the burst). */
  readonly capacity: number;
  /** Tokens added per millisecond of server clock. */
  readonly refillPerMs: number;
}

export class TokenBucket {
  private tokens: number;
  private updatedAtMs: number;
  readonly capacity: number;
  readonly refillPerMs: number;

  constructor(options: TokenBucketOptions, nowMs: number) {
    this.capacity = options.capacity;
    this.refillPerMs = options.refillPerMs;
    this.tokens = options.capacity;
    this.updatedAtMs = nowMs;
  }

  /** Tokens available at `nowMs` (fractional), without changing the bucket. */
  available(nowMs: number): number {
    const elapsed = Math.max(0, nowMs - this.updatedAtMs);
    return Math.min(this.capacity, this.tokens + elapsed * this.refillPerMs);
  }

  canTake(nowMs: number, count = 1): boolean {
    return this.available(nowMs) >= count;
  }

  /** Commit: remove `count` tokens (call only after canTake said yes). */
  take(nowMs: number, count = 1): void {
    this.tokens = this.available(nowMs) - count;
    this.updatedAtMs = Math.max(this.updatedAtMs, nowMs);
  }

  /** Undo a `take` whose request was refused later (never above the capacity). */
  giveBack(count = 1): void {
    this.tokens = Math.min(this.capacity, this.tokens + count);
  }

  /** True once the bucket is back to full, so its owner may forget it. */
  isFull(nowMs: number): boolean {
    return this.available(nowMs) >= this.capacity;
  }
}
