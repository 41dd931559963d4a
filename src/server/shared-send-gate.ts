/**
 * The send gate on state shared through the database (send-gate.ts; docs/postgres.md "Several
 * server processes"): every admit is one call of the store's `takeSend`/`takeInbound`, which
 * checks and takes atomically, so several processes on one database enforce one throughput per
 * number, one pair rate, one tier window and one spam guard. The rules' parameters (windows,
 * bursts, thresholds) come from the same option objects as the in-process classes.
 */
import type { SharedLimitStore } from '../store/store.js';
import { refusalError } from './send-refusal.js';
import { DEFAULT_SEND_LIMITS_OPTIONS, isInServiceWindow, type SendLimitsOptions } from './send-limits.js';
import { DEFAULT_SPAM_GUARD_OPTIONS, coldContactThreshold, type SpamGuardOptions } from './spam-guard.js';
import { tierLimit, type OutboundAdmission, type SendGate, type Undo } from './send-gate.js';
import { definedOptions } from '../defined-options.js';

export class SharedSendGate implements SendGate {
  readonly scope = 'shared';
  readonly #store: SharedLimitStore;
  readonly #limits: Required<SendLimitsOptions>;
  readonly #guard: Required<SpamGuardOptions>;

  constructor(store: SharedLimitStore, limits: SendLimitsOptions = {}, spamGuard: SpamGuardOptions = {}) {
    this.#store = store;
    this.#limits = { ...DEFAULT_SEND_LIMITS_OPTIONS, ...definedOptions(limits) };
    this.#guard = { ...DEFAULT_SPAM_GUARD_OPTIONS, ...definedOptions(spamGuard) };
  }

  async admitInbound(phoneNumberId: string, throughputMps: number, nowMs: number): Promise<Undo> {
    if (!(await this.#store.takeInbound(phoneNumberId, throughputMps, nowMs))) throw refusalError('throughput');
    return () => this.#store.giveBackInbound(phoneNumberId, nowMs);
  }

  async admitOutbound(admission: OutboundAdmission, nowMs: number): Promise<Undo> {
    const limits = this.#limits;
    const guard = this.#guard;
    const businessInitiated = !isInServiceWindow(admission.lastInboundMs, nowMs, limits.serviceWindowMs);
    const result = await this.#store.takeSend({
      phone_number_id: admission.phoneNumberId,
      wa_id: admission.waId,
      now_ms: nowMs,
      throughput_mps: admission.throughputMps,
      pair_burst: limits.pairBurst,
      pair_interval_ms: limits.pairIntervalMs,
      business_initiated: businessInitiated,
      is_template: admission.isTemplate,
      tier_limit: tierLimit(admission),
      tier_window_ms: limits.tierWindowMs,
      reported: admission.reported,
      cold: businessInitiated && admission.lastInboundMs === null,
      cold_threshold: coldContactThreshold(guard, admission.registeredUsers),
      cold_window_ms: guard.windowMs,
      penalty_ms: guard.penaltyMs,
      quality_window_ms: guard.qualityWindowMs,
      min_audience: guard.minAudience,
      red_ratio: guard.redRatio,
    });
    if (result.refusal !== null) throw refusalError(result.refusal, admission.tier, tierLimit(admission) ?? 0);
    const { taken } = result;
    return () => this.#store.giveBackSend(taken);
  }

  recordReached(phoneNumberId: string, waId: string, nowMs: number): Promise<void> {
    return this.#store.recordReached(phoneNumberId, waId, nowMs);
  }

  recordReport(phoneNumberId: string, waId: string, nowMs: number): Promise<boolean> {
    return this.#store.recordReport(phoneNumberId, waId, nowMs, this.#guard.qualityWindowMs);
  }

  forgetBefore(horizonMs: number, nowMs: number): Promise<void> {
    return this.#store.forgetLimitsBefore(horizonMs, nowMs);
  }
}
