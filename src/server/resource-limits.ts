/**
 * Per-device and per-process resource bounds of the reference server (docs/server.md "Resource
 * bounds"): what one device or one client can make the server hold, so that no single client
 * can exhaust memory or descriptors for everybody else.
 */
export interface ResourceLimits {
  /**
   * One-time prekeys stored per device. Signal's servers take at most 100 per upload and keep a
   * bounded total; an upload that would pass this total is refused whole (131009).
   */
  readonly oneTimePreKeysPerDevice: number;
  /** Long-polls (`GET /transport/v1/inbox?wait_ms`) waiting at once per device; more get 429 (code 4). */
  readonly longPollsPerDevice: number;
  /** Open client connections in total; one more gets a 503 (code 2) and is closed. */
  readonly connections: number;
  /** Bytes of ciphertext one inbox page carries at most (at least one entry always). */
  readonly inboxPageBytes: number;
  /**
   * On `close()` (SIGTERM): how long in-flight requests and webhook deliveries may still run
   * before they are cut off. An interrupted delivery stays queued and is retried.
   */
  readonly shutdownGraceMs: number;
}

export const defaultResourceLimits: ResourceLimits = {
  oneTimePreKeysPerDevice: 1_000,
  longPollsPerDevice: 4,
  connections: 4_096,
  inboxPageBytes: 1024 * 1024,
  shutdownGraceMs: 5_000,
};

export function resourceLimits(options: Partial<ResourceLimits> = {}): ResourceLimits {
  const limits = { ...defaultResourceLimits, ...options };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`resource limit ${name} must be an integer ≥ 1`);
  }
  return limits;
}
