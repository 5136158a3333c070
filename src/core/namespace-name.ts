// The rule for namespace names, in core so configuration (quotas) and the API check the same one.

/** Namespaces: 1..100 characters of the same alphabet as names. */
export const NAMESPACE_PATTERN = '^[A-Za-z0-9._:-]{1,100}$';
/** What a person reads when a namespace breaks NAMESPACE_PATTERN. */
export const NAMESPACE_RULE = 'must be 1 to 100 characters of A-Z, a-z, 0-9, ".", "_", ":" or "-"';
