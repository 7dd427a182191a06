/**
 * tsx examples/web-banner-channel.ts
 *
 * A web site's banner slot as a Listening Post channel. Commands arrive
 * keyed by profile id; the site knows its visitors by cookie. So it keeps
 * each profile's live banner commands, and when a visitor loads a page it
 * asks the engine's profile API which profile the cookie belongs to, shows
 * that profile's banner and reports `shown` (and `clicked` when it is
 * clicked) with the cookie, the identifier it has.
 *
 * Needs a running engine (npm start) and LP_PROFILE_API_URL (e.g.
 * http://127.0.0.1:8080) with LP_PROFILE_API_TOKEN; Kafka and the registry
 * as for the engine (LP_KAFKA_*, LP_REGISTRY_*).
 */
import { ChannelClient, type EngagementCommand } from '../channel';

const inbox = new Map<string, EngagementCommand>();

async function profileOfCookie(cookie: string): Promise<string | undefined> {
  const response = await fetch(`${process.env.LP_PROFILE_API_URL}/profiles/by-identifier/anonymous_id/${encodeURIComponent(cookie)}`, {
    headers: { authorization: `Bearer ${process.env.LP_PROFILE_API_TOKEN}` },
  });
  return response.ok ? ((await response.json()) as { profileId: string }).profileId : undefined;
}

/** What the site's page handler calls: the banner for this visitor, if the engine has one. */
export async function bannerFor(client: ChannelClient, cookie: string): Promise<string | undefined> {
  const profileId = await profileOfCookie(cookie);
  const command = profileId === undefined ? undefined : inbox.get(profileId);
  if (!command || command.expiresAt < Date.now()) return undefined;
  inbox.delete(profileId!);
  await client.report(command, 'shown', { identifiers: [{ type: 'anonymous_id', value: cookie }] });
  return command.contentRef;
}

async function main(): Promise<void> {
  const client = await ChannelClient.connect({ channel: 'web', groupId: 'example-web-banners' });
  process.once('SIGINT', () => void client.close().then(() => process.exit(0)));
  await client.subscribe(async (command) => {
    if (command.action === 'banner') inbox.set(command.profileId, command);
  });
  console.log('waiting for banner commands (Ctrl-C stops)');
}

if (require.main === module) void main();
