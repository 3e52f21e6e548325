/**
 * docker-compose.yml guards (no Docker engine here to run it): the security-relevant wiring
 * must not regress — ARI and Redis never published, secrets from files, sounds where
 * Asterisk looks, Redis persistent, every service health-checked.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LANGUAGES } from '../../tools/sounds/spec.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const compose = readFileSync(join(root, 'docker-compose.yml'), 'utf8');

/** the lines of one top-level service block */
function service(name: string): string {
  const match = new RegExp(`^  ${name}:\\n((?:    .*\\n|\\n)+)`, 'm').exec(compose);
  if (!match) throw new Error(`service ${name} not found`);
  return match[1]!;
}

describe('docker-compose.yml', () => {
  it('publishes SIP and RTP but never ARI (8088) or Redis (6379)', () => {
    expect(service('asterisk')).toMatch(/['"]5060:5060\/udp['"]/);
    expect(service('asterisk')).toMatch(/['"]10000-10199:10000-10199\/udp['"]/);
    expect(compose).not.toMatch(/8088:/);
    expect(service('redis')).not.toMatch(/ports:/);
  });

  it('keeps ARI and Redis on an internal network', () => {
    expect(compose).toMatch(/\n {2}backend:\n {4}internal: true/);
    for (const s of ['asterisk', 'redis', 'controller']) expect(service(s)).toMatch(/- backend/);
    expect(service('redis')).not.toMatch(/- sip|- api/);
  });

  it('reads the ARI password from a secret file on both sides, ships none', () => {
    for (const s of ['asterisk', 'controller']) {
      expect(service(s)).toContain('ARI_PASSWORD_FILE: /run/secrets/ari_password');
      expect(service(s)).not.toMatch(/ARI_PASSWORD:/);
    }
    expect(compose).toContain('file: ./asterisk/secrets/ari_password');
    expect(readFileSync(join(root, 'asterisk/secrets/.gitignore'), 'utf8')).toMatch(/^\*$/m);
  });

  it('mounts the prompts where Asterisk finds sound:pbx/<id> for each language', () => {
    for (const lang of LANGUAGES) {
      expect(service('asterisk')).toContain(`./sounds/${lang}/pbx:/var/lib/asterisk/sounds/${lang}/pbx:ro`);
      expect(existsSync(join(root, 'sounds', lang, 'pbx'))).toBe(true);
    }
  });

  it('persists Redis (AOF), astdb and recordings; health-checks every service', () => {
    expect(service('redis')).toMatch(/--appendonly['"], ['"]yes['"]/);
    expect(service('asterisk')).toContain('asterisk-astdb:/var/lib/asterisk/astdb');
    expect(service('asterisk')).toContain('asterisk-recordings:/var/spool/asterisk/recording');
    for (const s of ['asterisk', 'redis']) expect(service(s)).toMatch(/healthcheck:/);
    // the controller image declares its HEALTHCHECK; compose waits for healthy dependencies
    expect(readFileSync(join(root, 'Dockerfile'), 'utf8')).toMatch(/HEALTHCHECK/);
    expect(service('controller')).toMatch(/condition: service_healthy/);
  });

  it('wires the controller to Asterisk and Redis by service name, devices and trunk by the SPEC defaults', () => {
    const c = service('controller');
    expect(c).toContain('ARI_URL: http://asterisk:8088');
    expect(c).toContain('REDIS_URL: redis://redis:6379');
    expect(c).toContain('DIAL_DEVICE: PJSIP/{endpoint}');
    expect(c).toContain('DIAL_EXTERNAL: PJSIP/{number}@trunk');
  });
});
