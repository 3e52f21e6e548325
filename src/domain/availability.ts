/**
 * Whether a workplace takes calls at an instant: its schedule's opening hours and its
 * do-not-disturb. Pure: the flows and routing explain pass the call's instant and the
 * configuration they already hold; the ring plan (planInbound) consumes the result.
 */
import type { ForwardTarget, Workplace } from './model.js';
import { scheduleStateAt, type Schedule, type ScheduleState } from './schedules.js';

export type Availability =
  | { kind: 'available'; schedule?: { id: string; name: string; state: ScheduleState } }
  | { kind: 'do-not-disturb' }
  | {
      kind: 'closed';
      schedule: { id: string; name: string; state: ScheduleState & { open: false } };
      target: ForwardTarget;
    };

/**
 * `schedule`: the one the workplace names (undefined when it names none, or it is gone — a
 * deleted schedule cannot close a workplace: calls ring as they did before it was applied).
 */
export function availabilityOf(
  workplace: Pick<Workplace, 'doNotDisturb' | 'scheduleId' | 'closedTarget' | 'timezone'>,
  schedule: Schedule | undefined,
  instantMs: number,
): Availability {
  if (workplace.scheduleId !== undefined && schedule?.id === workplace.scheduleId) {
    const state = scheduleStateAt(schedule, instantMs, workplace.timezone);
    const named = { id: schedule.id, name: schedule.name };
    if (!state.open)
      return { kind: 'closed', schedule: { ...named, state }, target: workplace.closedTarget ?? 'voicebox' };
    if (workplace.doNotDisturb) return { kind: 'do-not-disturb' };
    return { kind: 'available', schedule: { ...named, state } };
  }
  return workplace.doNotDisturb ? { kind: 'do-not-disturb' } : { kind: 'available' };
}
