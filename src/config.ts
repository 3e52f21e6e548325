/**
 * The environment, parsed once. A bad value stops the process with a message naming the
 * variable (see loadConfig). Every variable is optional with a sensible default.
 */
import { isIP } from 'node:net';
import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);
const url = z.url();

export const configSchema = z.object({
  PORT: port.default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  /** unset → in-memory store (nothing persisted) */
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  ARI_URL: url.default('http://127.0.0.1:8088'),
  ARI_USERNAME: z.string().min(1).optional(),
  ARI_PASSWORD: z.string().min(1).optional(),
  /** read the ARI password from a file (docker secrets) when ARI_PASSWORD is unset */
  ARI_PASSWORD_FILE: z.string().min(1).optional(),
  ARI_APP: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only')
    .default('pbx'),
  /** set ARI_ENABLED=false to run the provisioning API without a call controller */
  ARI_ENABLED: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  ADMIN_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  COUNTRY_CODE: z
    .string()
    .regex(/^[1-9][0-9]{0,2}$/, '1 to 3 digits, no leading 0 or +')
    .default('49'),
  DIAL_DEVICE: z
    .string()
    .includes('{endpoint}', { message: 'must contain {endpoint}' })
    .default('PJSIP/{endpoint}'),
  DIAL_EXTERNAL: z
    .string()
    .includes('{number}', { message: 'must contain {number}' })
    .default('PJSIP/{number}@trunk'),
  /** number that reaches the voicebox retrieval menu from anywhere (optional) */
  VOICEBOX_ACCESS_NUMBER: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * the web app's public address (https://pbx.example.com), used in the links of invitation and
   * password-reset mails; self-service password reset mails are only sent when it is set
   */
  PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** smtp://user:pass@host:port or smtps://… — invitations and resets are also mailed when set */
  SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
  SMTP_FROM: z.email().default('pbx@localhost.localdomain'),
  /** voicebox mails attach the WAV up to this size, else link to the web app (needs PUBLIC_URL) */
  VOICEBOX_MAIL_MAX_BYTES: z.coerce.number().int().positive().default(10 * 1024 * 1024),
  /**
   * Reverse proxies whose X-Forwarded-For is believed (comma-separated addresses or CIDRs).
   * Unset → the socket address is the client: a forged X-Forwarded-For changes nothing.
   */
  TRUST_PROXY: z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(
      z.array(
        z.string().refine((entry) => {
          const [addr, bits, extra] = entry.split('/');
          const family = isIP(addr ?? '');
          if (family === 0 || extra !== undefined) return false;
          if (bits === undefined) return true;
          const n = Number(bits);
          return /^[0-9]+$/.test(bits) && n <= (family === 4 ? 32 : 128);
        }, 'a comma-separated list of IP addresses or CIDRs, e.g. 10.0.0.1,172.16.0.0/12'),
      ),
    )
    .optional(),
  /**
   * 32-byte key (64 hex digits or base64) that encrypts SIP passwords at rest in Redis;
   * unset → they are stored in clear (logged as a warning at start)
   */
  SECRET_KEY: z
    .string()
    .regex(
      /^([0-9a-fA-F]{64}|[A-Za-z0-9+/_-]{43}=?)$/,
      '32 bytes as 64 hex digits or base64 (openssl rand -base64 32)',
    )
    .optional(),
  /** read SECRET_KEY from a file (docker secret) when SECRET_KEY is unset */
  SECRET_KEY_FILE: z.string().min(1).optional(),
  /**
   * identifies this controller in the store (several may share Redis): the next process of the
   * controller of one Asterisk must have the same, to find the recordings in progress and
   * registry entries the last one left. Default: `<ARI_APP>@<ARI_URL's host:port>`
   */
  CONTROLLER_ID: z.string().min(1).optional(),
  /** SIGTERM → exit within this, whatever is down (keep below the orchestrator's grace period) */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(9000),
  /** admission control: new calls are refused (cause 34) beyond this many set-ups in flight (0 = off) */
  ADMISSION_MAX_SETUPS: z.coerce.number().int().min(0).default(30),
  /** … or while the moving average of ARI REST latency is above this, in ms (0 = off) */
  ADMISSION_MAX_REST_LATENCY_MS: z.coerce.number().int().min(0).default(200),
  /** … or while the event loop's mean delay over the last 0.5 s is above this, in ms (0 = off) */
  ADMISSION_MAX_EVENT_LOOP_DELAY_MS: z.coerce.number().int().min(0).default(200),
  /**
   * shedding at the edge: the dialplan refuses a share of new trunk calls (cause 34) while
   * admitted calls' set-up (channel created → set-up over) p90 is above this, in ms (0 = off)
   */
  SHED_TARGET_SETUP_MS: z.coerce.number().int().min(0).max(60_000).default(30),
  /**
   * … or while more set-ups than this are in flight at once (0 = not a signal): the queue
   * shows here before set-ups get slow
   */
  SHED_TARGET_IN_FLIGHT: z.coerce.number().int().min(0).max(100_000).default(10),
  /**
   * … or while the moving average of ARI REST latency is above this, in ms (0 = not a signal):
   * Asterisk answers slower as soon as its threads wait for a core
   */
  SHED_TARGET_REST_MS: z.coerce.number().int().min(0).max(60_000).default(25),
  /** … at most this share of new trunk calls, in percent */
  SHED_MAX_PERCENT: z.coerce.number().int().min(1).max(99).default(95),
  /** … and never below this many trunk calls per second let through */
  SHED_MIN_RATE: z.coerce.number().int().min(1).max(100_000).default(100),
  /** idle mixing bridges kept for the next calls (0 = a bridge per call, destroyed after it) */
  BRIDGE_POOL_MAX: z.coerce.number().int().min(0).max(10_000).default(64),
  /** no call waits longer than this for Redis (a call-path lookup or write then fails fast) */
  CALL_STORE_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  /** call lists: how long a call is kept, and at most how many per workplace / per company */
  CALL_LIST_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  CALL_LIST_MAX_PER_WORKPLACE: z.coerce.number().int().min(10).max(1_000_000).default(5000),
  CALL_LIST_MAX_PER_COMPANY: z.coerce.number().int().min(10).max(10_000_000).default(50_000),
  /** event stream: resume window, events kept per company for it, ticket lifetime, slow-client limit */
  EVENTS_RESUME_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  EVENTS_MAX_PER_COMPANY: z.coerce.number().int().min(10).max(1_000_000).default(1000),
  EVENT_TICKET_TTL_SECONDS: z.coerce.number().int().min(5).max(3600).default(30),
  EVENTS_MAX_BUFFERED_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
  /** /metrics: bearer token for it on the API port, and/or a separate listen address host:port */
  METRICS_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  METRICS_LISTEN: z
    .string()
    .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):[0-9]{1,5}$/, 'host:port, e.g. 127.0.0.1:9464')
    .optional(),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: Array<{ variable: string; message: string }>) {
    super('invalid environment: ' + problems.map((p) => `${p.variable}: ${p.message}`).join('; '));
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // empty strings count as unset, as shells and compose files often produce them
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = configSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => ({ variable: String(i.path[0] ?? '?'), message: i.message })),
    );
  }
  return parsed.data;
}
