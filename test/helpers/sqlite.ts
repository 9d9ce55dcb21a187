/**
 * Opens a spool database for inspection in tests. Every Database and
 * Statement is kept referenced for the life of the test process: better-sqlite3
 * 12 built for Node 24 aborts when the garbage collector finalises one (the
 * relay's own store does the same, see src/spool/sqlite/sqlite-store.ts).
 */
import Database from 'better-sqlite3';

const KEPT: unknown[] = [];

export function openSpoolDb(file: string, options: Database.Options = {}): {
  all<T>(sql: string, ...args: unknown[]): T[]; get<T>(sql: string, ...args: unknown[]): T | undefined; run(sql: string, ...args: unknown[]): void; close(): void;
} {
  const db = new Database(file, options);
  KEPT.push(db);
  const statements = new Map<string, Database.Statement>();
  const st = (sql: string) => {
    let s = statements.get(sql);
    if (!s) {
      s = db.prepare(sql);
      statements.set(sql, s);
      KEPT.push(s);
    }
    return s;
  };
  return {
    all: <T>(sql: string, ...args: unknown[]) => st(sql).all(...args) as T[],
    get: <T>(sql: string, ...args: unknown[]) => st(sql).get(...args) as T | undefined,
    run: (sql: string, ...args: unknown[]) => void st(sql).run(...args),
    close: () => db.close(),
  };
}
