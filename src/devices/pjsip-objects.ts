/**
 * What a device is in Asterisk, as data: the three PJSIP sorcery objects (auth, aor, endpoint)
 * that ARI's dynamic configuration creates for it. Pure — the provisioner only sends them.
 */
import type { Device, Workplace } from '../domain/model.js';

export type PjsipObjectType = 'auth' | 'aor' | 'endpoint';

export interface PjsipObject {
  objectType: PjsipObjectType;
  id: string;
  fields: Array<{ attribute: string; value: string }>;
}

export interface DeviceObjectOptions {
  /** dialplan context the device's calls enter (SPEC: Stasis(app,internal)) */
  context: string;
  /** codec preference, best first */
  codecs: readonly string[];
  /** seconds between OPTIONS pings, so an unplugged phone counts as unreachable */
  qualifySeconds: number;
}

export const DEFAULT_DEVICE_OPTIONS: DeviceObjectOptions = {
  context: 'from-devices',
  codecs: ['g722', 'alaw', 'ulaw'],
  qualifySeconds: 60,
};

/** Objects are created in this order (the endpoint references auth and aor) and deleted in reverse. */
export const CREATE_ORDER: readonly PjsipObjectType[] = ['auth', 'aor', 'endpoint'];
export const DELETE_ORDER: readonly PjsipObjectType[] = ['endpoint', 'aor', 'auth'];

// eslint-disable-next-line no-control-regex
const CALLER_ID_BREAKERS = /["<>\\\u0000-\u001f\u007f]/g;

/**
 * `"First Last" <extension>`. Quotes, angle brackets and control characters would break the
 * caller-ID syntax Asterisk parses, so they are dropped from the name.
 */
export function deviceCallerId(workplace: Pick<Workplace, 'firstName' | 'lastName' | 'extension'>): string {
  const name = `${workplace.firstName} ${workplace.lastName}`
    .replace(CALLER_ID_BREAKERS, '')
    .replace(/\s+/g, ' ')
    .trim();
  return name ? `"${name}" <${workplace.extension}>` : `<${workplace.extension}>`;
}

export function deviceObjects(
  workplace: Workplace,
  device: Device,
  opts: DeviceObjectOptions = DEFAULT_DEVICE_OPTIONS,
): PjsipObject[] {
  const id = device.sipUsername;
  const auth: PjsipObject = {
    objectType: 'auth',
    id,
    fields: [
      { attribute: 'auth_type', value: 'userpass' },
      { attribute: 'username', value: id },
      { attribute: 'password', value: device.sipPassword },
    ],
  };
  const aor: PjsipObject = {
    objectType: 'aor',
    id,
    fields: [
      // one registration per credential set: a second phone with the same credentials replaces
      // the first instead of ringing alongside it (SPEC: no double registration)
      { attribute: 'max_contacts', value: '1' },
      { attribute: 'remove_existing', value: 'yes' },
      { attribute: 'qualify_frequency', value: String(opts.qualifySeconds) },
    ],
  };
  const endpoint: PjsipObject = {
    objectType: 'endpoint',
    id,
    fields: [
      { attribute: 'context', value: opts.context },
      { attribute: 'allow', value: ['!all', ...opts.codecs].join(',') },
      { attribute: 'auth', value: id },
      { attribute: 'aors', value: id },
      { attribute: 'callerid', value: deviceCallerId(workplace) },
      { attribute: 'language', value: workplace.language },
      // every channel of the device carries its workplace (ARI Channel.accountcode), so the call
      // controller knows the caller's workplace and company without a lookup
      { attribute: 'accountcode', value: workplace.id },
      // media through Asterisk: recordings, playback and *11 bridge moves need it
      { attribute: 'direct_media', value: 'no' },
      { attribute: 'dtmf_mode', value: 'rfc4733' },
      // phones behind NAT (home office, mobile clients)
      { attribute: 'rtp_symmetric', value: 'yes' },
      { attribute: 'force_rport', value: 'yes' },
      { attribute: 'rewrite_contact', value: 'yes' },
      // a device must not choose its own caller ID
      { attribute: 'trust_id_inbound', value: 'no' },
      { attribute: 'send_pai', value: 'yes' },
    ],
  };
  return [auth, aor, endpoint];
}
