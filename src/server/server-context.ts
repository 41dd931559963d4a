/**
 * What every face handler works with: the store, the clock, the Signal and at-rest machinery,
 * the limits, and the server settings. Built once by `startReferenceServer`.
 */
import type { CryptoBackend } from '../crypto/backend.js';
import type { Store } from '../store/store.js';
import type { AtRest } from './at-rest.js';
import type { BusinessDirectory } from './business-directory.js';
import type { BusinessKeys } from './business-keys.js';
import type { TimerClock } from './clock.js';
import type { DeviceDirectory } from './device-directory.js';
import type { HttpStatusOverrides } from './http-exchange.js';
import type { InboxWaiters } from './inbox-waiters.js';
import type { RegistrationLimits } from './registration-limits.js';
import type { ResourceLimits } from './resource-limits.js';
import type { RetentionSchedule } from './retention.js';
import type { SendGate } from './send-gate.js';
import type { ServerMetrics } from './server-metrics.js';
import type { SignalSessions } from './signal-sessions.js';
import type { SharedClock } from './shared-clock.js';
import type { WebhookDispatcher } from './webhook-dispatcher.js';

export interface ServerContext {
  readonly store: Store;
  readonly clock: TimerClock;
  readonly backend: CryptoBackend;
  readonly atRest: AtRest;
  readonly businesses: BusinessDirectory;
  readonly devices: DeviceDirectory;
  readonly businessKeys: BusinessKeys;
  readonly sessions: SignalSessions;
  /** The send limits and the spam guard, in-process or shared through the database (send-gate.ts). */
  readonly sendGate: SendGate;
  /** The virtual clock shared through the database, when the server runs on one with shared limits. */
  readonly sharedClock: SharedClock | undefined;
  readonly webhooks: WebhookDispatcher;
  readonly retention: RetentionSchedule;
  readonly waiters: InboxWaiters;
  readonly registrationLimits: RegistrationLimits;
  readonly resourceLimits: ResourceLimits;
  readonly metrics: ServerMetrics;
  readonly adminToken: string;
  readonly registrationToken: string;
  readonly statusOverrides: HttpStatusOverrides;
  /** Longest `wait_ms` a long-poll may ask for (transport-api.md: 0..30000). */
  readonly longPollMaxMs: number;
  /** Whether business creation performs the hub.challenge GET (default true). */
  readonly verifyCallbacks: boolean;
  /** Registered users, cached briefly (the spam guard's "share of all users"). */
  registeredUsers(): Promise<number>;
  /** Drops the cached count (after a registration). */
  registeredUsersChanged(): void;
  /** Drops limit-state user identifiers older than the user retention (after a sweep). */
  forgetUserStateBefore(): Promise<void>;
  /** Aborted when the server closes (ends long-polls). */
  readonly closing: AbortSignal;
}
