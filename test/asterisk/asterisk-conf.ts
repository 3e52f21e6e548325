/**
 * A small reader of Asterisk's config syntax (sections, templates, `key = value`, `key => value`,
 * `;` comments with `\;` escapes, #include/#tryinclude), enough to check our files hang together
 * without an Asterisk on the machine.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ConfSection {
  name: string;
  isTemplate: boolean;
  inherits: string[];
  entries: Array<{ key: string; value: string; line: number }>;
  file: string;
}

export interface ParsedConf {
  sections: ConfSection[];
  includes: Array<{ target: string; optional: boolean; file: string; line: number }>;
  problems: string[];
}

function stripComment(line: string): string {
  let out = '';
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === '\\' && line[i + 1] === ';') {
      out += ';';
      i++;
    } else if (ch === ';') break;
    else out += ch;
  }
  return out.trim();
}

/** Parses `file` inside `dir`, following includes (missing #tryinclude targets are fine). */
export function parseConf(
  dir: string,
  file: string,
  into?: ParsedConf,
  current?: { section?: ConfSection },
): ParsedConf {
  const result = into ?? { sections: [], includes: [], problems: [] };
  const state = current ?? {};
  const path = join(dir, file);
  const lines = readFileSync(path, 'utf8').split('\n');
  lines.forEach((raw, index) => {
    const lineNo = index + 1;
    const trimmed = raw.trim();
    const include = /^#(try)?include\s+"?([^"]+?)"?\s*$/.exec(trimmed);
    if (include) {
      const target = include[2]!;
      result.includes.push({ target, optional: include[1] === 'try', file, line: lineNo });
      if (existsSync(join(dir, target))) parseConf(dir, target, result, state);
      else if (include[1] !== 'try')
        result.problems.push(`${file}:${lineNo}: #include ${target} does not exist`);
      return;
    }
    const line = stripComment(raw);
    if (!line) return;
    const section = /^\[([^\]]+)\](?:\(([^)]*)\))?$/.exec(line);
    if (section) {
      const opts = (section[2] ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      state.section = {
        name: section[1]!,
        isTemplate: opts.includes('!'),
        inherits: opts.filter((o) => o !== '!' && o !== '+'),
        entries: [],
        file,
      };
      result.sections.push(state.section);
      return;
    }
    const entry = /^([A-Za-z0-9_.-]+)\s*=>?\s*(.*)$/.exec(line);
    if (!entry) {
      result.problems.push(`${file}:${lineNo}: cannot parse "${line}"`);
      return;
    }
    if (!state.section) {
      result.problems.push(`${file}:${lineNo}: entry outside a section`);
      return;
    }
    state.section.entries.push({ key: entry[1]!, value: entry[2]!.trim(), line: lineNo });
  });
  return result;
}

/** Entries of a section including those of the templates it inherits (later wins per key). */
export function effectiveEntries(conf: ParsedConf, section: ConfSection): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const apply = (s: ConfSection, seen: Set<string>) => {
    for (const parent of s.inherits) {
      if (seen.has(parent)) continue;
      const tpl = conf.sections.find((c) => c.name === parent && c !== s);
      if (tpl) apply(tpl, new Set([...seen, parent]));
    }
    for (const e of s.entries) out.set(e.key, [...(out.get(e.key) ?? []), e.value]);
  };
  apply(section, new Set());
  return out;
}
