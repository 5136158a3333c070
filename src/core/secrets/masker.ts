// Masks secret values in what a run leaves behind (logs, result, error), so a value a task used
// never reaches the store, the event stream, the sinks or an API answer. Each value is looked for
// as it is and in the forms code commonly turns it into: base64 and base64url (with and without
// padding, and inside a longer base64 text such as an HTTP Basic credential), percent-encoding
// and a JSON string's escaping. Every occurrence becomes `[secret:NAME]`, and so does the
// beginning of a value (6 characters or more) that ends a text: a cap cuts where it cuts.
//
// This guards against accidents (a header echoed in an error, a debug print of the environment),
// not against a task author who wants a value out: code that may read a secret may also split it
// into pieces. Who may write tasks in a namespace may use its secrets (docs/security.md).

/** The text that replaces a value. */
export function secretMark(name: string): string {
  return `[secret:${name}]`;
}

/** Shortest form looked for inside a longer base64 text; shorter cores would mask common text. */
const MIN_SHIFTED_CORE = 8;

/**
 * The parts of base64(prefix + value) that depend only on the value, for prefixes of 0, 1 and 2
 * bytes: how the value appears inside any longer base64 text, whatever came before it.
 */
function base64Cores(value: Buffer, alphabet: 'base64' | 'base64url'): string[] {
  const out: string[] = [];
  for (let shift = 0; shift < 3; shift++) {
    const total = shift + value.length;
    const full = Math.floor(total / 3) * 4; // characters of complete groups: they do not depend on what follows
    const text = Buffer.concat([Buffer.alloc(shift), value]).toString(alphabet).slice(0, full);
    // Characters that mix prefix bits: 0 for no prefix, 2 for one byte, 3 for two.
    const core = text.slice(shift === 0 ? 0 : shift + 1);
    if (core.length >= MIN_SHIFTED_CORE) out.push(core);
  }
  return out;
}

/** The forms of one value to look for, longest first. */
export function secretForms(value: string): string[] {
  if (value === '') return [];
  const bytes = Buffer.from(value, 'utf8');
  const forms = new Set<string>([value]);
  const b64 = bytes.toString('base64');
  forms.add(b64);
  forms.add(b64.replace(/=+$/, ''));
  forms.add(bytes.toString('base64url'));
  for (const core of [...base64Cores(bytes, 'base64'), ...base64Cores(bytes, 'base64url')]) forms.add(core);
  forms.add(encodeURIComponent(value));
  forms.add(encodeURIComponent(value).replace(/%20/g, '+'));
  forms.add(JSON.stringify(value).slice(1, -1));
  // A value of several lines (a PEM key) reaches a log line by line: each line of 8 characters
  // or more is masked on its own too.
  if (value.includes('\n')) for (const line of value.split(/\r?\n/)) if (line.trim().length >= 8) forms.add(line.trim());
  return [...forms].filter((f) => f !== '').sort((a, b) => b.length - a.length);
}

/** Shortest beginning of a value masked at the end of a text (where a cap may have cut the value). */
const MIN_CUT_PREFIX = 6;

/**
 * Where a text ends with the beginning of `value` (at least MIN_CUT_PREFIX characters, less
 * than all of it), or -1: a log line cut at the log's cap, or an http body excerpt cut at its
 * size, may end in the middle of a value.
 */
function cutValueAt(s: string, value: string): number {
  if (value.length <= MIN_CUT_PREFIX || s.length < MIN_CUT_PREFIX) return -1;
  const head = value.slice(0, MIN_CUT_PREFIX);
  const floor = Math.max(0, s.length - value.length + 1);
  let from = s.length - MIN_CUT_PREFIX;
  while (from >= floor) {
    const i = s.lastIndexOf(head, from);
    if (i < floor) return -1;
    if (value.startsWith(s.slice(i))) return i;
    from = i - 1;
  }
  return -1;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Replaces secret values (and their encoded forms) in strings and JSON values. */
export interface Masker {
  /** True when there is nothing to mask (no secrets). */
  readonly empty: boolean;
  text(s: string): string;
  /** A copy of a JSON value with every string (and key) masked; other values as they are. */
  json<T>(v: T): T;
}

const NO_MASK: Masker = { empty: true, text: (s) => s, json: (v) => v };

/**
 * A masker for `values` (name → value), built once per run: one regular expression of every form
 * of every value, longest first, so a value that contains another is masked whole.
 */
export function createMasker(values: ReadonlyMap<string, string>): Masker {
  const byForm = new Map<string, string>();
  // Longer values first: where two values share a form, the longer value's name wins.
  for (const [name, value] of [...values].sort((a, b) => b[1].length - a[1].length)) {
    for (const f of secretForms(value)) if (!byForm.has(f)) byForm.set(f, name);
  }
  if (byForm.size === 0) return NO_MASK;
  const forms = [...byForm.keys()].sort((a, b) => b.length - a.length);
  const re = new RegExp(forms.map(escapeRegExp).join('|'), 'g');
  const cutCheck = [...values].filter(([, v]) => v.length > MIN_CUT_PREFIX);
  const text = (s: string): string => {
    if (s.length === 0) return s;
    let out = s.replace(re, (m) => secretMark(byForm.get(m)!));
    for (const [name, value] of cutCheck) {
      const at = cutValueAt(out, value);
      if (at >= 0) out = out.slice(0, at) + secretMark(name);
    }
    return out;
  };
  const json = (v: unknown): unknown => {
    if (typeof v === 'string') return text(v);
    if (Array.isArray(v)) return v.map(json);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[text(k)] = json(x);
      return out;
    }
    return v;
  };
  return { empty: false, text, json: json as Masker['json'] };
}
