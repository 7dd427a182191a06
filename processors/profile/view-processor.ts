import { outputs, type Processor, type ProcessorContext, type StreamRecord, type Timer } from '../../runtime/processor';
import { isForwarding, type ProfileEntry, type ProfileState } from '../model/profile-state';
import type { ProfileUpdate } from '../model/profile-update';
import type { ScoringModel } from '../scoring/model';
import type { ProfileConfig } from './config';
import { PROFILES_STORE } from '../stores';
import { profileView } from './view';

/**
 * Emits each profile's view to 'to-view' (profiles.view, compacted) on
 * change, at most once per `viewInterval` of event time per profile: an
 * update inside the interval sets a timer for its end, which emits the
 * state as it is then, so the last change is never lost. When a view was
 * last emitted is the profile's own `viewedAt` (written with the profile,
 * which an update writes anyway; a store of its own cost a changelog record
 * per view). A null value (a tombstone from the profile node, after an
 * erasure or a merge) is passed on and cancels the pending view.
 */
export const VIEW_OUTPUTS = outputs('to-view');
type Out = (typeof VIEW_OUTPUTS)[number];

export class ViewProcessor implements Processor<string, ProfileUpdate | null, Out> {
  constructor(
    private readonly config: ProfileConfig,
    private readonly model: ScoringModel,
  ) {}

  process(record: StreamRecord<string, ProfileUpdate | null>, ctx: ProcessorContext<Out>): void {
    if (record.value === null) {
      ctx.cancel(record.key);
      ctx.forward('to-view', record.key, null);
      return;
    }
    const now = ctx.streamTime;
    const profile = record.value.profile;
    if (profile.viewedAt !== null && now < profile.viewedAt + this.config.viewInterval) {
      ctx.schedule(profile.viewedAt + this.config.viewInterval, record.key);
      return;
    }
    ctx.cancel(record.key);
    this.emit(record.key, profile, now, ctx);
  }

  prefetchTimer(timer: Timer): Iterable<[string, string]> {
    return [[PROFILES_STORE, timer.key]];
  }

  async onTimer(timer: Timer, ctx: ProcessorContext<Out>): Promise<void> {
    const profiles = ctx.store<ProfileEntry>(PROFILES_STORE);
    const entry = await profiles.get(timer.key);
    if (!entry || isForwarding(entry)) return;
    this.emit(timer.key, profiles.editable(timer.key, entry), ctx.streamTime, ctx);
  }

  /** `profile` is the chain's (an update's) or taken with `editable`: its `viewedAt` is written with it. */
  private emit(id: string, profile: ProfileState, now: number, ctx: ProcessorContext<Out>): void {
    profile.viewedAt = now;
    ctx.forward('to-view', id, profileView(profile, this.model, now), { timestamp: now });
  }
}
