/**
 * What a device is in Asterisk, as data: the three PJSIP sorcery objects (auth, aor, endpoint)
 * that ARI's dynamic configuration creates for it. Pure — the provisioner only sends them.
 */
import { emergencyCallerNumber } from '../domain/emergency.js';
import type { Company, Device, Group, Workplace } from '../domain/model.js';

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

/**
 * What Asterisk must know about a device's place without asking the controller: the number it
 * presents on emergency and social-number calls, which the dialplan dials itself
 * (asterisk/extensions.conf [emergency], [social]), and where it may be used from.
 */
export interface DevicePlacement {
  /** the workplace's number, else the company's main number (emergencyCallerNumber) */
  callerNumber?: string | undefined;
  /**
   * Nomadic use restricted to the location: the networks (CIDR) its devices may register and
   * call from. Undefined or empty: allowed everywhere.
   */
  permit?: readonly string[] | undefined;
}

/** The placement of a workplace's devices from its company and group (either may be gone: then none). */
export function devicePlacement(
  workplace: Pick<Workplace, 'number' | 'nomadicUse'>,
  company: Pick<Company, 'mainNumber'> | undefined,
  group: Pick<Group, 'networks'> | undefined,
): DevicePlacement {
  return {
    callerNumber: emergencyCallerNumber(workplace, company ?? {}),
    ...(workplace.nomadicUse === 'restricted' ? { permit: group?.networks ?? [] } : {}),
  };
}

/**
 * The caller-ID tag that carries the placement's number to the dialplan: "A" (presented) or "P"
 * (withheld, the workplace presents anonymously) followed by the number. Asterisk puts an
 * endpoint's `callerid_tag` on every call from the device (CALLERID(tag)), so the dialplan reads
 * the number without the controller: `${CALLERID(tag):1}`, the flag `${CALLERID(tag):0:1}`.
 * (An endpoint's `set_var` would be the obvious place, but Asterisk 22 loses it when the
 * endpoint lives in astdb: it is stored as the bare variables and not read back as set_var.)
 */
export function callerTag(
  workplace: Pick<Workplace, 'callerIdPresentation'>,
  placement: DevicePlacement,
): string {
  return `${workplace.callerIdPresentation === 'anonymous' ? 'P' : 'A'}${placement.callerNumber ?? ''}`;
}

/**
 * The endpoint fields of a placement: the caller tag.
 *
 * Not pushed: the location restriction as the endpoint's own ACL (`deny`/`permit`,
 * `contact_deny`/`contact_permit`). Asterisk 22 accepts them through ARI dynamic configuration,
 * but the astdb wizard that keeps pushed devices across restarts cannot store them: `permit` and
 * `deny` are not written at all, and `acl` is written as the text "deny/permit", which reads back
 * as a named ACL of that name that does not exist — and an unknown named ACL refuses every
 * request, so the device could not register from anywhere (verified on 22.10.1; a memory cache in
 * front of astdb crashes Asterisk at start). `permit` stays in DevicePlacement for the day the
 * endpoints live where an ACL survives (a realtime backend, named ACLs in acl.conf).
 */
export function placementFields(
  workplace: Pick<Workplace, 'callerIdPresentation'>,
  placement: DevicePlacement,
): Array<{ attribute: string; value: string }> {
  return [{ attribute: 'callerid_tag', value: callerTag(workplace, placement) }];
}

export function deviceObjects(
  workplace: Workplace,
  device: Device,
  opts: DeviceObjectOptions = DEFAULT_DEVICE_OPTIONS,
  placement: DevicePlacement = { callerNumber: workplace.number },
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
      ...placementFields(workplace, placement),
    ],
  };
  return [auth, aor, endpoint];
}
