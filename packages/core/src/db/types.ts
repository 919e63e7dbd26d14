/** Something that runs SQL: the database itself or an open transaction. */
export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<{ rows: T[]; rowCount: number }>;
}

/** An open transaction: queries, and scripts of several statements (migrations). */
export interface Tx extends Queryable {
  exec(sql: string): Promise<void>;
}

/**
 * One interface over Postgres (`pg`) and embedded PGlite. The same SQL runs on both:
 * $1-style parameters, vectors passed as text ('[1,2,3]') and cast with ::vector.
 */
export interface Db extends Queryable {
  readonly kind: 'pg' | 'pglite';
  /** Runs a script of several statements without parameters (schema files). */
  exec(sql: string): Promise<void>;
  /** Runs fn in one transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
