// A command line typed as one line, split the way a POSIX shell splits words (quotes and
// backslashes only: no $VAR expansion, globbing or pipes; the server runs argv directly), and
// argv written back as such a line.

/** argv from a command line, or the reason it cannot be split (an unclosed quote). */
export function splitArgv(line: string): { argv: string[]; error: string | null } {
  const argv: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  const n = line.length;
  while (i < n) {
    const c = line[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) argv.push(word);
      word = '';
      inWord = false;
      i++;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) return { argv, error: 'a single quote (\') is not closed' };
      word += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      inWord = true;
      i++;
      let closed = false;
      while (i < n) {
        const d = line[i]!;
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        if (d === '\\' && i + 1 < n && '\\"$`\n'.includes(line[i + 1]!)) {
          if (line[i + 1] !== '\n') word += line[i + 1];
          i += 2;
        } else {
          word += d;
          i++;
        }
      }
      if (!closed) return { argv, error: 'a double quote (") is not closed' };
    } else if (c === '\\') {
      // A backslash before a line break continues the line; before anything else it quotes it.
      if (i + 1 < n && line[i + 1] !== '\n') {
        word += line[i + 1];
        inWord = true;
      }
      i += 2;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) argv.push(word);
  return { argv, error: null };
}

const PLAIN = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** A command line that splitArgv turns back into exactly `argv`. */
export function quoteArgv(argv: readonly string[]): string {
  return argv.map((a) => (PLAIN.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
