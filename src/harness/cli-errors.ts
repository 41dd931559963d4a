/**
 * How sigload's command-line scripts turn errors into exit codes, in one place.
 *
 * - `UsageError` (and node:util `parseArgs` errors): bad options → the message, the usage text, exit 2.
 * - an input error the caller names (a result file that is missing or invalid, files that
 *   cannot be compared) → the message, exit 2.
 * - anything else is a bug or an environment failure: rethrown, so its stack is shown.
 */
export class UsageError extends Error {}

type ErrorClass = abstract new (...args: never[]) => Error;

function isParseArgsError(err: unknown): boolean {
  return (err as { code?: string } | null)?.code?.startsWith('ERR_PARSE_ARGS') === true;
}

/** Exit code 2 for usage and input errors (printed as `<program>: <message>`); rethrows the rest. */
export function exitCodeForCliError(program: string, usage: string, err: unknown, inputErrors: readonly ErrorClass[] = []): 2 {
  if (err instanceof UsageError || isParseArgsError(err)) {
    console.error(`${program}: ${(err as Error).message}`);
    console.error(usage);
    return 2;
  }
  if (inputErrors.some((kind) => err instanceof kind)) {
    console.error(`${program}: ${(err as Error).message}`);
    return 2;
  }
  throw err;
}
