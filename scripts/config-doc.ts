// Prints the option table of docs/configuration.md from src/config/config.ts, so the doc
// cannot drift from the code: `node --import tsx scripts/config-doc.ts`.
import { OPTIONS } from '../src/config/config.js';

/** The Markdown table of every option. */
export function configTable(): string {
  const rows = Object.entries(OPTIONS).map(([key, o]) => {
    const def =
      typeof o.def === 'function' ? '(per machine)' : o.kind === 'duration' ? `${String(o.def)}ms` : JSON.stringify(o.def);
    const flag = '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
    return `| \`${o.env}\` | \`${flag}\` / \`${key}\` | ${o.kind} | \`${def}\` | ${o.doc} |`;
  });
  return ['| environment | flag / file key | type | default | meaning |', '|---|---|---|---|---|', ...rows].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(configTable());
