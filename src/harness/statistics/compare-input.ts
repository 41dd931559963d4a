/**
 * Reads the result files a compare, report or export command is given: file paths and/or
 * folders (every *.json inside, not recursive), each validated by readResultFile. Files from
 * a folder are ordered by run start time; explicit files keep the order given.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ResultFile } from '../result/result.js';
import { readResultFile, ResultFileError } from '../result/schema.js';

export interface LoadedResult {
  source: string;
  file: ResultFile;
}

/** Throws ResultFileError('missing') for a path that does not exist or a folder with no result file. */
export function loadResultInputs(paths: readonly string[], options: { skipInvalidInFolders?: boolean } = {}): LoadedResult[] {
  const loaded: LoadedResult[] = [];
  for (const path of paths) {
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      throw new ResultFileError('missing', `result file ${path} does not exist`);
    }
    if (!isDir) {
      loaded.push({ source: path, file: readResultFile(path) });
      continue;
    }
    const inFolder: LoadedResult[] = [];
    for (const name of readdirSync(path).filter((n) => n.endsWith('.json')).sort()) {
      const full = join(path, name);
      try {
        inFolder.push({ source: full, file: readResultFile(full) });
      } catch (err) {
        // A folder may hold other JSON (exports, compare output); skip it only when asked.
        if (!(options.skipInvalidInFolders && err instanceof ResultFileError)) throw err;
      }
    }
    if (inFolder.length === 0) throw new ResultFileError('missing', `folder ${path} holds no result file`);
    inFolder.sort((a, b) => Date.parse(a.file.run.started_at) - Date.parse(b.file.run.started_at) || a.source.localeCompare(b.source));
    loaded.push(...inFolder);
  }
  return loaded;
}
