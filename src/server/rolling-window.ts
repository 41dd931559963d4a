/**
 * Rolling windows of "user → last time" kept as Maps in time order: `touch` moves a key to the
 * end, so expiring is dropping from the front, O(expired) rather than O(size) per check.
 * Assumes the server clock does not go backwards (a step back only delays expiry).
 */

/** Sets `key` to `atMs` and moves it to the end, so the Map's order stays the order of its times. */
export function touch(map: Map<string, number>, key: string, atMs: number): void {
  map.delete(key);
  map.set(key, atMs);
}

/** Deletes the entries before `horizonMs` from a time-ordered Map, oldest first. */
export function dropOlderThan(map: Map<string, number>, horizonMs: number): void {
  for (const [key, at] of map) {
    if (at >= horizonMs) return;
    map.delete(key);
  }
}
