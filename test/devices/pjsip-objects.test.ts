import { describe, expect, it } from 'vitest';
import { deviceCallerId, deviceObjects } from '../../src/devices/pjsip-objects.js';
import { workplaceFixture } from './fixtures.js';

const fields = (list: Array<{ attribute: string; value: string }>) =>
  Object.fromEntries(list.map((f) => [f.attribute, f.value]));

describe('deviceCallerId', () => {
  it.each([
    [{ firstName: 'Erika', lastName: 'Mustermann', extension: '3456' }, '"Erika Mustermann" <3456>'],
    [{ firstName: 'Jörg', lastName: 'Groß', extension: '12' }, '"Jörg Groß" <12>'],
    [{ firstName: 'Eve "the" <x>', lastName: 'Hacker\\', extension: '99' }, '"Eve the x Hacker" <99>'],
    [{ firstName: 'A\nB', lastName: '  ', extension: '100' }, '"AB" <100>'],
    [{ firstName: '"', lastName: '<>', extension: '100' }, '<100>'],
  ])('%j → %s', (wp, expected) => {
    expect(deviceCallerId(wp)).toBe(expected);
  });
});

describe('deviceObjects', () => {
  const wp = workplaceFixture();
  const device = wp.devices[0]!;
  const objects = deviceObjects(wp, device);
  const byType = Object.fromEntries(objects.map((o) => [o.objectType, o]));

  it('creates auth, aor and endpoint named by the SIP username, in that order', () => {
    expect(objects.map((o) => [o.objectType, o.id])).toEqual([
      ['auth', 'erika-1'],
      ['aor', 'erika-1'],
      ['endpoint', 'erika-1'],
    ]);
  });

  it.each([
    ['auth', 'auth_type', 'userpass'],
    ['auth', 'username', 'erika-1'],
    ['auth', 'password', 'S3cret-pass-1'],
    ['aor', 'max_contacts', '1'],
    ['aor', 'remove_existing', 'yes'],
    ['endpoint', 'context', 'from-devices'],
    ['endpoint', 'allow', '!all,g722,alaw,ulaw'],
    ['endpoint', 'auth', 'erika-1'],
    ['endpoint', 'aors', 'erika-1'],
    ['endpoint', 'callerid', '"Erika Mustermann" <3456>'],
    ['endpoint', 'language', 'de'],
    ['endpoint', 'accountcode', 'wp-1'],
    ['endpoint', 'direct_media', 'no'],
    ['endpoint', 'trust_id_inbound', 'no'],
  ])('%s.%s = %s', (type, attribute, value) => {
    expect(fields(byType[type]!.fields)[attribute]).toBe(value);
  });

  it('takes context, codecs and language from the options and the workplace', () => {
    const en = deviceObjects(workplaceFixture({ language: 'en' }), device, {
      context: 'lab',
      codecs: ['ulaw'],
      qualifySeconds: 0,
    });
    const endpoint = fields(en.find((o) => o.objectType === 'endpoint')!.fields);
    expect(endpoint).toMatchObject({ context: 'lab', allow: '!all,ulaw', language: 'en' });
  });
});
