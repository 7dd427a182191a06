import type { Processor, ProcessorContext, StreamRecord, Timer } from '../../runtime/processor';
import { isForwarding, type ProfileEntry, type ProfileState } from '../model/profile-state';
import type { ProfileUpdate } from '../model/profile-update';
import type { ScoringModel } from '../scoring/model';
import type { ProfileConfig } from './config';
import { PROFILES } from './profile-processor';
import { profileView } from './view';

/** Store of the time (event time) each profile's view was last emitted. */
export const VIEWS = 'views';

/**
 * Emits each profile's view to 'views' (profiles.view, compacted) on
 * change, at most once per `viewInterval` of event time per profile: an
 * update inside the interval sets a timer for its end, which emits the
 * state as it is then, so the last change is never lost. A null value (a
 * tombstone from the profile node, after an erasure or a merge) is passed
 * on and forgets the profile here too.
 */
export class ViewProcessor implements Processor<string, ProfileUpdate | null> {
  constructor(
    private readonly config: ProfileConfig,
    private readonly model: ScoringModel,
  ) {}

  async process(record: StreamRecord<string, ProfileUpdate | null>, ctx: ProcessorContext): Promise<void> {
    const views = ctx.store<number>(VIEWS);
    if (record.value === null) {
      views.delete(record.key);
      ctx.cancel(record.key);
      ctx.forward('views', record.key, null);
      return;
    }
    const now = ctx.streamTime;
    const last = await views.get(record.key);
    if (last !== undefined && now < last + this.config.viewInterval) {
      ctx.schedule(last + this.config.viewInterval, record.key);
      return;
    }
    ctx.cancel(record.key);
    this.emit(record.key, record.value.profile, now, ctx);
  }

  prefetchTimer(timer: Timer): Iterable<[string, string]> {
    return [
      [PROFILES, timer.key],
      [VIEWS, timer.key],
    ];
  }

  async onTimer(timer: Timer, ctx: ProcessorContext): Promise<void> {
    const profile = await ctx.store<ProfileEntry>(PROFILES).get(timer.key);
    if (!profile || isForwarding(profile)) {
      ctx.store<number>(VIEWS).delete(timer.key);
      return;
    }
    this.emit(timer.key, profile, ctx.streamTime, ctx);
  }

  private emit(id: string, profile: ProfileState, now: number, ctx: ProcessorContext): void {
    ctx.store<number>(VIEWS).put(id, now);
    ctx.forward('views', id, profileView(profile, this.model, now), { timestamp: now });
  }
}
