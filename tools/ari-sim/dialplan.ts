/**
 * The subset of Asterisk's extensions.conf the simulator understands:
 * `[context]` sections and extensions that end in `Stasis(app[,args...])` — `exten =>
 * PATTERN,1,Stasis(...)`, or `exten => PATTERN,1,Set(NAME=VALUE)` followed by `same => n,...`
 * lines (more `Set`s, then the `Stasis`) — with `_`-patterns (X Z N . ! [..]) and `${EXTEN}` /
 * `${VARIABLE}` substitution (a channel variable, else a global one; `${EPOCH}` and
 * `${RAND(min,max)}` as Asterisk's). Before the Stasis an extension may also run
 * `GotoIf($[expression]?label)` to a `same => n(label),Hangup(cause)` line — the shedding
 * gate of the trunk contexts; `$[...]` knows comparisons, `&`, `|` and parentheses, numeric
 * when both sides are integers (ast_expr2). An extension may also end in `Goto(context,exten,1)`
 * (followed, with the Sets so far) or in `Dial(dialstring)` — the emergency and social numbers
 * Asterisk dials by itself (asterisk/extensions.conf [emergency], [social]): the route then names
 * the dial string instead of a Stasis. `${NAME:offset:length}` substrings, nested `${A_${B}}` and
 * `${CALLERID(tag)}`-style names (a channel variable of that name) are substituted like Asterisk's.
 * Every other line is ignored, like a dialplan application the simulator does not run.
 */
export interface DialplanStasis {
  app: string;
  args: string[];
  /** `app,args` as Asterisk shows it in `dialplan.app_data` (after substitution). */
  appData: string;
  /** `Set(NAME=VALUE)` run before the Stasis, in order, values substituted */
  sets: Array<{ name: string; value: string }>;
  /** set when a GotoIf before the Stasis jumped to a `Hangup(cause)`: the channel ends there */
  hangupCause?: number;
  /** that GotoIf's data after substitution, as Asterisk shows it in `dialplan.app_data` */
  gotoIfData?: string;
  /** set when the extension ends in Dial() (app is then 'Dial'): the dial string, substituted */
  dial?: string;
  /** the context and extension the Dial() ran in (after any Goto) */
  dialContext?: { context: string; exten: string };
}

interface Rule {
  pattern: string;
  matcher: (exten: string) => boolean;
  /** raw, with ${EXTEN}; undefined until the extension's Stasis line is read */
  appData?: string;
  sets: Array<{ name: string; value: string }>; // raw values
  /** GotoIf(condition?label) lines before the Stasis (raw) */
  gates: Array<{ condition: string; label: string }>;
  /** `same => n(label),Hangup(cause)` lines */
  hangups: Map<string, number>;
  /** the terminal application: Stasis (appData), Dial (appData = its data) or Goto */
  terminal?: 'Stasis' | 'Dial' | 'Goto';
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
      const same = /^same\s*=>?\s*n(?:\(([\w-]+)\))?\s*,\s*(\w+)\((.*)\)\s*$/i.exec(line);
      let app: string;
      let data: string;
      if (ext) {
        const pattern = ext[1]!.trim();
        current = { pattern, matcher: compilePattern(pattern), sets: [], gates: [], hangups: new Map() };
        this.contexts.get(context)!.push(current);
        [app, data] = [ext[3]!, ext[4]!.trim()];
      } else if (same && current && same[1] && /^hangup$/i.test(same[2]!)) {
        current.hangups.set(same[1], Number(same[3]!.trim() || '16'));
        continue;
      } else if (same && current && current.appData === undefined) {
        [app, data] = [same[2]!, same[3]!.trim()];
      } else continue;
      if (/^stasis$/i.test(app)) {
        current!.appData = data;
        current!.terminal = 'Stasis';
      } else if (/^(dial|goto)$/i.test(app)) {
        current!.appData = data;
        current!.terminal = /^dial$/i.test(app) ? 'Dial' : 'Goto';
      } else if (/^gotoif$/i.test(app)) {
        // GotoIf(condition?label): the condition is everything before the last '?'
        const q = data.lastIndexOf('?');
        if (q > 0) current!.gates.push({ condition: data.slice(0, q), label: data.slice(q + 1).trim() });
      } else if (/^set$/i.test(app)) {
        const eq = data.indexOf('=');
        if (eq > 0) current!.sets.push({ name: data.slice(0, eq).trim(), value: data.slice(eq + 1) });
      }
    }
    // an extension that never reaches a Stasis(), Dial() or Goto() is nothing the simulator can run
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
    globals: ReadonlyMap<string, string> = new Map(),
  ): DialplanStasis | undefined {
    const channelVars = new Map(vars);
    const sets: Array<{ name: string; value: string }> = [];
    // Goto chains are followed (a bounded number of hops, as a loop guard)
    for (let hop = 0; hop < 8; hop++) {
      const rules = this.contexts.get(context);
      if (!rules) return undefined;
      // Asterisk prefers exact extensions over patterns; among patterns the first listed wins here.
      const rule =
        rules.find((r) => !r.pattern.startsWith('_') && r.pattern === exten) ??
        rules.find((r) => r.matcher(exten));
      if (!rule) return undefined;
      const substitute = (raw: string) => substituteVariables(raw, exten, channelVars, globals);
      for (const set of rule.sets) {
        const value = substitute(set.value);
        sets.push({ name: set.name, value });
        // later lines read what earlier ones set (CALLERID(num), PBX_DIALLED, ...)
        channelVars.set(set.name, value);
      }
      const appData = substitute(rule.appData!);
      if (rule.terminal === 'Goto') {
        const [c, e] = appData.split(',').map((x) => x.trim());
        if (!c || !e) return undefined;
        [context, exten] = [c, e];
        continue;
      }
      if (rule.terminal === 'Dial') {
        return {
          app: 'Dial',
          args: [appData],
          appData,
          sets,
          dial: appData,
          dialContext: { context, exten },
        };
      }
      const [app, ...args] = appData.split(',').map((x) => x.trim());
      for (const gate of rule.gates) {
        const condition = substitute(gate.condition);
        const expr = /^\$\[(.*)\]$/s.exec(condition.trim());
        if (!isTrue(expr ? evaluate(expr[1]!) : condition.trim())) continue;
        const cause = rule.hangups.get(gate.label);
        if (cause !== undefined) {
          return {
            app: app!,
            args,
            appData,
            sets,
            hangupCause: cause,
            gotoIfData: `${condition}?${gate.label}`,
          };
        }
      }
      return { app: app!, args, appData, sets };
    }
    return undefined;
  }
}

/**
 * `${...}` the way Asterisk substitutes what the simulator's dialplans use: innermost first (so
 * `${PBX_PRES_${CALLERID(tag):0:1}}` works), `${EXTEN}`, `${EPOCH}`, `${RAND(min,max)}`, a channel
 * variable (also by a function-like name such as `CALLERID(tag)`), else a global one, unknown ones
 * empty; `:offset[:length]` takes a substring (a negative length drops from the end).
 */
export function substituteVariables(
  raw: string,
  exten: string,
  vars: ReadonlyMap<string, string>,
  globals: ReadonlyMap<string, string>,
): string {
  const variable = (name: string): string => {
    if (name === 'EXTEN') return exten;
    if (name === 'EPOCH') return String(Math.floor(Date.now() / 1000));
    const rand = /^RAND\((-?\d+),(-?\d+)\)$/.exec(name);
    if (rand) {
      const [min, max] = [Number(rand[1]), Number(rand[2])];
      return String(min + Math.floor(Math.random() * (max - min + 1)));
    }
    return vars.get(name) ?? vars.get(`_${name}`) ?? vars.get(`__${name}`) ?? globals.get(name) ?? '';
  };
  let text = raw;
  for (let guard = 0; guard < 32; guard++) {
    const next = text.replace(/\$\{([^${}]+)\}/, (_, inner: string) => {
      const sub = /^([A-Za-z0-9_]+(?:\([^()]*\))?)(?::(-?\d+)(?::(-?\d+))?)?$/.exec(inner);
      if (!sub) return '';
      const value = variable(sub[1]!);
      if (sub[2] === undefined) return value;
      const offset = Number(sub[2]);
      const start = offset < 0 ? Math.max(0, value.length + offset) : offset;
      if (sub[3] === undefined) return value.slice(start);
      const length = Number(sub[3]);
      return length < 0 ? value.slice(start, value.length + length) : value.slice(start, start + length);
    });
    if (next === text) return text;
    text = next;
  }
  return text;
}

/** Asterisk's truth of an expression result: not empty and not "0". */
function isTrue(value: string): boolean {
  return value !== '' && value !== '0';
}

const INTEGER = /^[+-]?\d+$/;

/**
 * `$[...]` the way ast_expr2 reads what the simulator's dialplan uses: operands, `=` `!=` `<`
 * `>` `<=` `>=` (numeric when both sides are integers, else as strings), then `&`, then `|`,
 * and parentheses. Exported for table tests.
 */
export function evaluate(expression: string): string {
  const tokens = expression.match(/\(|\)|!=|<=|>=|[=<>&|]|[^\s()=<>&|!]+/g) ?? [];
  let i = 0;
  const peek = () => tokens[i];
  const operand = (): string => {
    const t = tokens[i++];
    if (t === '(') {
      const v = or();
      i++; // ')'
      return v;
    }
    return t ?? '';
  };
  const compare = (): string => {
    const left = operand();
    const op = peek();
    if (op !== '=' && op !== '!=' && op !== '<' && op !== '>' && op !== '<=' && op !== '>=') return left;
    i++;
    const right = operand();
    const numeric = INTEGER.test(left) && INTEGER.test(right);
    const c = numeric ? Number(left) - Number(right) : left < right ? -1 : left > right ? 1 : 0;
    const result = { '=': c === 0, '!=': c !== 0, '<': c < 0, '>': c > 0, '<=': c <= 0, '>=': c >= 0 }[op];
    return result ? '1' : '0';
  };
  const and = (): string => {
    let left = compare();
    while (peek() === '&') {
      i++;
      const right = compare();
      left = isTrue(left) && isTrue(right) ? left : '0';
    }
    return left;
  };
  const or = (): string => {
    let left = and();
    while (peek() === '|') {
      i++;
      const right = and();
      left = isTrue(left) ? left : isTrue(right) ? right : '0';
    }
    return left;
  };
  return or();
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
