/**
 * Every prompt of the catalogue must ship as audio in both languages, in the formats Asterisk
 * plays natively — so a new or changed prompt without `npm run sounds` fails CI.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PROMPTS, type PromptId } from '../../src/calls/engine/prompts.js';
import {
  LANGUAGES,
  MANIFEST_FILE,
  promptKey,
  sln16Path,
  specHash,
  wavPath,
  type Manifest,
} from '../../tools/sounds/spec.js';

const soundsDir = join(resolve(dirname(fileURLToPath(import.meta.url)), '../..'), 'sounds');

interface WavInfo {
  audioFormat: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  dataBytes: number;
}

/** Walks the RIFF chunks; throws naming what is wrong. */
function parseWav(buf: Buffer): WavInfo {
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('not a RIFF/WAVE file');
  }
  let fmt: Omit<WavInfo, 'dataBytes'> | undefined;
  let dataBytes: number | undefined;
  for (let off = 12; off + 8 <= buf.length;) {
    const id = buf.toString('ascii', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    if (id === 'fmt ') {
      fmt = {
        audioFormat: buf.readUInt16LE(off + 8),
        channels: buf.readUInt16LE(off + 10),
        sampleRate: buf.readUInt32LE(off + 12),
        bitsPerSample: buf.readUInt16LE(off + 22),
      };
    } else if (id === 'data') {
      dataBytes = Math.min(size, buf.length - off - 8);
    }
    off += 8 + size + (size % 2);
  }
  if (!fmt) throw new Error('no fmt chunk');
  if (dataBytes === undefined) throw new Error('no data chunk');
  return { ...fmt, dataBytes };
}

const cases = LANGUAGES.flatMap((lang) => (Object.keys(PROMPTS) as PromptId[]).map((id) => ({ lang, id })));

describe('prompt sounds', () => {
  it('the catalogue is not empty (the table below really runs)', () => {
    expect(cases.length).toBeGreaterThan(20);
  });

  it.each(cases)('$lang/$id has an 8 kHz 16-bit mono WAV', ({ lang, id }) => {
    const file = wavPath(soundsDir, lang, id);
    expect(existsSync(file), `${file} missing — run npm run sounds`).toBe(true);
    const info = parseWav(readFileSync(file));
    expect(info).toMatchObject({ audioFormat: 1, channels: 1, sampleRate: 8000, bitsPerSample: 16 });
    // at least 0.1 s of audio
    expect(info.dataBytes).toBeGreaterThanOrEqual(1600);
  });

  it.each(cases)('$lang/$id has a 16 kHz signed-linear .sln16', ({ lang, id }) => {
    const file = sln16Path(soundsDir, lang, id);
    expect(existsSync(file), `${file} missing — run npm run sounds`).toBe(true);
    const bytes = readFileSync(file).length;
    expect(bytes % 2).toBe(0);
    expect(bytes).toBeGreaterThanOrEqual(3200);
  });

  it('every sound was rendered from the current catalogue text (else run npm run sounds)', () => {
    const manifest = JSON.parse(readFileSync(join(soundsDir, MANIFEST_FILE), 'utf8')) as Manifest;
    const stale = cases
      .filter(
        ({ lang, id }) => manifest.prompts[promptKey(lang, id)] !== specHash(id, lang, PROMPTS[id][lang]),
      )
      .map(({ lang, id }) => promptKey(lang, id));
    expect(stale).toEqual([]);
  });

  it('the beep is a tone: a 1 kHz sine crosses zero about 2000 times a second', () => {
    const buf = readFileSync(wavPath(soundsDir, 'de', 'beep'));
    const info = parseWav(buf);
    const dataStart = buf.indexOf('data') + 8;
    const samples = info.dataBytes / 2;
    let crossings = 0;
    for (let i = 1; i < samples; i++) {
      const a = buf.readInt16LE(dataStart + 2 * (i - 1));
      const b = buf.readInt16LE(dataStart + 2 * i);
      if ((a < 0 && b >= 0) || (a >= 0 && b < 0)) crossings++;
    }
    const perSecond = crossings / (samples / info.sampleRate);
    expect(perSecond).toBeGreaterThan(1900);
    expect(perSecond).toBeLessThan(2100);
  });
});
