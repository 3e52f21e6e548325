/**
 * The controller's ARI event filter must list every event type the code acts on: a handler
 * for a filtered type would silently never run. Derived from the source, so a new
 * `on('X')` / `type === 'X'` / `case 'X'` anywhere in src/ fails here until X is listed.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ariEventTypes } from '../../../src/ari/generated/models.js';
import { CONTROLLER_EVENT_TYPES } from '../../../src/calls/engine/event-filter.js';

const srcDir = resolve(__dirname, '../../../src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'generated' ? [] : sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

describe('controller event filter', () => {
  it('allows every ARI event type named in src/', () => {
    const known = new Set<string>(ariEventTypes);
    const used = new Map<string, string>();
    for (const file of sources(srcDir)) {
      if (file.endsWith('event-filter.ts')) continue;
      for (const m of readFileSync(file, 'utf8').matchAll(/'([A-Z][A-Za-z]+)'/g))
        if (known.has(m[1]!)) used.set(m[1]!, file.slice(srcDir.length + 1));
    }
    const missing = [...used].filter(
      ([type]) => !(CONTROLLER_EVENT_TYPES as readonly string[]).includes(type),
    );
    expect(missing).toEqual([]);
    expect(used.size).toBeGreaterThan(5);
  });

  it('lists nothing dead: each type is named in src/ (PlaybackFailed is handled though Asterisk 22 never sends it)', () => {
    const text = sources(srcDir)
      .filter((f) => !f.endsWith('event-filter.ts'))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    expect(CONTROLLER_EVENT_TYPES.filter((t) => !text.includes(`'${t}'`))).toEqual([]);
  });
});
