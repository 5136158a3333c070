// The naming rules the API enforces, in one place so schemas, services and error messages agree.

import { NAMESPACE_PATTERN, NAMESPACE_RULE } from '../core/namespace-name.js';

/** Task and key names: 1..200 characters of letters, digits and `.`, `_`, `:`, `-`. */
export const NAME_PATTERN = '^[A-Za-z0-9._:-]{1,200}$';
/** What a person reads when a name breaks NAME_PATTERN. */
export const NAME_RULE = 'must be 1 to 200 characters of A-Z, a-z, 0-9, ".", "_", ":" or "-"';

export { NAMESPACE_PATTERN, NAMESPACE_RULE };

/** Patterns whose generic "must match pattern" message is replaced by the rule in words. */
export const PATTERN_RULES: ReadonlyMap<string, string> = new Map([
  [NAME_PATTERN, NAME_RULE],
  [NAMESPACE_PATTERN, NAMESPACE_RULE],
]);
