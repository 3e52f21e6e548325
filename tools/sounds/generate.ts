/**
 * `npm run sounds`: renders every prompt of src/calls/engine/prompts.ts (de + en) into
 * sounds/<lang>/pbx/<id>.wav (8 kHz 16-bit mono) and <id>.sln16 (16 kHz raw signed linear),
 * the formats Asterisk plays without transcoding. Needs espeak-ng and sox (Debian packages).
 * Prompts whose text and settings are unchanged (sounds/manifest.json) are skipped;
 * `--force` renders everything again.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PROMPTS, type PromptId } from '../../src/calls/engine/prompts.js';
import type { Language } from '../../src/domain/model.js';
import {
  BEEP,
  LANGUAGES,
  MANIFEST_FILE,
  PITCH,
  SPEED_WPM,
  TONE_PROMPTS,
  VOICE,
  promptKey,
  sln16Path,
  specHash,
  wavPath,
  type Manifest,
} from './spec.js';

const run = promisify(execFile);
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** -R: repeatable (fixed seeds, no timestamps); -D: no dither, so output is byte-identical */
const SOX_GLOBAL = ['-R'];
const WAV_8K = ['-D', '-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer'];
const SLN_16K = ['-D', '-t', 'raw', '-r', '16000', '-c', '1', '-b', '16', '-e', 'signed-integer'];

async function renderSpeech(text: string, lang: Language, wavOut: string, slnOut: string, tmp: string): Promise<void> {
  const raw = join(tmp, 'speech.wav');
  await run('espeak-ng', ['-v', VOICE[lang], '-s', String(SPEED_WPM), '-p', String(PITCH), '-w', raw, '--', text]);
  await run('sox', [...SOX_GLOBAL, raw, ...WAV_8K, wavOut, 'norm', '-3']);
  await run('sox', [...SOX_GLOBAL, raw, ...SLN_16K, slnOut, 'norm', '-3']);
}

async function renderTone(wavOut: string, slnOut: string): Promise<void> {
  const synth = ['synth', String(BEEP.seconds), 'sine', String(BEEP.frequencyHz), 'vol', String(BEEP.volume)];
  await run('sox', [...SOX_GLOBAL, '-n', ...WAV_8K, wavOut, ...synth]);
  await run('sox', [...SOX_GLOBAL, '-n', ...SLN_16K, slnOut, ...synth]);
}

async function readManifest(path: string): Promise<Manifest> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Manifest;
  } catch {
    return { prompts: {} };
  }
}

export async function generateSounds(opts: { soundsDir: string; force?: boolean; log?: (line: string) => void }) {
  const log = opts.log ?? (() => {});
  const manifestPath = join(opts.soundsDir, MANIFEST_FILE);
  const manifest = await readManifest(manifestPath);
  const next: Manifest = { prompts: {} };
  const tmp = await mkdtemp(join(tmpdir(), 'pbx-sounds-'));
  let rendered = 0;
  let skipped = 0;
  try {
    for (const lang of LANGUAGES) {
      await mkdir(join(opts.soundsDir, lang, 'pbx'), { recursive: true });
      for (const id of Object.keys(PROMPTS).sort() as PromptId[]) {
        const text = PROMPTS[id][lang];
        const key = promptKey(lang, id);
        const hash = specHash(id, lang, text);
        const wav = wavPath(opts.soundsDir, lang, id);
        const sln = sln16Path(opts.soundsDir, lang, id);
        next.prompts[key] = hash;
        if (!opts.force && manifest.prompts[key] === hash && existsSync(wav) && existsSync(sln)) {
          skipped++;
          continue;
        }
        if (TONE_PROMPTS.has(id)) await renderTone(wav, sln);
        else await renderSpeech(text, lang, wav, sln, tmp);
        rendered++;
        log(`rendered ${key}`);
      }
      // a prompt removed from the catalogue leaves no stale audio behind
      for (const file of await readdir(join(opts.soundsDir, lang, 'pbx'))) {
        const id = file.replace(/\.(wav|sln16)$/, '');
        if (id !== file && !(id in PROMPTS)) {
          await rm(join(opts.soundsDir, lang, 'pbx', file));
          log(`removed ${lang}/${file}`);
        }
      }
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  await writeFile(manifestPath, JSON.stringify(next, null, 2) + '\n');
  return { rendered, skipped };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const force = process.argv.includes('--force');
  generateSounds({ soundsDir: join(repoRoot, 'sounds'), force, log: (l) => console.log(l) })
    .then(({ rendered, skipped }) => console.log(`sounds: ${rendered} rendered, ${skipped} unchanged`))
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    });
}
