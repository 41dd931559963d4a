/**
 * The reference server: the three faces of transport-api.md on node:http, with a router that is
 * a switch on the path's first segments (no framework: per-request overhead is what the
 * business-sends/s anchor measures, docs/server.md).
 *
 *   const server = await startReferenceServer({ store: new MemoryStore(), adminToken, registrationToken });
 *   … server.url …
 *   await server.close();
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { CryptoBackend } from '../crypto/backend.js';
import { getBackend } from '../crypto/index.js';
import { StoreError, offersSharedState, type Region, type Store } from '../store/store.js';
import { AtRest } from './at-rest.js';
import { BusinessDirectory } from './business-directory.js';
import { BusinessKeys, type BusinessKeysOptions } from './business-keys.js';
import { sendMessage } from './business-face.js';
import { SystemClock, VirtualClock, type TimerClock } from './clock.js';
import { DeviceDirectory } from './device-directory.js';
import { GraphError, graphErrorBody, graphErrorFacts, type ThrottleKind } from './graph-error.js';
import { sendGraphError, type HttpStatusOverrides } from './http-exchange.js';
import { HEALTH_PATHS, liveness, readiness } from './health-face.js';
import { InboxWaiters } from './inbox-waiters.js';
import { advanceClock, auditRecords, createBusiness, metrics, readClock, sweepRetention } from './operator-face.js';
import { DEFAULT_USER_RETENTION_MS, RetentionSchedule, type RetentionScheduleOptions } from './retention.js';
import { RegistrationLimits, type RegistrationLimitsOptions } from './registration-limits.js';
import { resourceLimits, type ResourceLimits } from './resource-limits.js';
import { ProcessSendGate, type LimitScope, type SendGate } from './send-gate.js';
import type { SendLimitsOptions } from './send-limits.js';
import type { ServerContext } from './server-context.js';
import { ServerMetrics } from './server-metrics.js';
import { SessionCryptoThread } from './session-crypto-thread.js';
import { SignalSessions } from './signal-sessions.js';
import type { SpamGuardOptions } from './spam-guard.js';
import { SharedClock } from './shared-clock.js';
import { SharedSendGate } from './shared-send-gate.js';
import { businessBundle, readInbox, receiveMessage, receiveReceipts, receiveReport, registerDevice, replenishPreKeys } from './transport-face.js';
import { WebhookDispatcher } from './webhook-dispatcher.js';
import type { WebhookDispatcherOptions } from './webhook-dispatcher-options.js';

export interface ReferenceServerOptions {
  /** The storage (MemoryStore, or the PostgreSQL store). Closed by `close()` only if `closeStore`. */
  readonly store: Store;
  /** Port to listen on (default 0: any free port). */
  readonly port?: number;
  /** Address to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** Server clock (default SystemClock; a VirtualClock enables `POST /admin/v1/clock`). */
  readonly clock?: TimerClock;
  /** Bearer token of the operator face (default: random, see `adminToken` on the result). */
  readonly adminToken?: string;
  /** Bearer token for device registration (default: random). */
  readonly registrationToken?: string;
  /** Crypto backend for Signal and at-rest encryption (default `getBackend('node')`). */
  readonly backend?: CryptoBackend;
  /** Region master keys (32 bytes each); random per start when absent. */
  readonly masterKeys?: Partial<Record<Region, Uint8Array>>;
  /** HTTP status per throttling code (defaults from cloud-api.md §4: 429 for all three). */
  readonly throttleHttpStatus?: Partial<Record<ThrottleKind, number>>;
  readonly limits?: SendLimitsOptions;
  readonly spamGuard?: SpamGuardOptions;
  /**
   * Where the send limits, the spam guard and the virtual clock live: 'shared' through the
   * database, one set for every server process on it (the default with a store that offers it,
   * the PostgreSQL store); 'process' in this process (the memory store's only choice).
   */
  readonly limitScope?: LimitScope;
  readonly businessKeys?: BusinessKeysOptions;
  /** Retention schedule options (interval default 1 h on the server clock); false: manual sweeps only. */
  readonly retention?: RetentionScheduleOptions | false;
  /**
   * Encrypt and seal business sends on established sessions on a second thread
   * (session-crypto-thread.ts). Default: on when this machine has more than one core.
   */
  readonly sessionCryptoThread?: boolean;
  /** Webhook dispatcher tuning (store, atRest, clock and target are supplied). */
  readonly webhooks?: Partial<Omit<WebhookDispatcherOptions, 'store' | 'atRest' | 'clock' | 'resolveTarget'>>;
  /** Perform the hub.challenge GET when a business is created with a callback (default true). */
  readonly verifyCallbacks?: boolean;
  /** Longest long-poll (default 30,000 ms, transport-api.md §1). */
  readonly longPollMaxMs?: number;
  /** Device registrations per source address and per registration token (registration-limits.ts). */
  readonly registrationLimits?: RegistrationLimitsOptions;
  /**
   * Per-device and per-process bounds (resource-limits.ts, `defaultResourceLimits`). `connections`
   * defaults to the smaller of its default and the process's descriptor limit less 64.
   */
  readonly resourceLimits?: Partial<ResourceLimits>;
  /** Close the store in `close()` (default false: the caller owns it). */
  readonly closeStore?: boolean;
}

export interface ReferenceServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly adminToken: string;
  readonly registrationToken: string;
  readonly clock: TimerClock;
  readonly store: Store;
  /** The dispatcher (tests: `deliverDue()`, `idle()`, `metrics`). */
  readonly webhooks: WebhookDispatcher;
  /** The node:http server (in-process drivers emit `request` on it; test/server/measure-send-path.ts). */
  readonly httpServer: Server;
  /** Resolves when background work (webhook passes, prekey refills) has settled (tests). */
  settled(): Promise<void>;
  /**
   * Stops accepting connections, ends long-polls, finishes in-flight requests, stops the
   * dispatcher and the retention schedule, waits for background prekey refills.
   */
  close(): Promise<void>;
}

/** The longest a long-poll (`GET /transport/v1/inbox?wait_ms`) may wait unless `longPollMaxMs` says otherwise. */
export const DEFAULT_LONG_POLL_MAX_MS = 30_000;

const throttleKinds: readonly ThrottleKind[] = ['throughput', 'pair-rate', 'spam-rate'];

/** `/{version}` of the business face: v followed by digits and a dot (v23.0). */
function isGraphVersion(segment: string | undefined): boolean {
  return segment !== undefined && /^v[0-9]{1,3}\.[0-9]{1,3}$/.test(segment);
}

type Face = 'transport' | 'business' | 'operator' | 'unknown';

/** Dispatches one request; resolves when answered. Returns the face for the request counter. */
async function route(context: ServerContext, request: IncomingMessage, response: ServerResponse): Promise<Face> {
  const rawUrl = request.url ?? '/';
  const queryAt = rawUrl.indexOf('?');
  const path = queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt);
  const query = () => new URLSearchParams(queryAt === -1 ? '' : rawUrl.slice(queryAt + 1));
  const parts = path.split('/'); // ['', a, b, …]
  const method = request.method ?? 'GET';
  const [, first, second, third, fourth, fifth] = parts;

  if (isGraphVersion(first) && third === 'messages' && parts.length === 4 && second !== undefined && /^[0-9]{1,20}$/.test(second)) {
    if (method !== 'POST') throw new GraphError('not-found', `${method} is not supported on ${path}`);
    await sendMessage(context, request, response, second);
    return 'business';
  }
  if (first === 'transport' && second === 'v1') {
    if (third === 'messages' && parts.length === 4 && method === 'POST') await receiveMessage(context, request, response);
    else if (third === 'inbox' && parts.length === 4 && method === 'GET') await readInbox(context, request, response, query());
    else if (third === 'receipts' && parts.length === 4 && method === 'POST') await receiveReceipts(context, request, response);
    else if (third === 'reports' && parts.length === 4 && method === 'POST') await receiveReport(context, request, response);
    else if (third === 'devices' && parts.length === 4 && method === 'POST') await registerDevice(context, request, response);
    else if (third === 'devices' && fourth === 'self' && fifth === 'pre_keys' && parts.length === 6 && method === 'PUT') await replenishPreKeys(context, request, response);
    else if (third === 'businesses' && fifth === 'bundle' && parts.length === 6 && method === 'GET' && fourth !== undefined) await businessBundle(context, request, response, fourth);
    else throw new GraphError('not-found', `no transport route ${method} ${path}`);
    return 'transport';
  }
  if (first === 'admin' && second === 'v1') {
    if (third === 'businesses' && parts.length === 4 && method === 'POST') await createBusiness(context, request, response);
    else if (third === 'clock' && parts.length === 4 && method === 'POST') await advanceClock(context, request, response);
    else if (third === 'clock' && parts.length === 4 && method === 'GET') await readClock(context, request, response);
    else if (third === 'retention' && fourth === 'sweep' && parts.length === 5 && method === 'POST') await sweepRetention(context, request, response);
    else if (third === 'audit' && fourth === 'records' && parts.length === 5 && method === 'GET') await auditRecords(context, request, response, query());
    else throw new GraphError('not-found', `no operator route ${method} ${path}`);
    return 'operator';
  }
  if (first === 'metrics' && parts.length === 2 && method === 'GET') {
    await metrics(context, request, response);
    return 'operator';
  }
  if (method === 'GET' && path === HEALTH_PATHS.liveness) {
    liveness(response);
    return 'operator';
  }
  if (method === 'GET' && path === HEALTH_PATHS.readiness) {
    readiness(context, response);
    return 'operator';
  }
  throw new GraphError('not-found', `no route ${method} ${path}`);
}

/** Any failure as the Graph error the client sees. */
function asGraphError(error: unknown): GraphError {
  if (error instanceof GraphError) return error;
  if (error instanceof StoreError) {
    switch (error.kind) {
      case 'queue-full':
        return new GraphError('service-unavailable', 'the webhook queue of this business is full; retry later');
      case 'unavailable':
        return new GraphError('service-unavailable', 'the store is unavailable; retry later');
      case 'invalid':
      case 'exists':
        return new GraphError('parameter-value', error.message);
      case 'conflict':
        return new GraphError('service-unavailable', 'concurrent updates of the same session; retry');
      case 'not-found':
        return new GraphError('invalid-parameter', error.message);
      default:
        break;
    }
  }
  return new GraphError('internal', 'the server failed to handle the request');
}

export async function startReferenceServer(options: ReferenceServerOptions): Promise<ReferenceServer> {
  const store = options.store;
  const clock = options.clock ?? new SystemClock();
  const backend = options.backend ?? getBackend('node');
  const atRest = new AtRest(options.masterKeys !== undefined ? { backend, master_keys: options.masterKeys } : { backend });
  const now = (): number => clock.now();
  const adminToken = options.adminToken ?? randomBytes(24).toString('base64url');
  const registrationToken = options.registrationToken ?? randomBytes(24).toString('base64url');
  const statusOverrides: HttpStatusOverrides = {};
  for (const kind of throttleKinds) {
    const status = options.throttleHttpStatus?.[kind];
    if (status !== undefined) {
      if (!Number.isInteger(status) || status < 400 || status > 599) throw new RangeError(`throttle HTTP status for ${kind} must be 400..599`);
      statusOverrides[kind] = status;
    }
  }

  const businesses = new BusinessDirectory(store, atRest, now);
  const devices = new DeviceDirectory(store, atRest, backend, now);
  const businessKeys = new BusinessKeys(store, atRest, backend, now, options.businessKeys);
  const thread = (options.sessionCryptoThread ?? availableParallelism() > 1) ? new SessionCryptoThread({ backend: backend.name }) : undefined;
  const sessions = new SignalSessions(store, atRest, backend, businessKeys, devices, thread !== undefined ? { thread } : {});
  const sharedState = offersSharedState(store) ? store : undefined;
  const limitScope = options.limitScope ?? (sharedState !== undefined ? 'shared' : 'process');
  if (limitScope === 'shared' && sharedState === undefined) throw new RangeError('shared limits need a store that offers them (the PostgreSQL store); use limitScope "process"');
  const sendGate: SendGate =
    limitScope === 'shared' && sharedState !== undefined ? new SharedSendGate(sharedState, options.limits, options.spamGuard) : new ProcessSendGate(options.limits, options.spamGuard);
  // Before any timer is set (the clock may still move back to the shared time).
  const sharedClock = sendGate.scope === 'shared' && sharedState !== undefined && clock instanceof VirtualClock ? await SharedClock.join(sharedState, clock) : undefined;
  const bounds = resourceLimits({ connections: Math.min(4_096, descriptorLimit() - 64), ...options.resourceLimits });
  const waiters = new InboxWaiters();
  const webhooks = new WebhookDispatcher({
    ...options.webhooks,
    store,
    atRest,
    clock,
    resolveTarget: (record) => businesses.webhookTarget(record),
  });
  const retentionOptions = options.retention === false ? {} : (options.retention ?? {});
  const userRetentionMs = retentionOptions.userRetentionMs ?? DEFAULT_USER_RETENTION_MS;
  const retention = new RetentionSchedule(store, clock, retentionOptions);
  const serverMetrics = new ServerMetrics(store, {
    inboxWaiters: () => waiters.count,
    sweepTotals: () => retention.totals,
    webhookTotals: () => webhooks.metrics,
  });
  const closing = new AbortController();
  let registeredUsersCache: { count: number; atMs: number } | undefined;

  const context: ServerContext = {
    store,
    clock,
    backend,
    atRest,
    businesses,
    devices,
    businessKeys,
    sessions,
    sendGate,
    sharedClock,
    webhooks,
    retention,
    waiters,
    registrationLimits: new RegistrationLimits(options.registrationLimits),
    resourceLimits: bounds,
    metrics: serverMetrics,
    adminToken,
    registrationToken,
    statusOverrides,
    longPollMaxMs: options.longPollMaxMs ?? DEFAULT_LONG_POLL_MAX_MS,
    verifyCallbacks: options.verifyCallbacks ?? true,
    async registeredUsers() {
      const wallMs = Date.now();
      if (registeredUsersCache === undefined || wallMs - registeredUsersCache.atMs > 1_000) {
        registeredUsersCache = { count: (await store.metrics()).contacts, atMs: wallMs };
      }
      return registeredUsersCache.count;
    },
    registeredUsersChanged() {
      registeredUsersCache = undefined;
    },
    forgetUserStateBefore() {
      const nowMs = clock.now();
      return sendGate.forgetBefore(nowMs - userRetentionMs, nowMs);
    },
    closing: closing.signal,
  };

  const inFlight = new Set<Promise<void>>();
  /** Connections refused by the total cap: their requests (if parsed at all) are not handled. */
  const refusedSockets = new WeakSet<Socket>();
  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    if (refusedSockets.has(request.socket)) return;
    const work = (async () => {
      let face: Face = 'unknown';
      try {
        face = await route(context, request, response);
      } catch (error) {
        const graphError = asGraphError(error);
        if (!(error instanceof GraphError) && process.env['SIGLOAD_SERVER_DEBUG'] === '1') console.error(error);
        serverMetrics.errors.inc({ code: String(graphError.code) });
        // A body we refused to keep: discard the rest before answering, so that even a client
        // that reads only after sending everything gets the 413 (closing with unread bytes would
        // reset the connection and lose the answer); past `maxDiscardBytes` the connection drops.
        if (graphError.kind === 'payload-too-large') await discardBody(request);
        sendGraphError(response, graphError, statusOverrides);
      } finally {
        serverMetrics.countRequest(face, response.statusCode);
      }
    })();
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  };

  const server: Server = createServer({ keepAlive: true, requestTimeout: 60_000 }, handle);
  // The total connection cap, with a readable answer for the one refused (server.maxConnections
  // would close it silently). Runs before node:http's own connection listener.
  let connections = 0;
  server.prependListener('connection', (socket: Socket) => {
    if (connections >= bounds.connections) {
      refusedSockets.add(socket);
      const text = graphErrorBody(new GraphError('service-unavailable', `the server holds its maximum of ${bounds.connections} connections; retry later`));
      socket.end(`HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`);
      socket.setTimeout(1_000, () => socket.destroy());
      return;
    }
    connections++;
    socket.once('close', () => connections--);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  }).catch(async (error: unknown) => {
    await sharedClock?.close();
    throw error;
  });
  webhooks.start();
  if (options.retention !== false) retention.start();
  const profiling = await startCpuProfile(process.env['SIGLOAD_SERVER_CPU_PROFILE_DIR']);
  const address = server.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';
  let closed: Promise<void> | undefined;

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
    port: address.port,
    adminToken,
    registrationToken,
    clock,
    store,
    webhooks,
    httpServer: server,
    async settled() {
      await businessKeys.settle();
      await webhooks.idle();
    },
    close() {
      closed ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        closing.abort();
        waiters.wakeAll();
        server.closeIdleConnections();
        // In-flight requests get the grace period, then their connections are cut.
        const graceOver = Date.now() + bounds.shutdownGraceMs;
        while (inFlight.size > 0 && Date.now() < graceOver) await settledWithin([...inFlight], graceOver - Date.now());
        server.closeAllConnections();
        await settledWithin([...inFlight], 1_000); // handlers see their connection gone
        await stopped;
        retention.stop();
        await sharedClock?.close();
        await thread?.close();
        await webhooks.stop(bounds.shutdownGraceMs);
        await businessKeys.settle();
        if (options.closeStore === true) await store.close();
        await profiling?.stop();
        serverMetrics.close();
      })();
      return closed;
    },
  };
}

/** Resolves when every promise settled or `ms` passed. */
async function settledWithin(work: readonly Promise<unknown>[], ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.allSettled(work), new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms))))]);
  clearTimeout(timer);
}

/** Most bytes of a refused (413) body discarded before the connection is dropped instead. */
const maxDiscardBytes = 64 * 1024 * 1024;

function discardBody(request: IncomingMessage): Promise<void> {
  if (request.readableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    let discarded = 0;
    request.on('data', (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > maxDiscardBytes) request.destroy();
    });
    request.once('end', resolve);
    request.once('close', resolve);
    request.resume();
  });
}

/** The soft limit on open descriptors (Linux /proc/self/limits), or 65,536 where unknown. */
function descriptorLimit(): number {
  try {
    const match = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return match === null ? 65_536 : Number(match[1]);
  } catch {
    return 65_536;
  }
}

/**
 * `SIGLOAD_SERVER_CPU_PROFILE_DIR=<dir>`: profile the server's process from start to `close()`
 * and write `<dir>/server-<pid>-<time>.cpuprofile` (Chrome DevTools format). For finding hot
 * spots under the harness's load scenarios, whose server child cannot take `--cpu-prof`.
 */
async function startCpuProfile(dir: string | undefined): Promise<{ stop(): Promise<void> } | undefined> {
  if (dir === undefined || dir === '') return undefined;
  const { Session } = await import('node:inspector/promises');
  const { writeFile } = await import('node:fs/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop');
      await writeFile(`${dir}/server-${process.pid}-${Date.now()}.cpuprofile`, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

export { graphErrorFacts };
