// Which better-sqlite3 build to load. Two majors are installed because no single one runs on
// every Node.js line Sundial supports:
// - better-sqlite3 12 (compiled from source at install) works on Node 20 and 22, but
//   aborts on Node >= 24.19 when a Statement is garbage-collected (nodejs/node#65446: ObjectWrap
//   destructors now remove a cleanup hook outside any context);
// - better-sqlite3 13 (Node-API, prebuilt binaries inside the package) requires Node >= 22 and
//   segfaults on the first query under Node 20.
// Both expose the same API, so the choice is made once, here, by the running Node's major.
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';

const require = createRequire(import.meta.url);
const nodeMajor = Number(process.versions.node.split('.')[0]);

/** The better-sqlite3 package name loaded on this Node.js. */
export const SQLITE_DRIVER = nodeMajor >= 24 ? 'better-sqlite3-napi' : 'better-sqlite3';

/** The better-sqlite3 Database constructor that works on this Node.js. */
export const SqliteDatabase = require(SQLITE_DRIVER) as typeof Database;
