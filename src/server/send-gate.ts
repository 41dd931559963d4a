/**
 * The one path by which the faces check and take the send limits and the spam guard
 * (business-face.ts, transport-face.ts). Two implementations with the same rules:
 * - `ProcessSendGate` (here): the in-process classes `SendLimits` and `SpamGuard`, state per
 *   process (`--limits process`; the memory store's only choice);
 * - `SharedSendGate` (shared-send-gate.ts): the state in the database, one set of limits for
 *   every process on it (`--limits shared`, the default with the PostgreSQL store).
 *
 * Each admit call checks in the contract's order and takes only when every check passed (a
 * refusal throws its GraphError and changes nothing); it returns the undo for a request refused
 * later in its path, which gives back exactly what was taken.
 */
import { refusalError } from './send-refusal.js';
import { SendLimits, tierUniqueUsers, type OutboundIntent, type SendLimitsOptions } from './send-limits.js';
import { SpamGuard, type SpamGuardOptions } from './spam-guard.js';

export type LimitScope = 'shared' | 'process';

export interface OutboundAdmission extends OutboundIntent {
  /** The user reported the business (conversation record). */
  readonly reported: boolean;
  /** Registered users (the spam guard's "share of all users"). */
  readonly registeredUsers: number;
}

/** Gives back what an admit took. */
export type Undo = () => Promise<void>;

export interface SendGate {
  readonly scope: LimitScope;
  /** Inbound message from a user: throughput only (130429). */
  admitInbound(phoneNumberId: string, throughputMps: number, nowMs: number): Promise<Undo>;
  /** Business send: throughput → pair rate → service window → tier → reported → spam guard. */
  admitOutbound(admission: OutboundAdmission, nowMs: number): Promise<Undo>;
  /** A message of the business reached the user (inbox entry or receipt). */
  recordReached(phoneNumberId: string, waId: string, nowMs: number): Promise<void>;
  /** Records a spam report; true when it counts toward the quality rating. */
  recordReport(phoneNumberId: string, waId: string, nowMs: number): Promise<boolean>;
  /** Drops user identifiers older than `horizonMs` (after a retention sweep). */
  forgetBefore(horizonMs: number, nowMs: number): Promise<void>;
}

/** The tier's unique-user limit as a count, null when unlimited. */
export function tierLimit(intent: OutboundIntent): number | null {
  const limit = tierUniqueUsers[intent.tier];
  return Number.isFinite(limit) ? limit : null;
}

export class ProcessSendGate implements SendGate {
  readonly scope = 'process';
  readonly limits: SendLimits;
  readonly spamGuard: SpamGuard;

  constructor(limits: SendLimitsOptions = {}, spamGuard: SpamGuardOptions = {}) {
    this.limits = new SendLimits(limits);
    this.spamGuard = new SpamGuard(spamGuard);
  }

  admitInbound(phoneNumberId: string, throughputMps: number, nowMs: number): Promise<Undo> {
    this.limits.checkInbound(phoneNumberId, throughputMps, nowMs);
    const undo = this.limits.commitInbound(phoneNumberId, throughputMps, nowMs);
    return Promise.resolve(async () => undo());
  }

  admitOutbound(admission: OutboundAdmission, nowMs: number): Promise<Undo> {
    const verdict = this.limits.checkOutbound(admission, nowMs);
    if (admission.reported) throw refusalError('reported');
    const cold = verdict.businessInitiated && admission.lastInboundMs === null;
    const { phoneNumberId, waId, registeredUsers } = admission;
    this.spamGuard.checkOutbound(phoneNumberId, waId, cold, registeredUsers, nowMs);
    const undoLimits = this.limits.commitOutbound(admission, verdict, nowMs);
    const undoSpamGuard = this.spamGuard.commitOutbound(phoneNumberId, waId, cold, registeredUsers, nowMs);
    return Promise.resolve(async () => {
      undoLimits();
      undoSpamGuard();
    });
  }

  recordReached(phoneNumberId: string, waId: string, nowMs: number): Promise<void> {
    this.spamGuard.recordReached(phoneNumberId, waId, nowMs);
    return Promise.resolve();
  }

  recordReport(phoneNumberId: string, waId: string, nowMs: number): Promise<boolean> {
    return Promise.resolve(this.spamGuard.recordReport(phoneNumberId, waId, nowMs));
  }

  forgetBefore(horizonMs: number, nowMs: number): Promise<void> {
    this.limits.forgetBefore(horizonMs, nowMs);
    this.spamGuard.forgetBefore(horizonMs);
    return Promise.resolve();
  }
}
