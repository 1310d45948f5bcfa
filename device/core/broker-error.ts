// How the MQTT link words a connection error for the log. A broker host name that does not resolve
// is said as such, with the name: otherwise it reads as a network or broker fault ("connack
// timeout", "getaddrinfo EAI_AGAIN"), and the person looks in the wrong place.
const NAME_ERRORS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL', 'EAI_NODATA']);

export function describeBrokerError(url: string, e: Error): string {
  const err = e as NodeJS.ErrnoException & { hostname?: string };
  if (err.code && NAME_ERRORS.has(err.code)) {
    let host = err.hostname;
    if (!host)
      try {
        host = new URL(url).hostname;
      } catch {
        host = url;
      }
    const why = err.code === 'EAI_AGAIN' ? 'no answer from the name service, try again later' : 'no such name';
    const hint = host.endsWith('.local') ? '; a .local name needs mDNS on this network (the hub answering for it)' : '';
    return `broker ${url}: the host name "${host}" does not resolve (${err.code}: ${why})${hint}`;
  }
  return `broker ${url}: ${e.message}`;
}
