// Checks the parts of a waker config a JSON schema cannot: unique host names and IPs, and that
// every MAC/IP/password really parses. Errors are ProtocolErrors with one path per problem, so a
// bad config/set gets a reply that says exactly what to fix.
import { ProtocolError, type ErrorDetail } from '../../protocol/envelope.ts';
import type { WakerConfig } from '../../protocol/roles/waker.ts';
import { ipToInt, parseMac, parseSecureOn } from './addr.ts';
import { RequesterList } from './requesters.ts';

export function checkWakerConfig(c: WakerConfig): void {
  const details: ErrorDetail[] = [];
  const names = new Map<string, number>();
  const ips = new Map<string, number>();
  c.hosts.forEach((h, i) => {
    const at = `/roles/waker/hosts/${i}`;
    if (names.has(h.name)) details.push({ path: `${at}/name`, message: `duplicates host ${names.get(h.name)} ("${h.name}")` });
    else names.set(h.name, i);
    if (ips.has(h.ip)) details.push({ path: `${at}/ip`, message: `duplicates the IP of host ${ips.get(h.ip)} (${h.ip})` });
    else ips.set(h.ip, i);
    const tryParse = (path: string, fn: () => unknown) => {
      try { fn(); } catch (e) { details.push({ path, message: (e as Error).message }); }
    };
    tryParse(`${at}/ip`, () => ipToInt(h.ip));
    tryParse(`${at}/mac`, () => {
      const m = parseMac(h.mac);
      if (m.every((b) => b === 0) || m.every((b) => b === 0xff)) throw new Error('must be a host MAC, not all zeros or broadcast');
      if (m[0]! & 1) throw new Error('is a multicast MAC; a NIC never has one');
    });
    if (h.secureOn !== undefined) tryParse(`${at}/secureOn`, () => parseSecureOn(h.secureOn!));
    if (h.udp === false && !h.rawEthernet) details.push({ path: `${at}/udp`, message: 'with udp false, rawEthernet must be true (no way to send the magic packet)' });
    if (h.allow) tryParse(`${at}/allow`, () => new RequesterList(h.allow));
    if (h.deny) tryParse(`${at}/deny`, () => new RequesterList(h.deny));
  });
  if (c.deny) {
    try { new RequesterList(c.deny); } catch (e) { details.push({ path: '/roles/waker/deny', message: (e as Error).message }); }
  }
  if (details.length) {
    throw new ProtocolError('invalid', `waker config is invalid: ${details.map((d) => `${d.path} ${d.message}`).join('; ')}`, details);
  }
}
