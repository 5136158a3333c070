// The JavaScript evaluated in every fresh QuickJS context before the script. Scripts see only
// what it builds from four host functions (log, timer, clear timer, fetch): no process, no
// require, no module loader (every import fails), no Node object. It lives apart from the host
// code because it is the sandbox's side of the boundary, written for QuickJS, not for Node.

/**
 * Evaluated in every fresh context before the script; returns [abort, serialize, describe,
 * invoke]. It captures the built-ins it relies on first, so a script that later replaces
 * JSON.stringify or String.prototype.slice only breaks its own logging. None of this is a
 * security boundary (the host checks everything); it only shapes `ctx`, `console` and timers.
 *
 * QuickJS compiles this source again in every new context (bytecode belongs to the context it
 * was compiled in, so it cannot be shared), at ~10 µs per 100 characters: compiling it was most
 * of a no-op run's cost. So the core only captures the built-ins and builds the objects a script
 * sees, each function a one-line stub; what the stubs do (formatting log lines, timers, sleep,
 * fetch, abort listeners, describing a thrown value: PARTS below) is compiled the first time a
 * run uses it.
 */
export const PRELUDE = String.raw`(function (hostLog, hostTimer, hostClearTimer, hostFetch, hostSource, payloadJson, infoJson, lineMax) {
  const G = globalThis, indirectEval = eval, parse = JSON.parse, stringify = JSON.stringify, freeze = Object.freeze, P = { __proto__: null };
  // What the parts share with this core: captured built-ins and the run's state.
  const S = {
    G, hostLog, hostTimer, hostClearTimer, hostFetch, lineMax, parse, stringify, freeze, apply: Reflect.apply,
    slice: String.prototype.slice, objectToString: Object.prototype.toString, toLowerCase: String.prototype.toLowerCase,
    ErrorC: Error, StringC: String, PromiseC: Promise, TypeErrorC: TypeError, MapC: Map, keys: Object.keys, isArray: Array.isArray,
    pending: new Set(), listeners: [], aborted: false, reason: undefined, logOpen: true,
  };
  const part = (S.part = (name) => P[name] || (P[name] = indirectEval(hostSource(name))(S)));
  // Once the run's log is full the host answers 0: later lines are not even formatted.
  const out = (level) => function (...args) { if (S.logOpen) part('text').emit(level, args); };
  G.console = { log: out('info'), info: out('info'), warn: out('warn'), error: out('error'), debug: out('debug'), trace: out('debug') };
  G.setTimeout = function setTimeout(fn, ms, ...args) { return part('timers').setTimeout(fn, ms, args); };
  G.clearTimeout = function clearTimeout(id) { part('timers').clearTimeout(id); };
  const signal = (S.signal = {
    get aborted() { return S.aborted; },
    get reason() { return S.reason; },
    onabort: null,
    addEventListener(type, fn) { part('signal').add(type, fn); },
    removeEventListener(type, fn) { part('signal').remove(type, fn); },
    throwIfAborted() { if (S.aborted) throw S.reason; },
  });
  const info = parse(infoJson);
  const ctx = {
    payload: payloadJson === undefined ? undefined : parse(payloadJson),
    run: freeze(info.run), task: freeze(info.task), secrets: freeze(info.secrets),
    log: function log(message, level) { if (S.logOpen) part('text').emit(typeof level === 'string' ? level : 'info', [message]); },
    signal,
    sleep: (ms) => part('timers').sleep(ms),
    fetch: function fetch(input, init) { return part('fetch')(input, init); },
  };
  // The script's result, as JSON made in here: a hostile toJSON runs under the run's limits.
  const serialize = (v) => {
    if (v === undefined) return 'U';
    let json;
    try { json = stringify(v); } catch (e) { return part('text').unserializable(e); }
    return typeof json === 'string' ? 'J' + json : 'Ea ' + typeof v + ' has no JSON form';
  };
  return [(kind) => part('abort')(kind), serialize, (e) => part('describe')(e), async (fn) => fn(ctx)];
})`;

/** The parts of the prelude compiled on first use; each is `(function (S) { ... })`. */
export const PARTS: Record<string, string> = {
  text: String.raw`(function (S) {
    const apply = S.apply, slice = S.slice, ErrorC = S.ErrorC, StringC = S.StringC, lineMax = S.lineMax;
    const cut = (s, n) => (s.length > n ? apply(slice, s, [0, n]) : s);
    const show = (v) => {
      try {
        if (typeof v === 'string') return v;
        if (v instanceof ErrorC) {
          const head = StringC(v.name) + ': ' + StringC(v.message);
          return typeof v.stack === 'string' && v.stack !== '' ? head + '\n' + v.stack : head;
        }
        if (typeof v === 'function') return '[Function ' + (v.name || 'anonymous') + ']';
        if (typeof v === 'bigint') return StringC(v) + 'n';
        if (v === undefined || typeof v === 'symbol') return StringC(v);
        const json = S.stringify(v);
        return typeof json === 'string' ? json : StringC(v);
      } catch (e) {
        try { return apply(S.objectToString, v, []); } catch (e2) { return '[unprintable]'; }
      }
    };
    const format = (args) => {
      let s = '';
      for (let i = 0; i < args.length && s.length <= lineMax; i++) s += (i === 0 ? '' : ' ') + show(args[i]);
      return s.length > lineMax ? cut(s, lineMax) + ' [line truncated]' : s;
    };
    return {
      cut,
      show,
      emit(level, args) { if (S.hostLog(level, format(args)) === 0) S.logOpen = false; },
      unserializable(e) {
        let m;
        try { m = e instanceof ErrorC ? StringC(e.message) : show(e); } catch (e2) { m = 'serialising it threw'; }
        return 'E' + cut(m, 4000);
      },
    };
  })`,
  signal: String.raw`(function (S) {
    return {
      add(type, fn) { if (type === 'abort' && fn != null && !S.aborted && S.listeners.indexOf(fn) < 0) S.listeners.push(fn); },
      remove(type, fn) {
        const i = S.listeners.indexOf(fn);
        if (type === 'abort' && i >= 0) S.listeners.splice(i, 1);
      },
    };
  })`,
  timers: String.raw`(function (S) {
    const timers = new S.MapC();
    let seq = 0;
    return {
      setTimeout(fn, ms, args) {
        const id = ++seq;
        timers.set(id, S.hostTimer(+ms || 0, () => { timers.delete(id); if (typeof fn === 'function') S.apply(fn, undefined, args); }));
        return id;
      },
      clearTimeout(id) {
        const hid = timers.get(id);
        if (hid === undefined) return;
        timers.delete(id);
        S.hostClearTimer(hid);
      },
      sleep: (ms) => new S.PromiseC((resolve, reject) => {
        if (S.aborted) { reject(S.reason); return; }
        const entry = { reject };
        S.hostTimer(+ms || 0, () => { if (S.pending.delete(entry)) resolve(); });
        S.pending.add(entry);
      }),
    };
  })`,
  abort: String.raw`(function (S) {
    return (kind) => {
      if (S.aborted) return;
      S.aborted = true;
      const reason = new S.ErrorC(kind === 'timeout' ? 'The run timed out' : 'The run was cancelled');
      reason.name = kind === 'timeout' ? 'TimeoutError' : 'AbortError';
      S.reason = reason;
      const waiting = [...S.pending];
      S.pending.clear();
      for (const p of waiting) p.reject(reason);
      const signal = S.signal, event = { type: 'abort', target: signal };
      const fns = S.listeners.splice(0);
      if (typeof signal.onabort === 'function') { try { S.apply(signal.onabort, signal, [event]); } catch (e) {} }
      for (const fn of fns) {
        try {
          if (typeof fn === 'function') S.apply(fn, signal, [event]);
          else if (typeof fn.handleEvent === 'function') fn.handleEvent(event);
        } catch (e) {}
      }
    };
  })`,
  describe: String.raw`(function (S) {
    const T = S.part('text');
    return (e) => {
      let name = typeof e, message = '', stack = '';
      try {
        if (e !== null && typeof e === 'object') {
          name = typeof e.name === 'string' ? e.name : e instanceof S.ErrorC ? 'Error' : 'object';
          message = 'message' in e ? S.StringC(e.message) : T.show(e);
          stack = typeof e.stack === 'string' ? e.stack : '';
        } else {
          message = T.show(e);
        }
      } catch (x) { message = '(the thrown value could not be read)'; }
      return S.stringify({ name: T.cut(S.StringC(name), 200), message: T.cut(message, 4000), stack: T.cut(stack, 4000) });
    };
  })`,
  fetch: String.raw`(function (S) {
    const headerPairs = (h) => {
      const out = [];
      if (h == null) return out;
      if (S.isArray(h)) { for (const p of h) out.push([S.StringC(p[0]), S.StringC(p[1])]); return out; }
      if (typeof h !== 'object') throw new S.TypeErrorC('fetch: headers must be an object or an array of [name, value] pairs');
      for (const k of S.keys(h)) out.push([k, S.StringC(h[k])]);
      return out;
    };
    const fetchError = (e) => {
      const err = e.name === 'TypeError' ? new S.TypeErrorC(e.message) : new S.ErrorC(e.message);
      if (e.name !== 'TypeError' && e.name !== 'Error') err.name = e.name;
      if (e.code !== undefined) err.code = e.code;
      return err;
    };
    const makeResponse = (r) => {
      const h = r.headers;
      let used = false;
      const find = (name) => {
        const n = S.apply(S.toLowerCase, S.StringC(name), []);
        for (let i = 0; i < h.length; i++) if (h[i][0] === n) return h[i][1];
        return null;
      };
      const headers = S.freeze({
        get: find,
        has: (name) => find(name) !== null,
        forEach(fn) { for (let i = 0; i < h.length; i++) fn(h[i][1], h[i][0], headers); },
        entries() { return h.map((p) => [p[0], p[1]])[Symbol.iterator](); },
      });
      const take = () => {
        if (used) return S.PromiseC.reject(new S.TypeErrorC('Body has already been used'));
        used = true;
        return S.PromiseC.resolve(r.body);
      };
      return {
        status: r.status, statusText: r.statusText, ok: r.status >= 200 && r.status < 300, url: r.url, redirected: r.redirected,
        headers, get bodyUsed() { return used; }, text: () => take(), json: () => take().then(S.parse),
      };
    };
    return (input, init) => new S.PromiseC((resolve, reject) => {
      if (S.aborted) { reject(S.reason); return; }
      const o = init == null ? {} : init;
      const body = o.body;
      if (body != null && typeof body !== 'string') throw new S.TypeErrorC('fetch: only string bodies are supported');
      const url = input !== null && typeof input === 'object' && 'url' in input ? input.url : input;
      const req = S.stringify({
        url: S.StringC(url), method: o.method == null ? 'GET' : S.StringC(o.method), headers: headerPairs(o.headers),
        body: body == null ? null : body, redirect: o.redirect == null ? 'follow' : S.StringC(o.redirect),
      });
      const entry = { reject };
      S.hostFetch(req, (err, res) => {
        if (!S.pending.delete(entry)) return;
        if (err !== null) reject(fetchError(S.parse(err)));
        else resolve(makeResponse(S.parse(res)));
      });
      S.pending.add(entry);
    });
  })`,
};
