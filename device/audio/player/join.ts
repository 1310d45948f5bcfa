// The player's stream join: what the stream choice resolves to (discovery.ts's table), the RTP and
// RTCP sockets on it, and the switch from one stream to another. Rules:
// - Joins are serialised (one chain), so a switch never interleaves with another.
// - A table change keeps the current group while the choice still resolves to it (only the entry
//   and a format learnt late are taken), and keeps playing when the choice stops resolving: the
//   player leaves a stream only when told to.
// - Every join starts a fresh Playout (deps.newPlayout): no state of one stream leaks into the next.
// - A join finishing after the role stopped closes its sockets again and changes nothing.
// - A port that cannot be bound (EADDRINUSE: another socket on this host holds it without
//   SO_REUSEADDR, typically one that got it as an ephemeral port) is never a silent death: the
//   state carries `stream.error`, one `stream-bind-failed` event per episode, and the join is
//   retried after 0.5, 1, then every 2 s until it binds (`stream-bound`) or the choice changes.
import type { Clock, TimerHandle } from '../../core/clock.ts';
import { Backoff } from '../../core/backoff.ts';
import type { Logger } from '../../core/log.ts';
import type { RoleLink } from '../../core/role.ts';
import { STREAM_PORT_LIMIT, type PlayerState, type playerSpec } from '../../../protocol/roles/player.ts';
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

export type JoinReason = 'start' | 'switch' | 'table' | 'retry';

/** Retries of a stream port that could not be bound: 0.5 s, 1 s, then every 2 s. */
export const BIND_RETRY = { minMs: 500, maxMs: 2000, jitter: 0 } as const;

/** Why the player's sockets are not on the stream's port, since when (monotonic ms). */
export interface BindError {
  target: string;
  message: string;
  code: string | null;
  sinceMs: number;
}

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
  /** Set while the chosen stream's port cannot be bound (retried). */
  bindError: BindError | undefined;
  private retryTimer: TimerHandle | undefined;
  private readonly retries = new Backoff(BIND_RETRY);

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
      ...(this.bindError ? { error: this.bindError.message } : {}),
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
    this.d.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.chain;
    this.d.clock.clearTimeout(this.retryTimer);
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
    // Any join supersedes a pending retry; a failure below schedules the next one.
    clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const failed = this.bindError;
    this.bindError = undefined;
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
    const target = `${r.group}:${r.port}`;
    let rtp: MulticastReceiver, rtcp: MulticastReceiver;
    try {
      rtp = await openReceiver({
        group: r.group,
        port: r.port,
        iface,
        onMessage: onRtp,
        onError: (e) => log.warn(`RTP socket: ${e.message}`),
      });
      try {
        rtcp = await openReceiver({
          group: r.group,
          port: r.port + 1,
          iface,
          onMessage: onRtcp,
          onError: (e) => log.warn(`RTCP socket: ${e.message}`),
        });
      } catch (e) {
        await rtp.close();
        throw e;
      }
    } catch (e) {
      this.bindFailed(target, r.port, e as NodeJS.ErrnoException, failed?.target === target ? failed : undefined);
      return;
    }
    if (this.d.stopped()) {
      await rtp.close();
      await rtcp.close();
      return;
    }
    this.retries.reset();
    if (failed?.target === target) {
      const failedMs = Math.round(clock.now() - failed.sinceMs);
      const after = `after ${(failedMs / 1000).toFixed(1)} s of ${failed.code ?? 'bind errors'}`;
      log.info(`bound ${target} ${after}`);
      link.publishEvent('stream-bound', `listening on ${target} ${after}`, { failedMs });
    }
    this.rtp = rtp;
    this.rtcp = rtcp;
    this.joined = { group: r.group, port: r.port, entry: r.entry };
    this.lastPacketMs = -Infinity;
    if (this.d.sapListen()) void this.d.discovery()?.listenSap(r.group);
    const now = `${r.group}:${r.port}`;
    log.info(`listening to ${choiceId(this.choice)} on ${now}`);
    if (reason !== 'start' && reason !== 'retry' && before !== now)
      link.publishEvent('stream-switched', `now playing ${choiceId(this.choice)} (${now})`, {
        ...(before ? { from: before } : {}),
        to: now,
      });
    this.d.changed();
  }

  /** The stream's sockets could not be opened: say so (once per episode), retry with backoff. */
  private bindFailed(target: string, port: number, e: NodeJS.ErrnoException, ongoing: BindError | undefined): void {
    const { clock, log, link } = this.d;
    if (this.d.stopped()) return;
    const code = typeof e.code === 'string' ? e.code : null;
    const why =
      code === 'EADDRINUSE'
        ? `: another socket on this host holds the port without SO_REUSEADDR (often one that got it as an ephemeral port: keep stream ports below ${STREAM_PORT_LIMIT} and net.ipv4.ip_local_port_range at ${STREAM_PORT_LIMIT} 65535)`
        : '';
    const message = `cannot listen on ${target} (RTCP ${port + 1}): ${e.message}${why}; retrying`;
    if (!ongoing) this.retries.reset();
    const retryMs = this.retries.next();
    this.bindError = { target, message, code, sinceMs: ongoing?.sinceMs ?? clock.now() };
    if (!ongoing || ongoing.message !== message) {
      log.warn(message);
      link.publishEvent('stream-bind-failed', message, { error: e.message, ...(code ? { code } : {}), retryMs });
    }
    this.retryTimer = clock.setTimeout(() => {
      this.retryTimer = undefined;
      void this.rejoin('retry');
    }, retryMs);
    this.d.changed();
  }
}
