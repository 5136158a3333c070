// A page of a table listed by namespace and name (notification channels, alert rules): the key
// of the last row shown is where the next page starts.
import type { NamespaceScope } from '../store.js';

/** The query of one page (`limit + 1` rows, so the caller knows whether more follow), or null when the scope names no namespace. */
export function namedListing(
  table: string,
  columns: string,
  namespaces: NamespaceScope,
  after: { namespace: string; name: string } | null,
  limit: number,
): { sql: string; args: unknown[] } | null {
  const where: string[] = [];
  const args: unknown[] = [];
  if (namespaces !== '*') {
    if (namespaces.length === 0) return null;
    args.push([...namespaces]);
    where.push(`namespace = ANY($${args.length}::text[])`);
  }
  if (after !== null) {
    args.push(after.namespace, after.name);
    where.push(`(namespace, name) > ($${args.length - 1}, $${args.length})`);
  }
  args.push(limit + 1);
  const filter = where.length > 0 ? `WHERE ${where.join(' AND ')} ` : '';
  return { sql: `SELECT ${columns} FROM ${table} ${filter}ORDER BY namespace, name LIMIT $${args.length}`, args };
}
