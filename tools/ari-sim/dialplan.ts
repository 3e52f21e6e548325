/**
 * The subset of Asterisk's extensions.conf the simulator understands:
 * `[context]` sections and extensions that end in `Stasis(app[,args...])` — `exten =>
 * PATTERN,1,Stasis(...)`, or `exten => PATTERN,1,Set(NAME=VALUE)` followed by `same => n,...`
 * lines (more `Set`s, then the `Stasis`) — with `_`-patterns (X Z N . ! [..]) and `${EXTEN}` /
 * `${VARIABLE}` substitution. Every other line is ignored, like a dialplan application the
 * simulator does not run.
 */
export interface DialplanStasis {
  app: string;
  args: string[];
  /** `app,args` as Asterisk shows it in `dialplan.app_data` (after substitution). */
  appData: string;
  /** `Set(NAME=VALUE)` run before the Stasis, in order, values substituted */
  sets: Array<{ name: string; value: string }>;
}

interface Rule {
  pattern: string;
  matcher: (exten: string) => boolean;
  /** raw, with ${EXTEN}; undefined until the extension's Stasis line is read */
  appData?: string;
  sets: Array<{ name: string; value: string }>; // raw values
}

export class Dialplan {
  private readonly contexts = new Map<string, Rule[]>();

  constructor(text = '') {
    let context: string | undefined;
    let current: Rule | undefined;
    for (const raw of text.split(/\r?\n/)) {
      const line = raw.replace(/;.*$/, '').trim();
      if (!line) continue;
      const section = /^\[([^\]]+)\]/.exec(line);
      if (section) {
        context = section[1]!.trim();
        current = undefined;
        if (!this.contexts.has(context)) this.contexts.set(context, []);
        continue;
      }
      if (!context) continue;
      const ext = /^exten\s*=>?\s*([^,]+),\s*(\d+|n)\s*,\s*(\w+)\((.*)\)\s*$/i.exec(line);
      const same = /^same\s*=>?\s*n\s*,\s*(\w+)\((.*)\)\s*$/i.exec(line);
      let app: string;
      let data: string;
      if (ext) {
        const pattern = ext[1]!.trim();
        current = { pattern, matcher: compilePattern(pattern), sets: [] };
        this.contexts.get(context)!.push(current);
        [app, data] = [ext[3]!, ext[4]!.trim()];
      } else if (same && current && current.appData === undefined) {
        [app, data] = [same[1]!, same[2]!.trim()];
      } else continue;
      if (/^stasis$/i.test(app)) current!.appData = data;
      else if (/^set$/i.test(app)) {
        const eq = data.indexOf('=');
        if (eq > 0) current!.sets.push({ name: data.slice(0, eq).trim(), value: data.slice(eq + 1) });
      }
    }
    // an extension that never reaches a Stasis() is nothing the simulator can run
    for (const rules of this.contexts.values()) {
      for (let i = rules.length - 1; i >= 0; i--) if (rules[i]!.appData === undefined) rules.splice(i, 1);
    }
  }

  hasContext(context: string): boolean {
    return this.contexts.has(context);
  }

  /**
   * The Stasis() an extension runs in a context, or undefined if nothing matches. `vars` are
   * the channel's variables for `${NAME}` (unknown ones are empty, as in Asterisk).
   */
  route(
    context: string,
    exten: string,
    vars: ReadonlyMap<string, string> = new Map(),
  ): DialplanStasis | undefined {
    const rules = this.contexts.get(context);
    if (!rules) return undefined;
    // Asterisk prefers exact extensions over patterns; among patterns the first listed wins here.
    const rule =
      rules.find((r) => !r.pattern.startsWith('_') && r.pattern === exten) ??
      rules.find((r) => r.matcher(exten));
    if (!rule) return undefined;
    const substitute = (raw: string) =>
      raw.replace(/\$\{([A-Za-z0-9_]+)\}/g, (_, name: string) =>
        name === 'EXTEN' ? exten : (vars.get(name) ?? vars.get(`_${name}`) ?? vars.get(`__${name}`) ?? ''),
      );
    const appData = substitute(rule.appData!);
    const [app, ...args] = appData.split(',').map((s) => s.trim());
    const sets = rule.sets.map((s) => ({ name: s.name, value: substitute(s.value) }));
    return { app: app!, args, appData, sets };
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
