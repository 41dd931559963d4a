/**
 * Options objects: each options type keeps one documented defaults object (piscina's
 * kDefaultOptions) and merges the caller's options over it with `definedOptions`.
 */

/** The options the caller set: keys whose value is `undefined` are left out, so a default applies. */
export function definedOptions<T extends object>(options: T): Partial<T> {
  const defined: Partial<T> = {};
  for (const key of Object.keys(options) as (keyof T)[]) if (options[key] !== undefined) defined[key] = options[key];
  return defined;
}
