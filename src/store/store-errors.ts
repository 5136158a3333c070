// Refusals that every store gives in the same words.
import { SundialError } from '../core/errors.js';

/** Thrown when the database was written by newer Sundial code than this one. */
export class SchemaTooNewError extends Error {
  readonly code = 'ERR_SCHEMA_TOO_NEW';
  constructor(
    readonly found: number,
    readonly known: number,
  ) {
    super(
      `the database schema is version ${found}, but this Sundial knows only up to version ${known}; ` +
        'upgrade Sundial (or restore a backup) instead of letting older code write to it',
    );
    this.name = 'SchemaTooNewError';
  }
}

/** The refusal of a node id another live instance holds. */
export function nodeIdTaken(id: string): SundialError {
  return new SundialError(
    'node_id_taken',
    `another live node uses the id "${id}"; give each node its own SUNDIAL_NODE_ID (a dead node's id is free two leases after its last heartbeat)`,
  );
}
