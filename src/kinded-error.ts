/**
 * The base of every module's error class: a `kind` from the module's closed set of named kinds
 * (design.md: "errors as a closed set of named kinds"), the class's own name, and an optional
 * cause. A module declares its kinds as a string union and
 * `export class XError extends KindedError<XErrorKind> {}`.
 */
export class KindedError<Kind extends string> extends Error {
  readonly kind: Kind;

  constructor(kind: Kind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.kind = kind;
  }
}
