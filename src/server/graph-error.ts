/**
 * The Graph API error envelope (cloud-api.md §1 "Error response envelope", §4 "Error codes").
 *
 * Every refusal of every face is a `GraphError`: a closed set of kinds, each with its Cloud API
 * code, title and default HTTP status. Throttling statuses are configurable (cloud-api.md §4
 * caveat: practitioners see 131056 with 400 as well as 429).
 */
import { randomBytes } from 'node:crypto';
import { KindedError } from '../kinded-error.js';

export type GraphErrorKind =
  | 'auth' // 190: missing, unknown or revoked token
  | 'permission' // 10: a valid token that does not reach this object
  | 'invalid-parameter' // 100: malformed JSON, unknown fields, bad path
  | 'not-found' // 100 with 404: no such route
  | 'payload-too-large' // 100 with 413: body over the limit
  | 'required-parameter' // 131008
  | 'parameter-value' // 131009 (also: undecryptable Signal input)
  | 'unsupported-type' // 131051
  | 'throughput' // 130429
  | 'pair-rate' // 131056
  | 're-engagement' // 131047
  | 'spam-rate' // 131048
  | 'messaging-limit' // 131049 (no documented sync code; see docs/server.md)
  | 'undeliverable' // 131026 (async, in `failed` statuses)
  | 'too-many-calls' // 4: a per-device or per-source call limit (long-polls)
  | 'registration-rate' // 133016 with 429: registrations per source address or registration token
  | 'service-unavailable' // 2: the store is unavailable or a bounded queue is full; retry later
  | 'internal'; // 131000: a fault of ours, never an answer to bad input

interface KindFacts {
  readonly code: number;
  readonly title: string;
  readonly httpStatus: number;
}

/** cloud-api.md §4, HTTP column. */
export const graphErrorFacts: Readonly<Record<GraphErrorKind, KindFacts>> = {
  auth: { code: 190, title: 'Access token has expired', httpStatus: 401 },
  permission: { code: 10, title: 'Permission Denied', httpStatus: 403 },
  'invalid-parameter': { code: 100, title: 'Invalid parameter', httpStatus: 400 },
  'not-found': { code: 100, title: 'Unsupported request', httpStatus: 404 },
  'payload-too-large': { code: 100, title: 'Request body too large', httpStatus: 413 },
  'required-parameter': { code: 131008, title: 'Required parameter is missing', httpStatus: 400 },
  'parameter-value': { code: 131009, title: 'Parameter value is not valid', httpStatus: 400 },
  'unsupported-type': { code: 131051, title: 'Unsupported message type', httpStatus: 400 },
  throughput: { code: 130429, title: 'Rate limit hit', httpStatus: 429 },
  'pair-rate': { code: 131056, title: '(Business Account, Consumer Account) pair rate limit hit', httpStatus: 429 },
  're-engagement': { code: 131047, title: 'Re-engagement message', httpStatus: 400 },
  'spam-rate': { code: 131048, title: 'Spam rate limit hit', httpStatus: 429 },
  'messaging-limit': { code: 131049, title: 'Meta chose not to deliver', httpStatus: 400 },
  undeliverable: { code: 131026, title: 'Message undeliverable', httpStatus: 400 },
  'too-many-calls': { code: 4, title: 'API Too Many Calls', httpStatus: 429 },
  'registration-rate': { code: 133016, title: 'Account register/deregister rate limit exceeded', httpStatus: 429 },
  'service-unavailable': { code: 2, title: 'API Service', httpStatus: 503 },
  internal: { code: 131000, title: 'Something went wrong', httpStatus: 500 },
};

/** The throttling kinds whose HTTP status a server setting may override. */
export type ThrottleKind = 'throughput' | 'pair-rate' | 'spam-rate';

export class GraphError extends KindedError<GraphErrorKind> {
  readonly details: string;
  constructor(kind: GraphErrorKind, details: string) {
    super(kind, `(#${graphErrorFacts[kind].code}) ${graphErrorFacts[kind].title}: ${details}`);
    this.details = details;
  }
  get code(): number {
    return graphErrorFacts[this.kind].code;
  }
}

/** A Graph-style trace id: short, random, base64url (cloud-api.md §1, `fbtrace_id`). */
export function fbtraceId(): string {
  return randomBytes(12).toString('base64url');
}

/** The synchronous envelope, as sent in an HTTP answer. */
export function graphErrorBody(error: GraphError): string {
  const facts = graphErrorFacts[error.kind];
  return JSON.stringify({
    error: {
      message: `(#${facts.code}) ${facts.title}`,
      type: 'OAuthException',
      code: facts.code,
      error_data: { messaging_product: 'whatsapp', details: error.details },
      fbtrace_id: fbtraceId(),
    },
  });
}

/** The webhook form of an error: `{code,title,message,error_data:{details}}` (cloud-api.md §1). */
export function webhookErrorObject(kind: GraphErrorKind, details: string): { code: number; title: string; message: string; error_data: { details: string } } {
  const facts = graphErrorFacts[kind];
  return { code: facts.code, title: facts.title, message: facts.title, error_data: { details } };
}
