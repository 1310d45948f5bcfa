// MQTT topic filters: matching a topic name, and one filter covering another. Pure; used by the
// device's link (dispatching messages to subscriptions) and the hub's ACL alike.

/** True when MQTT topic filter `filter` matches topic name `topic`. */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/'),
    t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return i < t.length || t.length === i; // "a/#" also matches "a"
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** True when every topic matched by filter `inner` is also matched by filter `outer`. */
export function filterCovers(outer: string, inner: string): boolean {
  const o = outer.split('/'),
    n = inner.split('/');
  for (let i = 0; i < o.length; i++) {
    if (o[i] === '#') return true;
    if (i >= n.length) return false;
    if (n[i] === '#') return false;
    if (o[i] === '+') continue;
    if (n[i] === '+' || o[i] !== n[i]) return false;
  }
  return o.length === n.length;
}

/**
 * Logins that cannot be device ids: `<base>/streams/` holds every device's stream announcements,
 * so a device login "streams" would own all of them through `<base>/<login>/#`.
 */
export const RESERVED_LOGINS: readonly string[] = ['streams'];
