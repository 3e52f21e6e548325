/**
 * What a rendered prompt depends on, in one place, so the generator can skip unchanged prompts
 * and the sounds test can tell a catalogue text that changed without re-rendering.
 */
import { createHash } from 'node:crypto';
import type { Language } from '../../src/domain/model.js';

export const LANGUAGES: readonly Language[] = ['de', 'en'];

/** espeak-ng settings: fixed so that rendering is reproducible */
export const VOICE: Record<Language, string> = { de: 'de', en: 'en' };
export const SPEED_WPM = 150;
export const PITCH = 50;

/** the beep is a tone, not speech */
export const TONE_PROMPTS: ReadonlySet<string> = new Set(['beep']);
export const BEEP = { frequencyHz: 1000, seconds: 0.4, volume: 0.5 } as const;

/** bump when the rendering pipeline changes so every prompt is re-rendered */
export const PIPELINE_VERSION = 1;

export const MANIFEST_FILE = 'manifest.json';

export interface Manifest {
  /** `${lang}/${promptId}` → specHash */
  prompts: Record<string, string>;
}

export function promptKey(lang: Language, id: string): string {
  return `${lang}/${id}`;
}

/** The hash of everything a prompt's audio is made from. */
export function specHash(id: string, lang: Language, text: string): string {
  const spec = TONE_PROMPTS.has(id)
    ? { pipeline: PIPELINE_VERSION, tone: BEEP }
    : { pipeline: PIPELINE_VERSION, voice: VOICE[lang], speed: SPEED_WPM, pitch: PITCH, text };
  return createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 16);
}

export function wavPath(soundsDir: string, lang: Language, id: string): string {
  return `${soundsDir}/${lang}/pbx/${id}.wav`;
}

export function sln16Path(soundsDir: string, lang: Language, id: string): string {
  return `${soundsDir}/${lang}/pbx/${id}.sln16`;
}
