/**
 * The subset of Asterisk's extensions.conf the simulator understands:
 * `[context]` sections and `exten => PATTERN,1,Stasis(app[,args...])` lines, with `_`-patterns
 * (X Z N . ! [..]) and `${EXTEN}` substitution. Every other line is ignored, like a dialplan
 * application the simulator does not run.
 */
export interface DialplanStasis {
  app: string;
  args: string[];
  /** `app,args` as Asterisk shows it in `dialplan.app_data` (after substitution). */
  appData: string;
}

interface Rule {
  pattern: string;
  matcher: (exten: string) => boolean;
  appData: string; // raw, with ${EXTEN}
}

export class Dialplan {
  private readonly contexts = new Map<string, Rule[]>();

  constructor(text = '') {
    let context: string | undefined;
    for (const raw of text.split(/\r?\n/)) {
      const line = raw.replace(/;.*$/, '').trim();
      if (!line) continue;
      const section = /^\[([^\]]+)\]/.exec(line);
      if (section) {
        context = section[1]!.trim();
        if (!this.contexts.has(context)) this.contexts.set(context, []);
        continue;
      }
      const ext = /^exten\s*=>?\s*([^,]+),\s*(\d+|n)\s*,\s*Stasis\((.*)\)\s*$/i.exec(line);
      if (!ext || !context) continue;
      const pattern = ext[1]!.trim();
      this.contexts
        .get(context)!
        .push({ pattern, matcher: compilePattern(pattern), appData: ext[3]!.trim() });
    }
  }

  hasContext(context: string): boolean {
    return this.contexts.has(context);
  }

  /** The Stasis() an extension runs in a context, or undefined if nothing matches. */
  route(context: string, exten: string): DialplanStasis | undefined {
    const rules = this.contexts.get(context);
    if (!rules) return undefined;
    // Asterisk prefers exact extensions over patterns; among patterns the first listed wins here.
    const rule =
      rules.find((r) => !r.pattern.startsWith('_') && r.pattern === exten) ??
      rules.find((r) => r.matcher(exten));
    if (!rule) return undefined;
    const appData = rule.appData.replace(/\$\{EXTEN\}/g, exten);
    const [app, ...args] = appData.split(',').map((s) => s.trim());
    return { app: app!, args, appData };
  }
}

/** Compiles an extension pattern to a predicate. Exported for table tests. */
export function compilePattern(pattern: string): (exten: string) => boolean {
  if (!pattern.startsWith('_')) return (exten) => exten === pattern;
  let re = '^';
  const p = pattern.slice(1);
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === 'X' || c === 'x') re += '[0-9]';
    else if (c === 'Z' || c === 'z') re += '[1-9]';
    else if (c === 'N' || c === 'n') re += '[2-9]';
    else if (c === '.') re += '.+';
    else if (c === '!') re += '.*';
    else if (c === '[') {
      const end = p.indexOf(']', i);
      if (end < 0) throw new Error(`unterminated [ in pattern ${pattern}`);
      const body = p.slice(i + 1, end).replace(/[\\\]^]/g, (m) => '\\' + m);
      re += `[${body}]`;
      i = end;
    } else re += c.replace(/[.*+?^${}()|\\]/g, '\\$&');
  }
  const compiled = new RegExp(re + '$');
  return (exten) => compiled.test(exten);
}
