// The naming rules the API enforces, in one place so schemas, services and error messages agree.

/** Task and key names: 1..200 characters of letters, digits and `.`, `_`, `:`, `-`. */
export const NAME_PATTERN = '^[A-Za-z0-9._:-]{1,200}$';
/** What a person reads when a name breaks NAME_PATTERN. */
export const NAME_RULE = 'must be 1 to 200 characters of A-Z, a-z, 0-9, ".", "_", ":" or "-"';

/** Namespaces: 1..100 characters of the same alphabet as names. */
export const NAMESPACE_PATTERN = '^[A-Za-z0-9._:-]{1,100}$';
/** What a person reads when a namespace breaks NAMESPACE_PATTERN. */
export const NAMESPACE_RULE = 'must be 1 to 100 characters of A-Z, a-z, 0-9, ".", "_", ":" or "-"';

/** Patterns whose generic "must match pattern" message is replaced by the rule in words. */
export const PATTERN_RULES: ReadonlyMap<string, string> = new Map([
  [NAME_PATTERN, NAME_RULE],
  [NAMESPACE_PATTERN, NAMESPACE_RULE],
]);
