import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultApiDocsDir, defaultOutDir, generate, loadApiDocs } from '../../tools/ari-codegen/generate.js';
import { ariOperations } from '../../src/ari/generated/operations.js';
import { ariEventTypes } from '../../src/ari/generated/models.js';

describe('ari-codegen', () => {
  it('regenerating from the api-docs gives exactly the committed files', async () => {
    const generated = await generate();
    for (const [file, text] of Object.entries(generated)) {
      expect(
        readFileSync(join(defaultOutDir, file), 'utf8'),
        `${file} is stale: run npm run ari-codegen`,
      ).toBe(text);
    }
  });

  it('is deterministic', async () => {
    expect(await generate()).toEqual(await generate());
  });

  it('the copied api-docs hold the same definitions as ../shared/ari/api-docs when that folder is present', () => {
    const shared = resolve(defaultOutDir, '../../../../shared/ari/api-docs');
    if (!existsSync(shared)) return; // not beside the clone: the committed copy is the source of truth
    const files = readdirSync(shared)
      .filter((f) => f.endsWith('.json'))
      .sort();
    expect(
      readdirSync(defaultApiDocsDir)
        .filter((f) => f.endsWith('.json'))
        .sort(),
    ).toEqual(files);
    for (const f of files) {
      // compared as JSON, so reformatting the copy (npm run format) does not matter
      expect(JSON.parse(readFileSync(join(defaultApiDocsDir, f), 'utf8')), f).toEqual(
        JSON.parse(readFileSync(join(shared, f), 'utf8')),
      );
    }
  });

  it('covers every REST operation of every resource (the WebSocket upgrade aside)', () => {
    const { resources } = loadApiDocs(defaultApiDocsDir);
    const table = ariOperations as Record<string, Record<string, { method: string; path: string }>>;
    let count = 0;
    for (const { name, doc } of resources) {
      for (const api of doc.apis) {
        for (const op of api.operations) {
          if (op.upgrade) continue;
          count++;
          expect(table[name]?.[op.nickname], `${name}.${op.nickname}`).toMatchObject({
            method: op.httpMethod,
            path: api.path,
          });
        }
      }
    }
    expect(count).toBeGreaterThan(90);
  });

  it('lists every Event subtype in the AriEvent union', () => {
    const { models } = loadApiDocs(defaultApiDocsDir);
    const subTypes = models.get('Event')!.subTypes!;
    expect([...ariEventTypes].sort()).toEqual([...subTypes].sort());
  });

  it.each([
    ['channels', 'create', 'POST', '/channels/create'],
    ['channels', 'dial', 'POST', '/channels/{channelId}/dial'],
    ['bridges', 'addChannel', 'POST', '/bridges/{bridgeId}/addChannel'],
    ['recordings', 'getStoredFile', 'GET', '/recordings/stored/{recordingName}/file'],
    ['asterisk', 'updateObject', 'PUT', '/asterisk/config/dynamic/{configClass}/{objectType}/{id}'],
    ['applications', 'get', 'GET', '/applications/{applicationName}'],
  ])('%s.%s is %s %s', (resource, nickname, method, path) => {
    const table = ariOperations as Record<string, Record<string, { method: string; path: string }>>;
    expect(table[resource]![nickname]).toMatchObject({ method, path });
  });
});
