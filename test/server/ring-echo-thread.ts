/**
 * A worker thread for shared-ring.test.ts: answers each record of `requests` with its bytes
 * reversed in `replies`, sleeping until woken between records (no polling), until the request
 * ring is closed.
 */
import { workerData } from 'node:worker_threads';
import { SharedRing } from '../../src/server/shared-ring.js';

const requests = new SharedRing((workerData as { requests: SharedArrayBuffer }).requests);
const replies = new SharedRing((workerData as { replies: SharedArrayBuffer }).replies);
while (!requests.closed()) {
  const seen = requests.published();
  for (let bytes = requests.read(); bytes !== undefined; bytes = requests.read()) {
    const reversed = new Uint8Array(bytes).reverse();
    while (!replies.tryWrite(reversed)) replies.waitForRoom(replies.consumed(), 100);
  }
  requests.waitForRecord(seen, 60_000);
}
