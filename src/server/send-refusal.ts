/**
 * The Graph error of each way the send limits and the spam guard refuse a send (cloud-api.md §3,
 * §4), one place for the in-process checks (send-limits.ts, spam-guard.ts) and the shared ones
 * (shared-send-gate.ts), so a refusal reads the same whichever checked it.
 */
import type { SendRefusal } from '../store/store.js';
import { GraphError } from './graph-error.js';

const unusualPattern = 'sending is restricted: unusual messaging pattern (business-initiated messages to too many users who never wrote to it)';

/** The error for `refusal`; `tier` and `tierLimit` name the tier in 131049. */
export function refusalError(refusal: SendRefusal, tier = '', tierLimit = 0): GraphError {
  switch (refusal) {
    case 'throughput':
      return new GraphError('throughput', 'Message failed to send because there were too many messages sent from this phone number in a short period of time');
    case 'pair-rate':
      return new GraphError('pair-rate', 'Too many messages sent from this phone number to the same phone number in a short period of time');
    case 're-engagement':
      return new GraphError('re-engagement', 'Message failed to send because more than 24 hours have passed since the customer last replied to this number');
    case 'messaging-limit':
      return new GraphError('messaging-limit', `messaging limit ${tier} reached: ${tierLimit} unique users outside a service window in the last 24 hours`);
    case 'reported':
      return new GraphError('spam-rate', 'this user reported the business; messages to the user are stopped');
    case 'spam-stopped':
    case 'spam-cold':
      return new GraphError('spam-rate', unusualPattern);
    case 'spam-quality':
      return new GraphError('spam-rate', 'sending is restricted: quality rating RED from user spam reports');
  }
}
