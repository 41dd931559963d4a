/**
 * The closed set of failures the Signal core reports. Every decoder and every
 * decrypt path raises only `SignalError`, whatever went wrong underneath
 * (libsignal protocol crate: `SignalProtocolError`, narrowed to what a
 * 1:1 session can produce).
 */
import { KindedError } from '../kinded-error.js';
export type SignalErrorKind =
  | 'invalid-message'
  | 'bad-mac'
  | 'duplicate-message'
  | 'too-far-ahead'
  | 'untrusted-identity'
  | 'invalid-signature'
  | 'invalid-key'
  | 'no-session'
  | 'invalid-prekey-id'
  | 'legacy-version'
  // SPQR (the triple ratchet's post-quantum half; ../shared/reference/spqr.md §9–§10)
  | 'spqr-minimum-version'
  | 'spqr-version-mismatch'
  | 'spqr-invalid-message'
  | 'spqr-epoch-out-of-range'
  | 'spqr-key-jump'
  | 'spqr-key-trimmed'
  | 'spqr-key-already-requested'
  | 'spqr-erroneous-data'
  | 'spqr-bad-mac'
  /** A session read from a record written before SPQR: it decrypts but cannot send; start a new session. */
  | 'spqr-session-unusable';

export const SIGNAL_ERROR_KINDS: readonly SignalErrorKind[] = [
  'invalid-message',
  'bad-mac',
  'duplicate-message',
  'too-far-ahead',
  'untrusted-identity',
  'invalid-signature',
  'invalid-key',
  'no-session',
  'invalid-prekey-id',
  'legacy-version',
  'spqr-minimum-version',
  'spqr-version-mismatch',
  'spqr-invalid-message',
  'spqr-epoch-out-of-range',
  'spqr-key-jump',
  'spqr-key-trimmed',
  'spqr-key-already-requested',
  'spqr-erroneous-data',
  'spqr-bad-mac',
  'spqr-session-unusable',
];

export class SignalError extends KindedError<SignalErrorKind> {
  constructor(kind: SignalErrorKind, message?: string) {
    super(kind, message === undefined ? kind : `${kind}: ${message}`);
  }
}

/** Narrow any thrown value to a SignalError, mapping foreign errors to `fallback`. */
export function asSignalError(err: unknown, fallback: SignalErrorKind): SignalError {
  if (err instanceof SignalError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new SignalError(fallback, detail);
}
