/**
 * Workplaces: create (also from a template), list, read, change, delete, provisioning retry,
 * devices with their SIP credentials (one by one and in bulk as CSV), and the CSV list import.
 *
 * Status: a new workplace is `pending` until its devices were pushed to Asterisk by the
 * DeviceProvisioner (→ `active`, or `failed` with the reason). While pending it cannot be
 * deleted nor its core configuration (group, area, number, extension, blocking profile,
 * devices) changed; call features stay editable (workplace-features.ts).
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Device, Workplace } from '../domain/model.js';
import { normaliseNumber } from '../domain/numbers.js';
import { defaultExtension, MAX_DEVICES } from '../domain/workplace-rules.js';
import { ConflictError } from '../store/store.js';
import { CSV_BODY_LIMIT_BYTES } from './limits.js';
import { generateSipPassword, toCsv, validateChosenSipPassword } from './credentials.js';
import { CsvSyntaxError, decodeCsv, parseCsv } from './csv.js';
import {
  type ApiDeps,
  loadCompany,
  loadWorkplace,
  nowIso,
  provisionWorkplace,
  repushIfPushedFieldsChanged,
  updateWorkplace,
} from './context.js';
import { ApiError, assertNoIssues, conflict, type FieldIssue, notFound, validationError } from './errors.js';
import { issuesAt, normalisedNumber, numberInGroup } from './rules.js';
import {
  cidParams,
  deviceInputSchema,
  deviceView,
  emailSchema,
  errorResponses,
  extensionInput,
  firstNameSchema,
  idSchema,
  languageSchema,
  lastNameSchema,
  phoneInput,
  secretTextSchema,
  timezoneSchema,
  toDeviceView,
  toWorkplaceView,
  widParams,
  workplaceView,
} from './schemas.js';
import {
  checkWorkplaceCreate,
  type CompanyContext,
  loadCompanyContext,
  newDevices,
  validateExtensionFor,
  workplaceCreateBody,
  withPinHash,
  type WorkplaceCreateInput,
} from './workplace-draft.js';

const didParams = widParams.extend({ did: idSchema });

const patchBody = z.strictObject({
  firstName: firstNameSchema.optional(),
  lastName: lastNameSchema.optional(),
  email: emailSchema.optional(),
  username: z.string().optional().describe('immutable: only the current value is accepted'),
  language: languageSchema.optional(),
  timezone: timezoneSchema.optional(),
  callerIdPresentation: z.enum(['number', 'anonymous']).optional(),
  groupId: idSchema.optional().describe('immutable once the workplace is active'),
  areaId: idSchema.nullable().optional(),
  number: phoneInput.optional(),
  extension: extensionInput.optional(),
  blockingProfileId: idSchema.nullable().optional(),
  nomadicUse: z
    .enum(['allowed', 'restricted'])
    .optional()
    .describe("restricted: the devices work only from the group's networks (pushed as their ACL)"),
});

/** Fields whose change needs a provisioned (non-pending) workplace. */
const CORE_FIELDS = ['groupId', 'areaId', 'number', 'extension', 'blockingProfileId'] as const;

export const IMPORT_COLUMNS = [
  'firstName',
  'lastName',
  'email',
  'username',
  'groupId',
  'number',
  'extension',
  'language',
  'timezone',
  'templateId',
] as const;
export const IMPORT_REQUIRED_COLUMNS = [
  'firstName',
  'lastName',
  'email',
  'username',
  'groupId',
  'number',
] as const;
export const IMPORT_MAX_ROWS = 5000;

const CREDENTIALS_CSV_HEADER = ['workplaceId', 'username', 'deviceId', 'sipUsername', 'sipPassword'] as const;

function refusePending(workplace: Workplace, what: string): void {
  if (workplace.status === 'pending') {
    throw conflict('status', `the workplace is pending (not provisioned yet); its ${what} cannot be changed`);
  }
}

export const workplacesPlugin: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const { store, config } = deps;
  const tags = ['workplaces'];
  const countryCode = config.COUNTRY_CODE;

  // raw bytes, decoded here: fastify's 'string' would turn a Latin-1 "Müller" into "M\uFFFDller"
  app.addContentTypeParser(
    'text/csv',
    { parseAs: 'buffer', bodyLimit: CSV_BODY_LIMIT_BYTES },
    (req, body, done) => done(null, decodeCsv(body as Buffer, req.headers['content-type'])),
  );

  async function companyContext(cid: string): Promise<CompanyContext> {
    return loadCompanyContext(store, await loadCompany(store, cid), countryCode);
  }

  /** Deletes the workplace everywhere: Asterisk, voicebox messages and audio, its employee tokens and accounts. */
  async function removeWorkplace(workplace: Workplace): Promise<void> {
    if (deps.provisioner) await deps.provisioner.remove(workplace);
    for (const message of await store.voicebox.list(workplace.id)) {
      await deps.recordings?.delete(message.recordingName);
      await store.voicebox.delete(workplace.id, message.id);
    }
    for (const token of await store.tokens.list(workplace.companyId)) {
      if (token.workplaceId === workplace.id) await store.tokens.delete(workplace.companyId, token.id);
    }
    for (const account of await store.accounts.list(workplace.companyId)) {
      if (account.workplaceId === workplace.id) await store.accounts.delete(account);
    }
    await store.workplaces.delete(workplace);
  }

  app.post(
    '/companies/:cid/workplaces',
    {
      config: { scope: 'company' },
      // the handler validates itself so that schema problems and company rules come in one 400
      attachValidation: true,
      schema: {
        tags,
        summary: 'Create a workplace (SIP passwords appear only in this response)',
        params: cidParams,
        body: workplaceCreateBody,
        response: { 201: workplaceView, ...errorResponses },
      },
    },
    async (request, reply) => {
      const ctx = await companyContext(request.params.cid);
      const { workplace: checked, input, issues } = checkWorkplaceCreate(request.body, ctx);
      assertNoIssues(issues);
      if (!checked) throw validationError([{ path: '', message: 'invalid workplace' }]);
      const draft = await withPinHash(checked, input);
      await store.workplaces.put(draft);
      const workplace = await provisionWorkplace(deps, draft);
      return reply.code(201).send(toWorkplaceView(workplace, true));
    },
  );

  app.get(
    '/companies/:cid/workplaces',
    {
      config: { scope: 'company' },
      schema: {
        tags,
        params: cidParams,
        querystring: z.object({
          groupId: idSchema.optional(),
          status: z.enum(['pending', 'active', 'failed']).optional(),
        }),
        response: { 200: z.array(workplaceView), ...errorResponses },
      },
    },
    async (request) => {
      const company = await loadCompany(store, request.params.cid);
      const { groupId, status } = request.query;
      return (await store.workplaces.list(company.id))
        .filter(
          (w) =>
            (groupId === undefined || w.groupId === groupId) && (status === undefined || w.status === status),
        )
        .map((w) => toWorkplaceView(w));
    },
  );

  app.get(
    '/companies/:cid/workplaces/:wid',
    {
      config: { scope: 'workplace' },
      schema: { tags, params: widParams, response: { 200: workplaceView, ...errorResponses } },
    },
    async (request) => toWorkplaceView(await loadWorkplace(store, request.params.cid, request.params.wid)),
  );

  app.patch(
    '/companies/:cid/workplaces/:wid',
    {
      config: { scope: 'company' },
      schema: {
        tags,
        params: widParams,
        body: patchBody,
        response: { 200: workplaceView, ...errorResponses },
      },
    },
    async (request) => {
      const { cid, wid } = request.params;
      const body = request.body;
      const ctx = await companyContext(cid);
      const { next, previous } = await updateWorkplace(store, cid, wid, (current) => {
        if (body.username !== undefined && body.username !== current.username) {
          throw conflict('username', 'the username cannot be changed after creation');
        }
        const changedCore = CORE_FIELDS.filter(
          (f) => body[f] !== undefined && (body[f] ?? undefined) !== current[f],
        );
        if (current.status === 'pending' && changedCore.length > 0) {
          throw new ApiError(
            409,
            'conflict',
            'the workplace is pending (not provisioned yet); its core configuration cannot be changed',
            changedCore.map((path) => ({ path, message: 'cannot change while the workplace is pending' })),
          );
        }
        if (body.groupId !== undefined && body.groupId !== current.groupId && current.status === 'active') {
          throw conflict(
            'groupId',
            'the group cannot change once the workplace is active; delete and recreate it',
          );
        }

        const issues: FieldIssue[] = [];
        const groupId = body.groupId ?? current.groupId;
        const group = ctx.groups.find((g) => g.id === groupId);
        if (!group) issues.push({ path: 'groupId', message: 'no such group in this company' });
        const number =
          body.number !== undefined
            ? normalisedNumber(body.number, 'number', countryCode, issues)
            : current.number;
        if (number !== undefined && group && !numberInGroup(number, group.numberRanges)) {
          issues.push({
            path: body.number !== undefined ? 'number' : 'groupId',
            message: `number ${number} is not inside the ranges of group "${group.name}"`,
          });
        }
        if (body.extension !== undefined)
          issues.push(...validateExtensionFor(ctx.company, body.extension, 'extension'));
        const areaId = body.areaId === undefined ? current.areaId : (body.areaId ?? undefined);
        if (areaId !== undefined) {
          const area = ctx.areas.find((a) => a.id === areaId);
          if (!area) issues.push({ path: 'areaId', message: 'no such area in this company' });
          else if (area.groupId !== groupId)
            issues.push({ path: 'areaId', message: 'the area belongs to another group' });
        }
        const blockingProfileId =
          body.blockingProfileId === undefined
            ? current.blockingProfileId
            : (body.blockingProfileId ?? undefined);
        if (blockingProfileId !== undefined && !ctx.profiles.some((b) => b.id === blockingProfileId)) {
          issues.push({ path: 'blockingProfileId', message: 'no such blocking profile in this company' });
        }
        const nomadicUse = body.nomadicUse ?? current.nomadicUse;
        if (nomadicUse === 'restricted' && group && !group.networks?.length) {
          issues.push({
            path: 'nomadicUse',
            message: `group "${group.name}" has no networks; enter the location's networks first`,
          });
        }
        if (number !== undefined && current.parallelRinging.numbers.includes(number)) {
          issues.push({
            path: 'number',
            message: 'is one of the parallel-ringing numbers of this workplace',
          });
        }
        assertNoIssues(issues);

        const { areaId: _a, blockingProfileId: _b, ...rest } = current;
        return {
          ...rest,
          ...(body.firstName !== undefined ? { firstName: body.firstName } : {}),
          ...(body.lastName !== undefined ? { lastName: body.lastName } : {}),
          ...(body.email !== undefined ? { email: body.email } : {}),
          ...(body.language !== undefined ? { language: body.language } : {}),
          ...(body.timezone !== undefined ? { timezone: body.timezone } : {}),
          ...(body.callerIdPresentation !== undefined
            ? { callerIdPresentation: body.callerIdPresentation }
            : {}),
          ...(body.extension !== undefined ? { extension: body.extension } : {}),
          groupId,
          number: number!,
          ...(areaId !== undefined ? { areaId } : {}),
          ...(blockingProfileId !== undefined ? { blockingProfileId } : {}),
          ...(body.nomadicUse !== undefined ? { nomadicUse: body.nomadicUse } : {}),
          updatedAt: nowIso(),
        };
      });
      return toWorkplaceView(await repushIfPushedFieldsChanged(deps, previous, next));
    },
  );

  app.delete(
    '/companies/:cid/workplaces/:wid',
    {
      config: { scope: 'company' },
      schema: { tags, params: widParams, response: { 204: z.null(), ...errorResponses } },
    },
    async (request, reply) => {
      const workplace = await loadWorkplace(store, request.params.cid, request.params.wid);
      if (workplace.status === 'pending') {
        throw conflict('status', 'a pending workplace cannot be deleted; provision it first');
      }
      await removeWorkplace(workplace);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/companies/:cid/workplaces/:wid/provision',
    {
      config: { scope: 'company' },
      schema: {
        tags,
        summary: 'Push the devices to Asterisk again (retry after pending / failed)',
        params: widParams,
        response: {
          200: workplaceView,
          ...errorResponses,
          503: z.object({ error: z.string(), message: z.string() }),
        },
      },
    },
    async (request) => {
      const workplace = await loadWorkplace(store, request.params.cid, request.params.wid);
      if (!deps.provisioner)
        throw new ApiError(503, 'unavailable', 'no device provisioner (Asterisk) is configured');
      return toWorkplaceView(await provisionWorkplace(deps, workplace));
    },
  );

  // ---------- devices ----------

  /** Changes the devices, stores them and pushes them to Asterisk; returns the new workplace. */
  async function changeDevices(
    cid: string,
    wid: string,
    change: (current: Workplace) => Device[],
  ): Promise<Workplace> {
    const { next, previous } = await updateWorkplace(store, cid, wid, (current) => {
      refusePending(current, 'devices');
      return { ...current, devices: change(current), updatedAt: nowIso() };
    });
    return provisionWorkplace(deps, next, previous);
  }

  app.get(
    '/companies/:cid/workplaces/:wid/devices',
    {
      config: { scope: 'company' },
      schema: { tags, params: widParams, response: { 200: z.array(deviceView), ...errorResponses } },
    },
    async (request) =>
      (await loadWorkplace(store, request.params.cid, request.params.wid)).devices.map((d) =>
        toDeviceView(d),
      ),
  );

  app.post(
    '/companies/:cid/workplaces/:wid/devices',
    {
      config: { scope: 'company' },
      schema: {
        tags,
        summary: 'Add a device; its SIP password appears only in this response',
        params: widParams,
        body: deviceInputSchema,
        response: { 201: deviceView, ...errorResponses },
      },
    },
    async (request, reply) => {
      let added: Device | undefined;
      await changeDevices(request.params.cid, request.params.wid, (current) => {
        const issues: FieldIssue[] = [];
        if (current.devices.length >= MAX_DEVICES)
          issues.push({ path: 'type', message: `the workplace already has ${MAX_DEVICES} devices` });
        const [device] = newDevices([request.body], current.username, current.devices, issues, () => '');
        assertNoIssues(issues);
        added = device!;
        return [...current.devices, device!];
      });
      return reply.code(201).send(toDeviceView(added!, true));
    },
  );

  app.delete(
    '/companies/:cid/workplaces/:wid/devices/:did',
    {
      config: { scope: 'company' },
      schema: { tags, params: didParams, response: { 204: z.null(), ...errorResponses } },
    },
    async (request, reply) => {
      const { cid, wid, did } = request.params;
      await changeDevices(cid, wid, (current) => {
        if (!current.devices.some((d) => d.id === did)) throw notFound('device');
        return current.devices.filter((d) => d.id !== did);
      });
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/companies/:cid/workplaces/:wid/devices/:did/credentials',
    {
      config: { scope: 'company' },
      schema: {
        tags,
        summary: "Regenerate one device's SIP password, or set a chosen one",
        params: didParams,
        body: z.strictObject({ password: secretTextSchema(128).optional() }).nullish(),
        response: { 200: deviceView, ...errorResponses },
      },
    },
    async (request) => {
      const { cid, wid, did } = request.params;
      const chosen = request.body?.password;
      let changed: Device | undefined;
      await changeDevices(cid, wid, (current) => {
        const device = current.devices.find((d) => d.id === did);
        if (!device) throw notFound('device');
        if (chosen !== undefined)
          assertNoIssues(issuesAt('password', validateChosenSipPassword(chosen, current.username)));
        changed = { ...device, sipPassword: chosen ?? generateSipPassword() };
        return current.devices.map((d) => (d.id === did ? changed! : d));
      });
      return toDeviceView(changed!, true);
    },
  );

  app.post(
    '/companies/:cid/workplaces/credentials',
    {
      config: { scope: 'company' },
      schema: {
        tags,
        summary: 'Regenerate the SIP passwords of every device of many workplaces; answers text/csv',
        params: cidParams,
        body: z.strictObject({ workplaceIds: z.array(idSchema).min(1).max(500) }),
        produces: ['text/csv'],
        response: {
          200: z.string().describe('CSV: workplaceId,username,deviceId,sipUsername,sipPassword'),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { cid } = request.params;
      const ids = request.body.workplaceIds;
      await loadCompany(store, cid);
      const found = await Promise.all(ids.map((id) => store.workplaces.get(cid, id)));
      const issues: FieldIssue[] = [];
      found.forEach((w, i) => {
        if (!w) issues.push({ path: `workplaceIds.${i}`, message: 'no such workplace in this company' });
        else if (w.status === 'pending')
          issues.push({ path: `workplaceIds.${i}`, message: 'the workplace is pending' });
        else if (ids.indexOf(ids[i]!) !== i)
          issues.push({ path: `workplaceIds.${i}`, message: 'listed twice' });
      });
      assertNoIssues(issues);
      const rows: string[][] = [];
      for (const w of found as Workplace[]) {
        const updated = await changeDevices(cid, w.id, (current) =>
          current.devices.map((d) => ({ ...d, sipPassword: generateSipPassword() })),
        );
        for (const d of updated.devices)
          rows.push([updated.id, updated.username, d.id, d.sipUsername, d.sipPassword]);
      }
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(toCsv(CREDENTIALS_CSV_HEADER, rows));
    },
  );

  // ---------- CSV list import ----------

  app.post(
    '/companies/:cid/workplaces/import',
    {
      config: { scope: 'company' },
      bodyLimit: CSV_BODY_LIMIT_BYTES,
      schema: {
        tags,
        summary:
          'Import many workplaces from CSV (all or nothing); SIP passwords appear only in this response',
        description:
          `Content-Type: text/csv. Header row with the columns ${IMPORT_COLUMNS.join(', ')} ` +
          `(required: ${IMPORT_REQUIRED_COLUMNS.join(', ')}). Errors name rows by their line in the file ` +
          '(the header is line 1), e.g. rows[3].number.',
        consumes: ['text/csv'],
        params: cidParams,
        body: z.string(),
        response: {
          201: z.object({ imported: z.number(), workplaces: z.array(workplaceView) }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const ctx = await companyContext(request.params.cid);
      const drafts = await draftImport(ctx, request.body);
      try {
        await store.workplaces.putMany(drafts);
      } catch (err) {
        if (err instanceof ConflictError) {
          throw conflict(err.field, `${err.message} (changed while importing; nothing was imported)`);
        }
        throw err;
      }
      const workplaces: Workplace[] = [];
      for (const draft of drafts) workplaces.push(await provisionWorkplace(deps, draft));
      return reply
        .code(201)
        .send({ imported: workplaces.length, workplaces: workplaces.map((w) => toWorkplaceView(w, true)) });
    },
  );

  /** Every row checked (shape, rules, duplicates in the file and in the store); throws one 400 naming them all. */
  async function draftImport(ctx: CompanyContext, text: string): Promise<Workplace[]> {
    let records;
    try {
      records = parseCsv(text);
    } catch (err) {
      if (err instanceof CsvSyntaxError)
        throw validationError([{ path: `rows[${err.line}]`, message: err.message }]);
      throw err;
    }
    const [header, ...rows] = records;
    if (!header) throw validationError([{ path: 'header', message: 'the file is empty' }]);
    // U+FFFD only comes from a file that already held replacement characters (its own
    // decoding went wrong earlier): never store them, name the rows instead
    const replaced = records.filter((r) => r.fields.some((f) => f.includes('\uFFFD')));
    if (replaced.length > 0) {
      throw validationError(
        replaced.map((r) => ({
          path: r === header ? 'header' : `rows[${r.line}]`,
          message: 'contains U+FFFD (a character lost in an earlier conversion); save the file as UTF-8',
        })),
      );
    }
    const columns = header.fields.map((c) => c.trim());
    const issues: FieldIssue[] = [];
    columns.forEach((column, i) => {
      if (!(IMPORT_COLUMNS as readonly string[]).includes(column)) {
        issues.push({
          path: `header.${column || i}`,
          message: `unknown column; allowed: ${IMPORT_COLUMNS.join(', ')}`,
        });
      } else if (columns.indexOf(column) !== i) {
        issues.push({ path: `header.${column}`, message: 'column appears twice' });
      }
    });
    for (const required of IMPORT_REQUIRED_COLUMNS) {
      if (!columns.includes(required))
        issues.push({ path: `header.${required}`, message: 'required column is missing' });
    }
    if (rows.length === 0) issues.push({ path: 'rows', message: 'the file has no data rows' });
    if (rows.length > IMPORT_MAX_ROWS)
      issues.push({ path: 'rows', message: `at most ${IMPORT_MAX_ROWS} rows per import` });
    assertNoIssues(issues);

    const drafts: Array<{ workplace: Workplace; input: WorkplaceCreateInput | undefined }> = [];
    // the unique keys of every row that has them, valid or not, so clashes are reported too
    const keys: Array<{ line: number; username?: string; number?: string; extension?: string }> = [];
    for (const record of rows) {
      const prefix = `rows[${record.line}]`;
      if (record.fields.length !== columns.length) {
        issues.push({
          path: prefix,
          message: `has ${record.fields.length} fields; the header has ${columns.length}`,
        });
        continue;
      }
      const object: Record<string, string> = {};
      columns.forEach((column, i) => {
        const value = record.fields[i]!.trim();
        if (value !== '') object[column] = value;
      });
      // people name the group as they see it ("Berlin"), not by its id: a unique name is as good
      if (object.groupId !== undefined && !ctx.groups.some((g) => g.id === object.groupId)) {
        const named = ctx.groups.filter((g) => g.name.trim().toLowerCase() === object.groupId!.toLowerCase());
        if (named.length === 1) object.groupId = named[0]!.id;
      }
      const checked = checkWorkplaceCreate(object, ctx, prefix);
      issues.push(...checked.issues);
      if (checked.workplace) drafts.push({ workplace: checked.workplace, input: checked.input });
      // uniqueness is checked on the raw keys too, so a row with other problems still hears of clashes
      const number =
        object.number !== undefined ? normaliseNumber(object.number, { countryCode }) : undefined;
      const extension = object.extension ?? (number !== undefined ? defaultExtension(number) : undefined);
      keys.push({
        line: record.line,
        ...(object.username !== undefined ? { username: object.username } : {}),
        ...(number !== undefined ? { number } : {}),
        ...(extension !== undefined ? { extension } : {}),
      });
    }

    // duplicates inside the file
    const firstSeen = {
      username: new Map<string, number>(),
      number: new Map<string, number>(),
      extension: new Map<string, number>(),
    };
    for (const key of keys) {
      for (const field of ['username', 'number', 'extension'] as const) {
        const value = key[field];
        if (value === undefined) continue;
        const seen = firstSeen[field].get(value);
        if (seen !== undefined) {
          issues.push({
            path: `rows[${key.line}].${field}`,
            message: `${value} is already used in line ${seen} of the file`,
          });
        } else firstSeen[field].set(value, key.line);
      }
    }

    // clashes with what is stored (the store re-checks atomically in putMany)
    if (keys.length > 0) {
      const taken = await store.numbers.taken(
        keys.flatMap((k) => (k.number !== undefined ? [k.number] : [])),
      );
      const companyWorkplaces = await store.workplaces.list(ctx.company.id);
      const portals = await store.portals.list(ctx.company.id);
      const extensions = new Set([...companyWorkplaces, ...portals].map((x) => x.extension));
      // usernames are global: asked of the username index for the file's names only, so the
      // cost follows the file, not the number of companies on the platform
      const usernames = await store.workplaces.usernamesTaken(
        keys.flatMap((k) => (k.username !== undefined ? [k.username] : [])),
      );
      for (const { line, number, extension, username } of keys) {
        if (number !== undefined && taken.has(number))
          issues.push({ path: `rows[${line}].number`, message: `${number} is already taken` });
        if (extension !== undefined && extensions.has(extension)) {
          issues.push({
            path: `rows[${line}].extension`,
            message: `extension ${extension} is already used in this company`,
          });
        }
        if (username !== undefined && usernames.has(username))
          issues.push({ path: `rows[${line}].username`, message: `username ${username} is already taken` });
      }
    }
    assertNoIssues(issues);
    // only now, with every row valid, the PINs are hashed (in the thread pool, a few at a time)
    return Promise.all(drafts.map((d) => withPinHash(d.workplace, d.input)));
  }
};
