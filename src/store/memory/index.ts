/**
 * The in-memory Store: the embedded default of the reference server, and what the retention
 * benchmarks sweep at 10^5…10^7 stored messages.
 *
 * One file per role (src/store/roles.ts), each a function of the shared `MemoryContext`
 * (./context.ts: the partitions, indexes and counters); `MemoryStore` assembles them.
 */
import type { Store } from '../store.js';
import { MemoryContext, type MemoryStoreOptions } from './context.js';
import { memoryAudit } from './audit.js';
import { memoryBusinessKeys } from './business-keys.js';
import { memoryConversations } from './conversations.js';
import { memoryDevices } from './devices.js';
import { memoryBusinessDirectory } from './directory.js';
import { memoryInbox } from './inbox.js';
import { memoryMessages } from './messages.js';
import { memoryMetrics } from './metrics.js';
import { memoryRetention } from './retention.js';
import { memorySessions } from './sessions.js';
import { memoryStatuses } from './statuses.js';
import { memoryWebhookQueue } from './webhook-queue.js';

export { MEMORY_STORE_DEFAULTS, type MemoryStoreOptions } from './context.js';

// The class carries the roles' methods, assigned in the constructor (interface merging types them).
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface MemoryStore extends Store {}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class MemoryStore {
  constructor(options: MemoryStoreOptions = {}) {
    const context = new MemoryContext(options);
    Object.assign(
      this,
      memoryBusinessDirectory(context),
      memoryBusinessKeys(context),
      memoryDevices(context),
      memoryConversations(context),
      memorySessions(context),
      memoryMessages(context),
      memoryInbox(context),
      memoryStatuses(context),
      memoryWebhookQueue(context),
      memoryRetention(context),
      memoryAudit(context),
      memoryMetrics(context),
    );
  }

  async close(): Promise<void> {
    // Nothing to release.
  }
}
