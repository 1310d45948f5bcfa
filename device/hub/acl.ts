// Who may publish and subscribe to what. Pure, so the rules are tested directly and the same
// rules are written out for Mosquitto (docs/mqtt-acl.md, tested against a real Mosquitto).
//
// A device login <u> may publish to: hearth/<u>/#, hearth/streams/<u>/<stream>,
// <ha>/device/<u>/config; and subscribe to: hearth/<u>/config/set, hearth/<u>/cmd/#,
// hearth/streams/# (players follow every stream), <ha>/status, where <ha> is the Home Assistant
// discovery prefix the hub's device is configured with (default homeassistant). Every filter is
// built by protocol/topics.ts, so the ACL cannot drift from the topics. Extra grants widen this
// per login (e.g. a button device that sends another device's wake command). A controller may do
// everything. The client id of a device must be its login, so no one can kick a device off by
// reusing its client id.
import type { Login } from './credentials.ts';
import { topicMatches, filterCovers, RESERVED_LOGINS } from '../../protocol/topic-match.ts';
import { topics as topicsFor, haDiscoveryTopic, haStatusTopic, checkSegment } from '../../protocol/topics.ts';

export interface AclSubject {
  user: string;
  rights: Login['rights'];
  grants?: Login['grants'];
}

export { topicMatches, filterCovers, RESERVED_LOGINS };

/** Where the ACL's topics live: the base topic and the Home Assistant discovery prefix. */
export interface AclTopics {
  base?: string;
  haPrefix?: string;
}
const where = (w: string | AclTopics | undefined): AclTopics => (typeof w === 'string' ? { base: w } : (w ?? {}));

/**
 * Filters for one login, built by the topic builders with a stand-in id then given the login: a
 * login that is no valid topic segment (a wildcard could widen a filter) owns no topic, except
 * Mosquitto's `%u` placeholder (docs/mqtt-acl.md is generated from these same rules).
 */
const STAND_IN = 'login0stand0in';
function forLogin(user: string, build: (id: string) => string[]): string[] {
  if (user !== '%u') {
    try {
      checkSegment(user, 'login');
    } catch {
      return [];
    }
  }
  return build(STAND_IN).map((f) => f.split(STAND_IN).join(user));
}

export function publishFilters(s: AclSubject, w?: string | AclTopics): string[] {
  const { base = 'hearth', haPrefix } = where(w);
  const t = topicsFor(base);
  const own = RESERVED_LOGINS.includes(s.user) ? [] : forLogin(s.user, (u) => [t.deviceFilter(u)]);
  return [...own, ...forLogin(s.user, (u) => [t.deviceStreamsFilter(u), haDiscoveryTopic(u, haPrefix)]), ...(s.grants?.publish ?? [])];
}

export function subscribeFilters(s: AclSubject, w?: string | AclTopics): string[] {
  const { base = 'hearth', haPrefix } = where(w);
  const t = topicsFor(base);
  return [
    ...forLogin(s.user, (u) => [t.configSet(u), t.cmdTreeFilter(u), t.reply(u)]),
    t.streamsTreeFilter(),
    haStatusTopic(haPrefix),
    ...(s.grants?.subscribe ?? []),
  ];
}

export function mayPublish(s: AclSubject, topic: string, w?: string | AclTopics): boolean {
  if (topic.startsWith('$')) return false;
  if (s.rights === 'controller') return true;
  return publishFilters(s, w).some((f) => topicMatches(f, topic));
}

export function maySubscribe(s: AclSubject, filter: string, w?: string | AclTopics): boolean {
  if (s.rights === 'controller') return true;
  return subscribeFilters(s, w).some((f) => filterCovers(f, filter));
}
