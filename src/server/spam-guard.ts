/**
 * The spam guard: WhatsApp's "unusual messaging patterns (like a business trying to message all
 * users)" detector and user spam reports (seeds/, cloud-api.md §3 "Spam and quality controls").
 * Both end in 131048 "Spam rate limit hit".
 *
 * Rules (docs/server.md "Spam guard" explains them and how a legitimate business is treated):
 *
 * 1. Cold-contact rule (unusual pattern). A *cold contact* is a business-initiated message to a
 *    user who has never written to that business. A business whose distinct cold contacts in the
 *    rolling `windowMs` reach max(`minColdUsers`, `shareOfUsers` × registered users) is stopped
 *    for `penaltyMs` after the contact that reached the threshold. Replies inside a service
 *    window and templates to users who have written before are never cold, so a business that
 *    messages its own customers is never counted, however many it has.
 * 2. Quality rating from spam reports. Per business, over the rolling `qualityWindowMs`:
 *    ratio = distinct reporting users ÷ max(distinct users reached, `minAudience`), where a user
 *    is *reached* when a message of the business entered one of the user's inboxes or the user
 *    sent a receipt for one. Only reports from reached users count (as WhatsApp counts reports
 *    from the users a business messaged): a report from a user the business never reached is
 *    accepted and stops its messages to that user, but is ignored for the rating, so a Sybil of
 *    fresh devices cannot turn a business RED.
 *    GREEN below `yellowRatio`, YELLOW from it, RED from `redRatio`; RED stops every send.
 *    A user who reported a business gets nothing more from it (131048 for that pair).
 *
 * This class keeps the state in this process (`--limits process`, send-gate.ts); with
 * `--limits shared` the same rules run on rows in PostgreSQL (shared-send-gate.ts, region
 * migration 4). `forgetBefore` drops user identifiers when the retention sweep runs.
 */
import { refusalError } from './send-refusal.js';
import { dropOlderThan, touch } from './rolling-window.js';
import { definedOptions } from '../defined-options.js';

export type QualityRating = 'GREEN' | 'YELLOW' | 'RED';

export interface SpamGuardOptions {
  /** Rolling window for cold contacts (default 24 h). */
  readonly windowMs?: number;
  /** Share of all registered users that counts as "messaging everyone" (default 0.5). */
  readonly shareOfUsers?: number;
  /** Never stop a business under this many cold contacts in the window (default 100). */
  readonly minColdUsers?: number;
  /** How long a business stays stopped after tripping the cold-contact rule (default 24 h). */
  readonly penaltyMs?: number;
  /** Rolling window for the quality rating (default 7 days). */
  readonly qualityWindowMs?: number;
  /** Smallest denominator for the report ratio (default 50), so 1 report in 3 users is not RED. */
  readonly minAudience?: number;
  /** Report ratio for YELLOW (default 0.02). */
  readonly yellowRatio?: number;
  /** Report ratio for RED (default 0.05). */
  readonly redRatio?: number;
}

const hourMs = 60 * 60 * 1000;

/** The spam guard's defaults (docs/server.md, "Spam guard"), one object as piscina's kDefaultOptions. */
export const DEFAULT_SPAM_GUARD_OPTIONS: Required<SpamGuardOptions> = {
  /** @default 24 h */
  windowMs: 24 * hourMs,
  /** @default 0.5 */
  shareOfUsers: 0.5,
  /** @default 100 */
  minColdUsers: 100,
  /** @default 24 h */
  penaltyMs: 24 * hourMs,
  /** @default 7 days */
  qualityWindowMs: 7 * 24 * hourMs,
  /** @default 50 */
  minAudience: 50,
  /** @default 0.02 */
  yellowRatio: 0.02,
  /** @default 0.05 */
  redRatio: 0.05,
};

interface BusinessSpamState {
  /** wa_id → first cold contact time in the current window. */
  readonly coldContacts: Map<string, number>;
  stoppedUntilMs: number;
  /** wa_id → time of the user's (latest) report. */
  readonly reports: Map<string, number>;
  /** wa_id → last time a message of the business reached the user (inbox entry or receipt). */
  readonly delivered: Map<string, number>;
}

/** Cold contacts in the window that stop a business: max(`minColdUsers`, `shareOfUsers` × registered users). */
export function coldContactThreshold(settings: Pick<Required<SpamGuardOptions>, 'minColdUsers' | 'shareOfUsers'>, registeredUsers: number): number {
  return Math.max(settings.minColdUsers, Math.ceil(settings.shareOfUsers * registeredUsers));
}

export class SpamGuard {
  private readonly businesses = new Map<string, BusinessSpamState>();
  readonly windowMs: number;
  readonly shareOfUsers: number;
  readonly minColdUsers: number;
  readonly penaltyMs: number;
  readonly qualityWindowMs: number;
  readonly minAudience: number;
  readonly yellowRatio: number;
  readonly redRatio: number;

  constructor(options: SpamGuardOptions = {}) {
    const settings = { ...DEFAULT_SPAM_GUARD_OPTIONS, ...definedOptions(options) };
    this.windowMs = settings.windowMs;
    this.shareOfUsers = settings.shareOfUsers;
    this.minColdUsers = settings.minColdUsers;
    this.penaltyMs = settings.penaltyMs;
    this.qualityWindowMs = settings.qualityWindowMs;
    this.minAudience = settings.minAudience;
    this.yellowRatio = settings.yellowRatio;
    this.redRatio = settings.redRatio;
  }

  private state(phoneNumberId: string): BusinessSpamState {
    let state = this.businesses.get(phoneNumberId);
    if (state === undefined) {
      state = { coldContacts: new Map(), stoppedUntilMs: 0, reports: new Map(), delivered: new Map() };
      this.businesses.set(phoneNumberId, state);
    }
    return state;
  }

  /** Drops expired entries. Each map is kept in time order (see `touch`), so this costs O(expired). */
  private prune(state: BusinessSpamState, nowMs: number): void {
    dropOlderThan(state.coldContacts, nowMs - this.windowMs);
    dropOlderThan(state.reports, nowMs - this.qualityWindowMs);
    dropOlderThan(state.delivered, nowMs - this.qualityWindowMs);
  }

  qualityRating(phoneNumberId: string, nowMs: number): QualityRating {
    const state = this.businesses.get(phoneNumberId);
    if (state === undefined) return 'GREEN';
    this.prune(state, nowMs);
    const ratio = state.reports.size / Math.max(state.delivered.size, this.minAudience);
    if (ratio >= this.redRatio) return 'RED';
    if (ratio >= this.yellowRatio) return 'YELLOW';
    return 'GREEN';
  }

  coldThreshold(registeredUsers: number): number {
    return coldContactThreshold(this, registeredUsers);
  }

  /**
   * Check a send; throws 131048 and changes nothing when refused. `cold` says whether the send
   * is a business-initiated message to a user who never wrote to the business.
   */
  checkOutbound(phoneNumberId: string, waId: string, cold: boolean, registeredUsers: number, nowMs: number): void {
    const state = this.businesses.get(phoneNumberId);
    if (state === undefined) return;
    if (state.reports.has(waId)) throw refusalError('reported');
    if (nowMs < state.stoppedUntilMs) throw refusalError('spam-stopped');
    if (this.qualityRating(phoneNumberId, nowMs) === 'RED') throw refusalError('spam-quality');
    if (cold && !state.coldContacts.has(waId) && state.coldContacts.size >= this.coldThreshold(registeredUsers)) throw refusalError('spam-cold');
  }

  /**
   * Commit a send that passed the checks: records a cold contact, and stops the business when it
   * reached the threshold. Returns the undo for a send refused later in its path.
   */
  commitOutbound(phoneNumberId: string, waId: string, cold: boolean, registeredUsers: number, nowMs: number): () => void {
    if (!cold) return () => {};
    const state = this.state(phoneNumberId);
    this.prune(state, nowMs);
    const added = !state.coldContacts.has(waId);
    const stoppedUntilMs = state.stoppedUntilMs;
    if (added) state.coldContacts.set(waId, nowMs);
    if (state.coldContacts.size >= this.coldThreshold(registeredUsers)) state.stoppedUntilMs = nowMs + this.penaltyMs;
    return () => {
      if (added) state.coldContacts.delete(waId);
      state.stoppedUntilMs = stoppedUntilMs;
    };
  }

  /** A message of the business entered one of the user's inboxes. */
  recordReached(phoneNumberId: string, waId: string, nowMs: number): void {
    touch(this.state(phoneNumberId).delivered, waId, nowMs);
  }

  /** The user sent a receipt for a message of the business. */
  recordDelivered(phoneNumberId: string, waId: string, nowMs: number): void {
    this.recordReached(phoneNumberId, waId, nowMs);
  }

  /** Records a spam report; true when it counts (the business reached the user in the window). */
  recordReport(phoneNumberId: string, waId: string, nowMs: number): boolean {
    const state = this.state(phoneNumberId);
    this.prune(state, nowMs);
    if (!state.delivered.has(waId)) return false;
    touch(state.reports, waId, nowMs);
    return true;
  }

  isStopped(phoneNumberId: string, nowMs: number): boolean {
    const state = this.businesses.get(phoneNumberId);
    return state !== undefined && (nowMs < state.stoppedUntilMs || this.qualityRating(phoneNumberId, nowMs) === 'RED');
  }

  /** Drop user identifiers last touched before `horizonMs` (retention sweep). */
  forgetBefore(horizonMs: number): void {
    for (const state of this.businesses.values()) {
      dropOlderThan(state.coldContacts, horizonMs);
      dropOlderThan(state.reports, horizonMs);
      dropOlderThan(state.delivered, horizonMs);
    }
  }
}
