import { PJSIP_DEFAULTS } from './pjsip-defaults.js';

export interface ConfigField {
  attribute: string;
  value: string;
}
export type ConfigResult = { status: number; body: unknown };

/** Values Asterisk's sorcery rejects for a few well-known attributes ("failed field value validation"). */
const VALIDATORS: Record<string, (v: string) => boolean> = {
  auth_type: (v) => ['userpass', 'md5', 'google_oauth'].includes(v),
  max_contacts: (v) => /^\d+$/.test(v),
  remove_existing: isBool,
  remove_unavailable: isBool,
  default_expiration: (v) => /^\d+$/.test(v),
  minimum_expiration: (v) => /^\d+$/.test(v),
  maximum_expiration: (v) => /^\d+$/.test(v),
  qualify_frequency: (v) => /^\d+$/.test(v),
  rtp_symmetric: isBool,
  force_rport: isBool,
  rewrite_contact: isBool,
  direct_media: isBool,
};
function isBool(v: string): boolean {
  return /^(yes|no|true|false|on|off|1|0)$/i.test(v);
}

/**
 * ARI dynamic configuration (`/asterisk/config/dynamic/{class}/{type}/{id}`) for res_pjsip
 * endpoint/auth/aor, with the answers of push-config-device.jsonl.
 */
export class DynamicConfig {
  readonly objects = new Map<string, Record<string, string>>();

  private check(configClass: string, objectType: string): ConfigResult | undefined {
    if (configClass !== 'res_pjsip')
      return { status: 404, body: { message: `configClass '${configClass}' not found` } };
    if (!PJSIP_DEFAULTS[objectType])
      return { status: 404, body: { message: `objectType '${objectType}' not found` } };
    return undefined;
  }

  get(configClass: string, objectType: string, id: string): ConfigResult {
    const bad = this.check(configClass, objectType);
    if (bad) return bad;
    const obj = this.objects.get(`${configClass}/${objectType}/${id}`);
    if (!obj) return { status: 404, body: { message: `Object with id '${id}' not found` } };
    return { status: 200, body: toFields(obj) };
  }

  put(configClass: string, objectType: string, id: string, body: unknown): ConfigResult {
    const bad = this.check(configClass, objectType);
    if (bad) return bad;
    const fields = (body as { fields?: unknown } | undefined)?.fields ?? [];
    if (
      !Array.isArray(fields) ||
      !fields.every((f) => f && typeof f.attribute === 'string' && typeof f.value === 'string')
    ) {
      return { status: 400, body: { message: 'Fields must be an array of {attribute, value} strings' } };
    }
    const key = `${configClass}/${objectType}/${id}`;
    const defaults = PJSIP_DEFAULTS[objectType]!;
    const next = { ...(this.objects.get(key) ?? defaults) };
    for (const f of fields as ConfigField[]) {
      const valid = f.attribute in defaults && (VALIDATORS[f.attribute]?.(f.value) ?? true);
      if (!valid)
        return { status: 400, body: { message: `Update of object '${id}' failed field value validation` } };
      next[f.attribute] = f.value;
    }
    this.objects.set(key, next);
    return { status: 200, body: toFields(next) };
  }

  delete(configClass: string, objectType: string, id: string): ConfigResult {
    const bad = this.check(configClass, objectType);
    if (bad) return bad;
    if (!this.objects.delete(`${configClass}/${objectType}/${id}`)) {
      return { status: 404, body: { message: `Object with id '${id}' not found` } };
    }
    return { status: 204, body: undefined };
  }

  /** registered contacts per PJSIP endpoint (driver.registerDevice / unregisterDevice) */
  readonly contacts = new Map<string, string>();

  /** the endpoint as ARI shows it: online while a contact is registered */
  endpointJson(id: string): Record<string, unknown> {
    return {
      technology: 'PJSIP',
      resource: id,
      state: this.contacts.has(id) ? 'online' : 'offline',
      channel_ids: [],
    };
  }

  hasEndpoint(id: string): boolean {
    return this.objects.has(`res_pjsip/endpoint/${id}`);
  }
  endpointIds(): string[] {
    const ids: string[] = [];
    for (const key of this.objects.keys())
      if (key.startsWith('res_pjsip/endpoint/')) ids.push(key.slice('res_pjsip/endpoint/'.length));
    return ids;
  }
}

function toFields(obj: Record<string, string>): ConfigField[] {
  return Object.entries(obj).map(([attribute, value]) => ({ attribute, value }));
}
