/**
 * Call lists: one workplace's calls (its employee may read them) and the company-wide view
 * (admins). Newest first, cursor paging, filters by direction, outcome and time range; CSV
 * with `Accept: text/csv` or `?format=csv`.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CallRecordStore } from '../events/backend.js';
import { callDirection, callOutcome, callRecordSchema, type CallRecord } from '../events/model.js';
import { csvField } from './credentials.js';
import { type ApiDeps, loadCompany, loadWorkplace } from './context.js';
import { cidParams, errorResponses, widParams } from './schemas.js';

export interface CallsDeps extends ApiDeps {
  callRecords?: CallRecordStore;
}

const isoTime = z.iso.datetime({ offset: true, message: 'an ISO 8601 timestamp, e.g. 2026-11-30T08:00:00Z' });

export const callListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z
    .string()
    .max(200)
    .regex(/^[A-Za-z0-9_-]+$/, 'not a cursor from a previous page')
    .optional(),
  direction: callDirection.optional(),
  outcome: callOutcome.optional(),
  from: isoTime.optional().describe('calls that started at or after this time'),
  to: isoTime.optional().describe('calls that started at or before this time'),
  format: z.enum(['json', 'csv']).optional().describe('csv: the same as Accept: text/csv'),
});

const callPage = z.object({
  items: z.array(callRecordSchema),
  nextCursor: z.string().optional().describe('absent on the last page'),
});

export const CALL_CSV_COLUMNS = [
  'id',
  'workplaceId',
  'direction',
  'from',
  'fromDialled',
  'to',
  'toDialled',
  'startedAt',
  'answeredAt',
  'endedAt',
  'durationSeconds',
  'outcome',
  'forwardedTo',
  'pulledTo',
  'answeredByKind',
  'answeredBy',
  'cause',
  // last, so that spreadsheets reading the earlier columns by position keep working
  'adopted',
] as const;

/**
 * A spreadsheet must never run a caller-supplied value as a formula: anything starting with
 * = + - @ TAB CR gets a leading apostrophe, except plain numbers such as +4930123456.
 */
export function safeCsvField(value: string): string {
  const guarded = /^[=+\-@\t\r]/.test(value) && !/^\+?[0-9]+$/.test(value) ? `'${value}` : value;
  return csvField(guarded);
}

export function callsToCsv(items: CallRecord[]): string {
  const rows = items.map((r) => [
    r.id,
    r.workplaceId ?? '',
    r.direction,
    r.from,
    r.fromDialled,
    r.to,
    r.toDialled,
    r.startedAt,
    r.answeredAt ?? '',
    r.endedAt,
    String(r.durationSeconds),
    r.outcome,
    r.forwardedTo ?? '',
    r.pulledTo ?? '',
    r.answeredBy?.kind ?? '',
    r.answeredBy?.id ?? '',
    r.cause !== undefined ? String(r.cause) : '',
    r.adopted ?? '',
  ]);
  return [[...CALL_CSV_COLUMNS], ...rows].map((row) => row.map(safeCsvField).join(',')).join('\r\n') + '\r\n';
}

function wantsCsv(format: string | undefined, accept: string | undefined): boolean {
  if (format) return format === 'csv';
  return typeof accept === 'string' && /(^|,)\s*text\/csv/i.test(accept);
}

export const callsPlugin: FastifyPluginAsyncZod<CallsDeps> = async (app, deps) => {
  const { store } = deps;
  const tags = ['call lists'];
  const empty = { items: [] as CallRecord[] };

  async function page(
    q: z.infer<typeof callListQuery>,
    companyId: string,
    workplaceId?: string,
  ): Promise<{ items: CallRecord[]; nextCursor?: string }> {
    if (!deps.callRecords) return empty;
    return deps.callRecords.list({
      companyId,
      ...(workplaceId ? { workplaceId } : {}),
      limit: q.limit,
      ...(q.cursor ? { cursor: q.cursor } : {}),
      ...(q.from ? { from: q.from } : {}),
      ...(q.to ? { to: q.to } : {}),
      ...(q.direction ? { direction: q.direction } : {}),
      ...(q.outcome ? { outcome: q.outcome } : {}),
    });
  }

  const description =
    'Newest first. Follow nextCursor for the next page (keep the same filters). Kept for ' +
    'CALL_LIST_RETENTION_DAYS (default 90) and at most CALL_LIST_MAX_PER_WORKPLACE calls per workplace. ' +
    'CSV with Accept: text/csv or format=csv (one page; columns ' +
    CALL_CSV_COLUMNS.join(', ') +
    '; the nextCursor is in the Link header).';

  app.get(
    '/companies/:cid/workplaces/:wid/calls',
    {
      config: { scope: 'workplace' },
      schema: {
        tags,
        summary: "One workplace's call list (its employee may read it)",
        description,
        params: widParams,
        querystring: callListQuery,
        produces: ['application/json', 'text/csv'],
        response: { 200: callPage, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { cid, wid } = request.params;
      await loadWorkplace(store, cid, wid);
      const result = await page(request.query, cid, wid);
      return respond(reply, result, wantsCsv(request.query.format, request.headers.accept));
    },
  );

  app.get(
    '/companies/:cid/calls',
    {
      config: { scope: 'company' },
      schema: {
        tags,
        summary: 'The company-wide call list (admins): one record per call and workplace',
        description,
        params: cidParams,
        querystring: callListQuery,
        produces: ['application/json', 'text/csv'],
        response: { 200: callPage, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { cid } = request.params;
      await loadCompany(store, cid);
      const result = await page(request.query, cid);
      return respond(reply, result, wantsCsv(request.query.format, request.headers.accept));
    },
  );

  function respond(
    reply: import('fastify').FastifyReply,
    result: { items: CallRecord[]; nextCursor?: string },
    csv: boolean,
  ) {
    if (!csv) return result;
    if (result.nextCursor) reply.header('link', `<?cursor=${result.nextCursor}>; rel="next"`);
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('cache-control', 'no-store')
      .serializer((payload: unknown) => payload as string)
      .send(callsToCsv(result.items));
  }
};
