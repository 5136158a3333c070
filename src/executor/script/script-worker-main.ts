// Entry point of a script-pool child (forked by script-pool.ts). The child's main thread only
// relays between the pool and an interpreter thread (script-relay.ts); that thread, started by
// script-thread-bootstrap.ts, runs the QuickJS sandboxes (script-interpreter.ts). Kept free of
// heavy imports so a child starts fast: QuickJS is loaded by the interpreter thread only.

import { runRelay } from './script-relay.js';

runRelay();
