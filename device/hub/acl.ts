// Who may publish and subscribe to what. Pure, so the rules are tested directly and the same
// rules are written out for Mosquitto (docs/mqtt-acl.md, tested against a real Mosquitto).
//
// A device login <u> may publish to: hearth/<u>/#, hearth/streams/<u>/<stream>,
// homeassistant/device/<u>/config; and subscribe to: hearth/<u>/config/set, hearth/<u>/cmd/#,
// hearth/streams/# (players follow every stream), homeassistant/status. Extra grants widen this
// per login (e.g. a button device that sends another device's wake command). A controller may do
// everything. The client id of a device must be its login, so no one can kick a device off by
// reusing its client id.
import type { Login } from './credentials.ts';
import { topicMatches, filterCovers, RESERVED_LOGINS } from '../../protocol/topic-match.ts';

export interface AclSubject { user: string; rights: Login['rights']; grants?: Login['grants'] }

export { topicMatches, filterCovers, RESERVED_LOGINS };

export function publishFilters(s: AclSubject, base = 'hearth'): string[] {
  const own = RESERVED_LOGINS.includes(s.user) ? [] : [`${base}/${s.user}/#`];
  return [...own, `${base}/streams/${s.user}/+`, `homeassistant/device/${s.user}/config`, ...(s.grants?.publish ?? [])];
}

export function subscribeFilters(s: AclSubject, base = 'hearth'): string[] {
  return [
    `${base}/${s.user}/config/set`, `${base}/${s.user}/cmd/#`, `${base}/${s.user}/reply`, `${base}/streams/#`, 'homeassistant/status',
    ...(s.grants?.subscribe ?? []),
  ];
}

export function mayPublish(s: AclSubject, topic: string, base = 'hearth'): boolean {
  if (topic.startsWith('$')) return false;
  if (s.rights === 'controller') return true;
  return publishFilters(s, base).some((f) => topicMatches(f, topic));
}

export function maySubscribe(s: AclSubject, filter: string, base = 'hearth'): boolean {
  if (s.rights === 'controller') return true;
  return subscribeFilters(s, base).some((f) => filterCovers(f, filter));
}
