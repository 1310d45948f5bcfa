// The player's stream join: what the stream choice resolves to (discovery.ts's table), the RTP and
// RTCP sockets on it, and the switch from one stream to another. Rules:
// - Joins are serialised (one chain), so a switch never interleaves with another.
// - A table change keeps the current group while the choice still resolves to it (only the entry
//   and a format learnt late are taken), and keeps playing when the choice stops resolving: the
//   player leaves a stream only when told to.
// - Every join starts a fresh Playout (deps.newPlayout): no state of one stream leaks into the next.
// - A join finishing after the role stopped closes its sockets again and changes nothing.
import type { Clock } from '../../core/clock.ts';
import type { Logger } from '../../core/log.ts';
import type { RoleLink } from '../../core/role.ts';
import type { PlayerState, playerSpec } from '../../../protocol/roles/player.ts';
import type { StreamFormat } from '../types.ts';
import type { Playout } from '../engine/playout.ts';
import { houseTimeServed } from '../../clock/role-clock.ts';
import type { Discovery, StreamEntry } from './discovery.ts';
import { openReceiver, type MulticastReceiver } from '../net.ts';

export interface Choice {
  stream?: string;
  sap?: string;
  group?: string;
  port?: number;
  format?: { rate: 44100 | 48000; channels: 1 | 2; payloadType: number };
  ssrc?: number;
}

/** The one way of naming the stream a config or a subscribe gives (stream, sap, or group+port), with its SSRC pin. */
export function pickChoice(c: Choice): Choice {
  const pin = c.ssrc !== undefined ? { ssrc: c.ssrc } : {};
  return c.stream !== undefined
    ? { stream: c.stream, ...pin }
    : c.sap !== undefined
      ? { sap: c.sap, ...pin }
      : { group: c.group, port: c.port, ...(c.format ? { format: c.format } : {}), ...pin };
}

export function choiceId(c: Choice): string {
  return c.stream ?? c.sap ?? `${c.group}:${c.port}`;
}

export type JoinReason = 'start' | 'switch' | 'table';

export interface JoinDeps {
  clock: Clock;
  log: Logger;
  link: RoleLink<typeof playerSpec>;
  iface(): string | undefined;
  sapListen(): boolean;
  discovery(): Discovery | undefined;
  /** A fresh Playout for a join (the format when known), put in front of the output loop. */
  newPlayout(format: StreamFormat | undefined): Playout;
  /** The sockets closed (a switch or a stop): the stream is not arriving any more. */
  left(): void;
  /** Something the state shows changed. */
  changed(): void;
  /** The role was stopped: a join under way changes nothing. */
  stopped(): boolean;
}

export class StreamJoin {
  choice: Choice = {};
  joined: { group: string; port: number; entry: StreamEntry | undefined } | undefined;
  /** Source address of the last RTP packet, and when it came (monotonic ms). */
  sender: string | null = null;
  lastPacketMs = -Infinity;
  playout: Playout | undefined;
  private rtp: MulticastReceiver | undefined;
  private rtcp: MulticastReceiver | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly d: JoinDeps) {}

  info(): PlayerState['stream'] {
    const c = this.choice;
    const by = c.stream !== undefined ? 'stream' : c.sap !== undefined ? 'sap' : 'explicit';
    const j = this.joined;
    const e = j?.entry;
    return {
      by,
      id: choiceId(c),
      name: e?.name ?? null,
      group: j?.group ?? null,
      port: j?.port ?? null,
      origin: !j ? 'none' : by === 'explicit' && !e ? 'explicit' : e?.origin === 'sap' ? 'sap' : e?.origin === 'mqtt' ? 'mqtt' : 'config',
    };
  }

  /** (Re)joins whatever the choice resolves to. */
  rejoin(reason: JoinReason): Promise<void> {
    this.chain = this.chain
      .then(() => this.join(reason))
      .catch((e) => {
        this.d.log.error(`joining the stream failed: ${(e as Error).message}`);
      });
    return this.chain;
  }

  /** Waits for a join under way (the role is stopped), then leaves the stream. */
  async close(): Promise<void> {
    await this.chain;
    await this.leave();
  }

  /** What the current choice resolves to now: group, port, format (or undefined: not known yet). */
  private resolve(): { group: string; port: number; format: StreamFormat | undefined; entry: StreamEntry | undefined } | undefined {
    const c = this.choice;
    const entry = this.d.discovery()?.table.resolve(c);
    if (c.group && c.port) {
      const f = c.format ? { encoding: 'L16' as const, ...c.format } : entry?.format;
      return { group: c.group, port: c.port, format: f, entry };
    }
    if (!entry || !entry.enabled) return undefined;
    return { group: entry.group, port: entry.port, format: entry.format, entry };
  }

  private async leave(): Promise<void> {
    const a = this.rtp,
      b = this.rtcp;
    this.rtp = undefined;
    this.rtcp = undefined;
    this.joined = undefined;
    this.sender = null;
    this.d.left();
    await Promise.all([a?.close(), b?.close()]);
  }

  private async join(reason: JoinReason): Promise<void> {
    if (this.d.stopped()) return;
    const { clock, log, link } = this.d;
    const r = this.resolve();
    const j = this.joined;
    if (j && r && j.group === r.group && j.port === r.port && reason === 'table') {
      j.entry = r.entry;
      if (r.format && this.playout && !this.playout.stats().format) this.playout.setFormat(r.format);
      return;
    }
    if (!r && j && reason === 'table') return; // keep playing what we have until told otherwise
    const before = j ? `${j.group}:${j.port}` : null;
    await this.leave();
    const p = this.d.newPlayout(r?.format);
    this.playout = p;
    if (!r) {
      link.publishEvent('stream-unavailable', `stream ${choiceId(this.choice)} is not announced (yet); waiting for it`);
      this.d.changed();
      return;
    }
    const onRtp = (m: { data: Buffer; from: string }) => {
      if (this.playout !== p) return;
      this.lastPacketMs = clock.now();
      this.sender = m.from;
      p.pushRtp(m.data, clock.wall());
    };
    const onRtcp = (m: { data: Buffer }) => {
      if (this.playout === p && houseTimeServed(clock)) p.pushRtcp(m.data, clock.wall());
    };
    const iface = this.d.iface();
    const rtp = await openReceiver({
      group: r.group,
      port: r.port,
      iface,
      onMessage: onRtp,
      onError: (e) => log.warn(`RTP socket: ${e.message}`),
    });
    const rtcp = await openReceiver({
      group: r.group,
      port: r.port + 1,
      iface,
      onMessage: onRtcp,
      onError: (e) => log.warn(`RTCP socket: ${e.message}`),
    });
    if (this.d.stopped()) {
      await rtp.close();
      await rtcp.close();
      return;
    }
    this.rtp = rtp;
    this.rtcp = rtcp;
    this.joined = { group: r.group, port: r.port, entry: r.entry };
    this.lastPacketMs = -Infinity;
    if (this.d.sapListen()) void this.d.discovery()?.listenSap(r.group);
    const now = `${r.group}:${r.port}`;
    log.info(`listening to ${choiceId(this.choice)} on ${now}`);
    if (reason !== 'start' && before !== now)
      link.publishEvent('stream-switched', `now playing ${choiceId(this.choice)} (${now})`, {
        ...(before ? { from: before } : {}),
        to: now,
      });
    this.d.changed();
  }
}
