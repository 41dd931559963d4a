/**
 * The Cloud API's sending limits, checked in the contract's order (transport-api.md §2,
 * cloud-api.md §3 and §7) and committed only when every one of them passed:
 *
 *   throughput per phone number, inbound and outbound (130429)
 *   → pair rate, business → user (131056)
 *   → 24-hour customer service window, free-form only (131047)
 *   → messaging-limit tier: unique users outside a service window per rolling 24 h (131049)
 *
 * This class keeps buckets and the tier's unique-user window in this process, on the server clock
 * (`--limits process`; send-gate.ts `ProcessSendGate`); with `--limits shared` the same rules run
 * on rows in PostgreSQL (shared-send-gate.ts). The service window comes from the store's
 * conversation record (`last_inbound_ms`), passed in. The spam guard (131048) comes after these,
 * in spam-guard.ts.
 */
import { refusalError } from './send-refusal.js';
import { TokenBucket } from './token-bucket.js';
import { dropOlderThan, touch } from './rolling-window.js';
import { definedOptions } from '../defined-options.js';

export type MessagingLimitTier = 'TIER_50' | 'TIER_250' | 'TIER_2K' | 'TIER_10K' | 'TIER_100K' | 'TIER_UNLIMITED';

/** cloud-api.md §3 "Messaging limits" (current tiers, plus TIER_50 seen in M-PNQ). */
export const tierUniqueUsers: Readonly<Record<MessagingLimitTier, number>> = {
  TIER_50: 50,
  TIER_250: 250,
  TIER_2K: 2_000,
  TIER_10K: 10_000,
  TIER_100K: 100_000,
  TIER_UNLIMITED: Number.POSITIVE_INFINITY,
};

export function isMessagingLimitTier(value: unknown): value is MessagingLimitTier {
  return typeof value === 'string' && Object.hasOwn(tierUniqueUsers, value);
}

export interface SendLimitsOptions {
  /** Pair rate: one message per this many ms (default 6000, cloud-api.md §3). */
  readonly pairIntervalMs?: number;
  /** Pair rate burst (default 45). */
  readonly pairBurst?: number;
  /** Customer service window (default 24 h). */
  readonly serviceWindowMs?: number;
  /** Messaging-limit rolling window (default 24 h). */
  readonly tierWindowMs?: number;
}

const dayMs = 24 * 60 * 60 * 1000;

/** The send limits' defaults (cloud-api.md §3), one object as piscina's kDefaultOptions. */
export const DEFAULT_SEND_LIMITS_OPTIONS: Required<SendLimitsOptions> = {
  /** @default 6000 */
  pairIntervalMs: 6_000,
  /** @default 45 */
  pairBurst: 45,
  /** @default 24 h */
  serviceWindowMs: dayMs,
  /** @default 24 h */
  tierWindowMs: dayMs,
};

/** The customer service window rule (cloud-api.md §3): the user wrote within `serviceWindowMs`. */
export function isInServiceWindow(lastInboundMs: number | null, nowMs: number, serviceWindowMs: number): boolean {
  return lastInboundMs !== null && nowMs - lastInboundMs <= serviceWindowMs;
}

export interface OutboundIntent {
  readonly phoneNumberId: string;
  readonly waId: string;
  /** Template messages may be sent outside the service window (cloud-api.md §3). */
  readonly isTemplate: boolean;
  /** When the user last wrote to this number (store conversation record), null if never. */
  readonly lastInboundMs: number | null;
  /** The number's throughput (mps): 80 by default, 1,000 upgraded. */
  readonly throughputMps: number;
  readonly tier: MessagingLimitTier;
}

/** The facts a check established, handed back to `commitOutbound`. */
export interface OutboundVerdict {
  /** True when the user is outside the service window (the send counts toward the tier). */
  readonly businessInitiated: boolean;
}

interface NumberState {
  throughput: TokenBucket;
  throughputMps: number;
  /** wa_id → last business-initiated send (outside a window) to this user: the tier's unique users. */
  readonly tierContacts: Map<string, number>;
  readonly pairs: Map<string, TokenBucket>;
}

export class SendLimits {
  private readonly numbers = new Map<string, NumberState>();
  private readonly pairIntervalMs: number;
  private readonly pairBurst: number;
  private readonly serviceWindowMs: number;
  private readonly tierWindowMs: number;

  constructor(options: SendLimitsOptions = {}) {
    const settings = { ...DEFAULT_SEND_LIMITS_OPTIONS, ...definedOptions(options) };
    this.pairIntervalMs = settings.pairIntervalMs;
    this.pairBurst = settings.pairBurst;
    this.serviceWindowMs = settings.serviceWindowMs;
    this.tierWindowMs = settings.tierWindowMs;
  }

  private number(phoneNumberId: string, throughputMps: number, nowMs: number): NumberState {
    let state = this.numbers.get(phoneNumberId);
    if (state === undefined) {
      state = {
        throughput: new TokenBucket({ capacity: throughputMps, refillPerMs: throughputMps / 1000 }, nowMs),
        throughputMps,
        tierContacts: new Map(),
        pairs: new Map(),
      };
      this.numbers.set(phoneNumberId, state);
    } else if (state.throughputMps !== throughputMps) {
      state.throughput = new TokenBucket({ capacity: throughputMps, refillPerMs: throughputMps / 1000 }, nowMs);
      state.throughputMps = throughputMps;
    }
    return state;
  }

  /** Inbound message from a user: throughput only (130429). Throws, changes nothing on refusal. */
  checkInbound(phoneNumberId: string, throughputMps: number, nowMs: number): void {
    const state = this.number(phoneNumberId, throughputMps, nowMs);
    if (!state.throughput.canTake(nowMs)) {
      throw refusalError('throughput');
    }
  }

  /** Commit an inbound message that passed `checkInbound`: uses a throughput token. Returns the undo. */
  commitInbound(phoneNumberId: string, throughputMps: number, nowMs: number): () => void {
    const throughput = this.number(phoneNumberId, throughputMps, nowMs).throughput;
    throughput.take(nowMs);
    return () => throughput.giveBack();
  }

  /** True when the user wrote to the number within the service window (24 h, cloud-api.md §3). */
  inServiceWindow(lastInboundMs: number | null, nowMs: number): boolean {
    return isInServiceWindow(lastInboundMs, nowMs, this.serviceWindowMs);
  }

  /** Check every outbound limit in order; throws the first refusal, changes nothing. */
  checkOutbound(intent: OutboundIntent, nowMs: number): OutboundVerdict {
    const state = this.number(intent.phoneNumberId, intent.throughputMps, nowMs);
    if (!state.throughput.canTake(nowMs)) {
      throw refusalError('throughput');
    }
    const pair = state.pairs.get(intent.waId);
    if (pair !== undefined && !pair.canTake(nowMs)) {
      throw refusalError('pair-rate');
    }
    const businessInitiated = !this.inServiceWindow(intent.lastInboundMs, nowMs);
    if (businessInitiated && !intent.isTemplate) {
      throw refusalError('re-engagement');
    }
    if (businessInitiated) {
      const limit = tierUniqueUsers[intent.tier];
      const last = state.tierContacts.get(intent.waId);
      const alreadyCounted = last !== undefined && nowMs - last <= this.tierWindowMs;
      if (!alreadyCounted && this.tierCount(state, nowMs) >= limit) {
        throw refusalError('messaging-limit', intent.tier, limit);
      }
    }
    return { businessInitiated };
  }

  /** Commit a send that passed `checkOutbound`. Returns the undo for a send refused later in its path. */
  commitOutbound(intent: OutboundIntent, verdict: OutboundVerdict, nowMs: number): () => void {
    const state = this.number(intent.phoneNumberId, intent.throughputMps, nowMs);
    const throughput = state.throughput;
    throughput.take(nowMs);
    let pair = state.pairs.get(intent.waId);
    if (pair === undefined) {
      pair = new TokenBucket({ capacity: this.pairBurst, refillPerMs: 1 / this.pairIntervalMs }, nowMs);
      state.pairs.set(intent.waId, pair);
    }
    const pairBucket = pair;
    pairBucket.take(nowMs);
    const newTierContact = verdict.businessInitiated && !state.tierContacts.has(intent.waId);
    if (verdict.businessInitiated) touch(state.tierContacts, intent.waId, nowMs);
    return () => {
      throughput.giveBack();
      pairBucket.giveBack();
      // A user already counted stays counted (from the later time: only ever longer, never a miss).
      if (newTierContact) state.tierContacts.delete(intent.waId);
    };
  }

  /** Unique users outside a service window in the rolling window (prunes expired entries, O(expired)). */
  private tierCount(state: NumberState, nowMs: number): number {
    dropOlderThan(state.tierContacts, nowMs - this.tierWindowMs);
    return state.tierContacts.size;
  }

  tierUsage(phoneNumberId: string, nowMs: number): number {
    const state = this.numbers.get(phoneNumberId);
    return state === undefined ? 0 : this.tierCount(state, nowMs);
  }

  /**
   * Forget everything older than `horizonMs` (called by the retention sweep, so no user
   * identifier outlives the store's own retention in this process either).
   */
  forgetBefore(horizonMs: number, nowMs: number): void {
    for (const state of this.numbers.values()) {
      dropOlderThan(state.tierContacts, horizonMs);
      for (const [waId, bucket] of state.pairs) if (bucket.isFull(nowMs)) state.pairs.delete(waId);
    }
  }
}
