/**
 * Health face: what a load balancer or an orchestrator asks a server process before sending it
 * work. No token (probes carry none) and nothing secret in the answers.
 *
 * - `GET /healthz` (liveness): the process answers HTTP at all. 200 `{"status":"ok"}`.
 * - `GET /readyz` (readiness): the process takes new work. 200 `{"status":"ready"}`, or 503
 *   `{"status":"draining"}` once shutdown began (SIGTERM), so HAProxy and a Kubernetes Service
 *   stop routing to it while in-flight requests finish.
 *
 * Readiness does not ask the database: every process shares one PostgreSQL, so a database outage
 * would take every process out of the balancer at once and turn errors the client can read
 * (500 with a Graph error) into refused connections; the store's own errors report it.
 */
import type { ServerResponse } from 'node:http';
import { sendJsonText } from './http-exchange.js';
import type { ServerContext } from './server-context.js';

/** The probe paths, as the router matches them (deploy/ manifests and haproxy.cfg use these). */
export const HEALTH_PATHS = { liveness: '/healthz', readiness: '/readyz' } as const;

/** `GET /healthz` */
export function liveness(response: ServerResponse): void {
  sendJsonText(response, 200, '{"status":"ok"}');
}

/** `GET /readyz` */
export function readiness(context: ServerContext, response: ServerResponse): void {
  if (context.closing.aborted) sendJsonText(response, 503, '{"status":"draining"}');
  else sendJsonText(response, 200, '{"status":"ready"}');
}
