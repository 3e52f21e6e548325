/**
 * The mail outbox: voicebox messages waiting to be mailed, over the Kv port (both backends).
 *
 * Keys under the prefix p:
 *   pmail-due                  sorted set: job id → when it is due next (epoch ms)
 *   pmail-job:<job id>         the job's state JSON (attempts, last error, who holds it until when)
 * A job id is "<workplaceId>/<messageId>". The job is created in the same atomic write as the
 * voicebox message itself (voicebox.add), so a message that is stored is also a message that
 * will be mailed, whatever happens to the process that recorded it. A sender claims a job with a
 * lease (compare-and-set on its state), so two controllers never send the same mail at once, and
 * a sender that dies leaves a job another one takes over when the lease runs out.
 */
import { canonicalJson, type AtomicWrite, type Kv, type WriteOp } from './kv.js';
import type { MailJob, MailOutboxRepo } from './store.js';

const CHANGED = '#changed';

export function mailOutboxKeys(p: string) {
  return {
    due: `${p}mail-due`,
    job: (id: string) => `${p}mail-job:${id}`,
  };
}

/** the ops that enqueue a new job (used inside voicebox.add's write) */
export function enqueueMailOps(p: string, workplaceId: string, messageId: string, dueMs: number): WriteOp[] {
  const keys = mailOutboxKeys(p);
  const id = `${workplaceId}/${messageId}`;
  const job: MailJob = { id, workplaceId, messageId, attempts: 0 };
  return [
    { op: 'zadd', key: keys.due, score: dueMs, member: id },
    { op: 'set', key: keys.job(id), value: canonicalJson(job) },
  ];
}

export function createMailOutboxRepo(
  kv: Kv,
  p: string,
  write: (w: AtomicWrite) => Promise<string | undefined>,
): MailOutboxRepo {
  const keys = mailOutboxKeys(p);
  return {
    async due(nowMs, limit) {
      const entries = await kv.zrangeByScore(keys.due, nowMs, limit);
      const jobs: MailJob[] = [];
      for (const { member } of entries) {
        const json = await kv.get(keys.job(member));
        if (json === undefined) {
          // a job whose state is gone (finished by another sender meanwhile): drop its entry
          await write({ guards: [], ops: [{ op: 'zrem', key: keys.due, member }] });
          continue;
        }
        const job = JSON.parse(json) as MailJob;
        if (job.claimedUntilMs === undefined || job.claimedUntilMs <= nowMs) jobs.push(job);
      }
      return jobs;
    },
    async claim(job, holder, untilMs) {
      const next: MailJob = { ...job, claimedBy: holder, claimedUntilMs: untilMs };
      const failed = await write({
        guards: [{ type: 'equals', key: keys.job(job.id), value: canonicalJson(job), label: CHANGED }],
        ops: [
          { op: 'set', key: keys.job(job.id), value: canonicalJson(next) },
          // not due again before the lease ends (a dead sender's job comes back then)
          { op: 'zadd', key: keys.due, score: untilMs, member: job.id },
        ],
      });
      return failed === undefined ? next : undefined;
    },
    async retry(job, dueMs, error) {
      const { claimedBy: _b, claimedUntilMs: _u, ...rest } = job;
      const next: MailJob = { ...rest, attempts: job.attempts + 1, lastError: error.slice(0, 300) };
      await write({
        guards: [{ type: 'equals', key: keys.job(job.id), value: canonicalJson(job), label: CHANGED }],
        ops: [
          { op: 'set', key: keys.job(job.id), value: canonicalJson(next) },
          { op: 'zadd', key: keys.due, score: dueMs, member: job.id },
        ],
      });
      return next;
    },
    async finish(job) {
      await write({
        guards: [],
        ops: [
          { op: 'zrem', key: keys.due, member: job.id },
          { op: 'del', key: keys.job(job.id) },
        ],
      });
    },
    async pending() {
      return (await kv.zrangeByScore(keys.due, Number.MAX_SAFE_INTEGER, 100_000)).length;
    },
  };
}
