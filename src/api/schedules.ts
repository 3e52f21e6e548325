/**
 * Schedules: a company's named opening hours, public holidays (per German federal state) and
 * closed days. A workplace names one with the target its calls take while it is closed
 * (PUT …/workplaces/:wid/availability); a schedule in use cannot be deleted (the store guards it).
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { validateSchedule, WEEKDAYS, type Schedule, type ScheduleInput } from '../domain/schedules.js';
import { type ApiDeps, loadCompany, newId, nowIso } from './context.js';
import { assertNoIssues, notFound } from './errors.js';
import { cidParams, errorResponses, idSchema, nameSchema, timestampSchema } from './schemas.js';

const sidParams = cidParams.extend({ sid: idSchema });
const interval = z.strictObject({
  from: z.string().describe('"08:00"'),
  to: z.string().describe('"17:00"; "24:00" is midnight; before `from`: runs past midnight'),
});
const week = z
  .strictObject(Object.fromEntries(WEEKDAYS.map((d) => [d, z.array(interval).max(8).optional()])))
  .describe('opening hours per weekday (mon … sun); a day left out is closed');
const holidays = z
  .strictObject({
    country: z.literal('DE'),
    state: z
      .string()
      .optional()
      .describe('federal state: BB, BE, BW, BY, HB, HE, HH, MV, NI, NW, RP, SH, SL, SN, ST, TH'),
  })
  .describe('public holidays that close all day');
const closedDays = z
  .array(
    z.strictObject({
      from: z.string().describe('"2026-12-24"'),
      to: z.string().optional().describe('last closed day, inclusive'),
      name: z.string().max(100),
    }),
  )
  .max(366);
const timezone = z.string().max(64).describe('IANA name; unset: the time zone of the workplace');

const createBody = z.strictObject({
  name: nameSchema,
  timezone: timezone.optional(),
  week,
  holidays: holidays.optional(),
  closedDays: closedDays.default([]),
});
const patchBody = z.strictObject({
  name: nameSchema.optional(),
  timezone: timezone.nullable().optional(),
  week: week.optional(),
  holidays: holidays.nullable().optional(),
  closedDays: closedDays.optional(),
});

export const scheduleView = z.object({
  id: z.string(),
  companyId: z.string(),
  name: z.string(),
  timezone: z.string().optional(),
  week: z.record(z.string(), z.array(z.object({ from: z.string(), to: z.string() }))),
  holidays: z.object({ country: z.literal('DE'), state: z.string().optional() }).optional(),
  closedDays: z.array(z.object({ from: z.string(), to: z.string().optional(), name: z.string() })),
  createdAt: timestampSchema,
  updatedAt: timestampSchema,
});

/** the week as stored: only days with intervals */
function storedWeek(
  input: Record<string, Array<{ from: string; to: string }> | undefined>,
): Schedule['week'] {
  return Object.fromEntries(WEEKDAYS.flatMap((d) => (input[d]?.length ? [[d, input[d]]] : [])));
}

export const schedulesPlugin: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const { store } = deps;
  const tags = ['schedules'];

  async function loadSchedule(cid: string, sid: string): Promise<Schedule> {
    const schedule = await store.schedules.get(cid, sid);
    if (!schedule) throw notFound('schedule');
    return schedule;
  }

  app.post(
    '/companies/:cid/schedules',
    {
      config: { scope: 'company' },
      schema: {
        tags,
        params: cidParams,
        body: createBody,
        response: { 201: scheduleView, ...errorResponses },
      },
    },
    async (request, reply) => {
      const company = await loadCompany(store, request.params.cid);
      const { timezone: tz, holidays: hd, week: w, ...rest } = request.body;
      const input: ScheduleInput = {
        ...rest,
        week: storedWeek(w),
        ...(tz !== undefined ? { timezone: tz } : {}),
        ...(hd !== undefined ? { holidays: stripUndefined(hd) } : {}),
      };
      assertNoIssues(validateSchedule(input));
      const at = nowIso();
      const schedule: Schedule = {
        id: newId(),
        companyId: company.id,
        ...input,
        createdAt: at,
        updatedAt: at,
      };
      await store.schedules.put(schedule);
      return reply.code(201).send(schedule);
    },
  );

  // every employee of the company may read the opening hours (to choose theirs)
  app.get(
    '/companies/:cid/schedules',
    {
      config: { scope: 'employee' },
      schema: { tags, params: cidParams, response: { 200: z.array(scheduleView), ...errorResponses } },
    },
    async (request) => {
      const company = await loadCompany(store, request.params.cid);
      return store.schedules.list(company.id);
    },
  );

  app.get(
    '/companies/:cid/schedules/:sid',
    {
      config: { scope: 'employee' },
      schema: { tags, params: sidParams, response: { 200: scheduleView, ...errorResponses } },
    },
    async (request) => loadSchedule(request.params.cid, request.params.sid),
  );

  app.patch(
    '/companies/:cid/schedules/:sid',
    {
      config: { scope: 'company' },
      schema: {
        tags,
        params: sidParams,
        body: patchBody,
        response: { 200: scheduleView, ...errorResponses },
      },
    },
    async (request) => {
      const current = await loadSchedule(request.params.cid, request.params.sid);
      const body = request.body;
      const { timezone: _tz, holidays: _hd, ...kept } = current;
      const timezoneNext = body.timezone === undefined ? current.timezone : (body.timezone ?? undefined);
      const holidaysNext = body.holidays === undefined ? current.holidays : (body.holidays ?? undefined);
      const next: Schedule = {
        ...kept,
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.week !== undefined ? { week: storedWeek(body.week) } : {}),
        ...(body.closedDays !== undefined ? { closedDays: body.closedDays.map(stripUndefined) } : {}),
        ...(timezoneNext !== undefined ? { timezone: timezoneNext } : {}),
        ...(holidaysNext !== undefined ? { holidays: stripUndefined(holidaysNext) } : {}),
        updatedAt: nowIso(),
      };
      assertNoIssues(validateSchedule(next));
      await store.schedules.put(next, current);
      return next;
    },
  );

  app.delete(
    '/companies/:cid/schedules/:sid',
    {
      config: { scope: 'company' },
      schema: { tags, params: sidParams, response: { 204: z.null(), ...errorResponses } },
    },
    async (request, reply) => {
      // a schedule a workplace names is refused by the store itself (409, "still in use")
      await store.schedules.delete(await loadSchedule(request.params.cid, request.params.sid));
      return reply.code(204).send(null);
    },
  );
};

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
