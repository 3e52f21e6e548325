/**
 * What the event stream and the call lists carry, as zod schemas: the same definitions
 * validate in tests, type the code and document the API (OpenAPI).
 *
 * Events are versioned (`v`), carry an id (the position in the company's Redis stream, used
 * to resume), a timestamp and the company / workplace they belong to: an employee's stream
 * only carries events of its own workplace.
 */
import { z } from 'zod';

export const EVENT_VERSION = 1 as const;

export const callDirection = z.enum(['inbound', 'outbound', 'internal']);
export type CallDirection = z.infer<typeof callDirection>;

export const callOutcome = z
  .enum([
    'answered',
    'missed',
    'busy',
    'forwarded',
    'voicebox',
    'pulled',
    'blocked',
    'refused',
    'call-through',
    'emergency',
  ])
  .describe(
    'answered: a device or parallel number took it; missed: nobody did (or the caller gave up); busy; ' +
      'forwarded: connected to the forward target (forwardedTo); voicebox: went to the voicebox; ' +
      'pulled: taken over by *11 (pulledTo); blocked: a blocking profile refused it; refused: an ' +
      'Anywhere portal did not let the caller in; call-through: an employee called out through an Anywhere ' +
      "portal (its workplace's record; to: the destination, answeredAt when it answered). The portal call of " +
      'an employee who pulled a call with *11 is a record of that workplace with outcome pulled; ' +
      'emergency: a call to 110/112, dialled by Asterisk itself (answeredAt when the emergency centre answered)',
  );
export type CallOutcome = z.infer<typeof callOutcome>;

export const answeredBy = z.object({
  kind: z.enum(['device', 'number']),
  /** the device id, or the E.164 parallel-ringing number */
  id: z.string(),
});
export type AnsweredBy = z.infer<typeof answeredBy>;

/** One row of a call list. */
export const callRecordSchema = z.object({
  id: z.string().describe('the call (caller channel) id'),
  companyId: z.string(),
  workplaceId: z.string().optional(),
  portalId: z.string().optional(),
  direction: callDirection,
  from: z.string().describe('caller, E.164 when known (internal: the calling workplace number)'),
  fromDialled: z.string().describe('caller number as presented by the network'),
  to: z.string().describe('callee, E.164 when known'),
  toDialled: z.string().describe('called number as dialled'),
  startedAt: z.string(),
  answeredAt: z.string().optional(),
  endedAt: z.string(),
  durationSeconds: z.number().describe('talk time: answer to end (0 when not answered)'),
  outcome: callOutcome,
  forwardedTo: z.string().optional(),
  pulledTo: z.string().optional(),
  answeredBy: answeredBy.optional(),
  cause: z.number().optional().describe('Q.850 cause of the caller hangup when known'),
  adopted: z
    .enum(['trace', 'asterisk'])
    .optional()
    .describe(
      'set when the call outlived a restart of the controller that held it (another one took it over): ' +
        'trace — it carried on with what the first one had recorded, the record is as exact as any other; ' +
        'asterisk — nothing was recorded to carry on with, the record is rebuilt from what Asterisk told: ' +
        'startedAt is when the caller reached the PBX, answeredAt when the call was last known connected ' +
        '(at worst the takeover, so durationSeconds may be short), answeredBy, forwardedTo and the ' +
        "destination of a call-through (then a line of the company's list only) are not known",
    ),
});
export type CallRecord = z.infer<typeof callRecordSchema>;

const base = {
  v: z.literal(EVENT_VERSION),
  id: z.string().describe('stream position; send it back as ?lastEventId= to resume'),
  at: z.string().describe('ISO timestamp of the event'),
  companyId: z.string(),
  workplaceId: z.string().optional(),
};
const callBase = { ...base, callId: z.string() };

export const pbxEventSchema = z.discriminatedUnion('type', [
  z.object({
    ...callBase,
    type: z.literal('call.ringing'),
    direction: callDirection,
    from: z.string(),
    to: z.string(),
    ringing: z.array(answeredBy).describe('the devices and parallel numbers being rung'),
  }),
  z.object({ ...callBase, type: z.literal('call.answered'), answeredBy }),
  z.object({
    ...callBase,
    type: z.literal('call.forwarded'),
    to: z.string(),
    reason: z.string().describe('always, busy, noanswer or unreachable'),
  }),
  z.object({ ...callBase, type: z.literal('call.voicebox'), reason: z.string() }),
  z.object({
    ...callBase,
    type: z.literal('voicebox.message'),
    messageId: z.string(),
    durationSeconds: z.number(),
    from: z.string(),
  }),
  z.object({ ...callBase, type: z.literal('call.pulled'), to: z.string().describe('the pulling caller') }),
  z.object({ ...callBase, type: z.literal('call.blocked'), direction: callDirection, number: z.string() }),
  z.object({
    ...callBase,
    type: z.literal('call.ended'),
    direction: callDirection,
    outcome: callOutcome,
    cause: z.number().optional(),
    durationSeconds: z.number(),
  }),
  z.object({
    ...callBase,
    type: z.literal('portal.refused'),
    portalId: z.string(),
    from: z.string(),
    reason: z.string(),
  }),
  z.object({
    ...callBase,
    workplaceId: z.string(),
    type: z.literal('emergency.call'),
    device: z.string().describe('the SIP username of the device that called'),
    dialled: z.string().describe('what the phone dialled, e.g. 0112 or +49112'),
    number: z.enum(['110', '112']).describe('the emergency number the carrier was sent'),
    presented: z.string().describe('the number presented to the emergency service (From and P-Asserted-Identity)'),
    location: z
      .string()
      .optional()
      .describe("the postal address of the workplace's location (group), when one is entered"),
    startedAt: z.string(),
    endedAt: z.string(),
    answered: z.boolean().describe('the emergency centre answered'),
    dialStatus: z.string().describe("Asterisk's DIALSTATUS: ANSWER, BUSY, CONGESTION, CHANUNAVAIL, CANCEL, ..."),
    late: z
      .boolean()
      .describe('the controller learned of the call only after it was over by more than a minute (e.g. it was down)'),
  }),
  z.object({ ...base, type: z.literal('pin.locked'), where: z.enum(['voicebox', 'portal']) }),
  z.object({ ...base, type: z.literal('pin.unlocked') }),
  z.object({
    ...base,
    workplaceId: z.string(),
    callId: z.string().describe('the portal call whose call-through raised it'),
    type: z.literal('callthrough.alert'),
    kind: z
      .enum(['new-country', 'limit', 'destination-refused', 'locked'])
      .describe(
        'new-country: first call-through to a country; limit: a call-through limit was hit; ' +
          "destination-refused: premium-rate, a country the company does not allow or no valid number; locked: the workplace's " +
          'call-through is locked now (an admin lifts it: DELETE .../call-through-lock)',
      ),
    country: z.string().describe('country calling code of the destination, e.g. "44"'),
    destinationClass: z.enum(['national', 'international', 'premium-rate']),
    reason: z
      .string()
      .optional()
      .describe(
        'the refusal: locked, premium-rate, country-not-allowed, invalid-number or the limit, e.g. workplace-per-hour',
      ),
    limit: z
      .number()
      .optional()
      .describe(
        'the configured value that was hit (per hour, concurrent, minutes per day; kind locked: the refusals that lock)',
      ),
    refusalsToday: z.number().optional(),
  }),
  z.object({
    ...base,
    workplaceId: z.string(),
    type: z.literal('callthrough.locked'),
    reason: z.string().describe('the refusal that locked it'),
  }),
  z.object({ ...base, workplaceId: z.string(), type: z.literal('callthrough.unlocked') }),
  z.object({
    ...base,
    type: z.literal('device.registered'),
    endpoint: z.string(),
    contact: z.string().optional(),
  }),
  z.object({
    ...base,
    type: z.literal('device.unregistered'),
    endpoint: z.string(),
    contact: z.string().optional(),
  }),
  z.object({
    ...base,
    type: z.literal('config.changed'),
    method: z.string(),
    route: z
      .string()
      .describe('the API route that changed it, e.g. PUT /v1/companies/:cid/workplaces/:wid/forwarding'),
  }),
]);
export type PbxEvent = z.infer<typeof pbxEventSchema>;
export type PbxEventType = PbxEvent['type'];

/** An event before it is stored: the stream gives it its id. */
export type NewEvent = PbxEvent extends infer E
  ? E extends PbxEvent
    ? Omit<E, 'id' | 'v' | 'at'> & { at?: string }
    : never
  : never;

/** Control messages of the socket (not events: no id). */
export const controlMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('hello'),
    v: z.literal(EVENT_VERSION),
    scope: z.enum(['company', 'workplace']),
    workplaceId: z.string().optional(),
  }),
  z.object({
    type: z.literal('resume.gap'),
    message: z.string().describe('events after lastEventId are no longer kept; reload the call list'),
  }),
]);
