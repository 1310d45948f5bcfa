// A small fleet in a known state at T0, for render snapshots: a healthy hub, a device with a
// failed role and a bad message, an offline device, and one that refused a request.
import { FleetModel } from '../../../device/monitor/model.ts';
import { T0, t, info, state, telemetry, event } from './fixtures.ts';

export interface SceneMessage {
  topic: string;
  payload: string;
  at: number;
  retained: boolean;
}

/** The messages of the scene, in arrival order (the web console's tests fold the same ones). */
export function sceneMessages(): SceneMessage[] {
  const out: SceneMessage[] = [];
  const ap = (topic: string, payload: string, at: number, retained = false) => {
    out.push({ topic, payload, at, retained });
  };
  ap(t.status('hub'), 'online', T0 - 1000, true);
  ap(t.info('hub'), info('hub', ['hub'], { name: 'Hall box' }), T0 - 1000, true);
  ap(
    t.state('hub', 'hub'),
    state('hub', 'running', T0 - 190_000, {
      detail: { mqtt: '0.0.0.0:1883', ws: '0.0.0.0:8080', clients: 3, logins: 2, anonymous: false },
    }),
    T0 - 1000,
    true,
  );
  ap(t.telemetry('hub'), telemetry(), T0 - 4000);

  ap(t.status('den'), 'online', T0 - 1000, true);
  ap(t.info('den'), info('den', ['waker']), T0 - 1000, true);
  ap(
    t.state('den', 'waker'),
    state('waker', 'failed', T0 - 12_000, { restarts: 3, nextRestartInMs: 4000, error: 'cap: permission denied' }),
    T0 - 1000,
    true,
  );
  ap(t.telemetry('den'), telemetry({ cpuPct: 1, temperatureC: undefined }), T0 - 2000);
  ap(t.event('den', 'waker'), event('role-failed', 'waker failed: cap: permission denied'), T0 - 12_000);
  ap(t.event('den', 'waker'), event('demand', 'ARP for theobromine from 192.168.1.58'), T0 - 30_000);
  ap(t.state('den', 'player'), '{"v":2,"role":"player","status":"running","since":"x"}', T0 - 500);

  ap(t.status('attic'), 'offline', T0 - 1000, true);
  ap(t.info('attic'), info('attic', ['waker']), T0 - 1000, true);
  ap(
    t.state('attic', 'waker'),
    state('waker', 'running', T0 - 3_600_000, {
      detail: {
        hosts: [
          {
            name: 'theobromine',
            ip: '10.0.0.5',
            mac: 'aa:bb:cc:dd:ee:ff',
            state: 'asleep',
            since: '2026-01-01T11:00:00Z',
            seenAgoS: 60,
            lastSeenAt: null,
            wakes: 0,
            lastWake: null,
          },
        ],
        interfaces: [],
      },
    }),
    T0 - 1000,
    true,
  );

  ap(t.status('study'), 'online', T0 - 70_000);
  ap(
    t.reply('study'),
    JSON.stringify({
      v: 2,
      id: 'c1',
      ok: false,
      topic: t.cmd('study', 'waker', 'wake'),
      error: { code: 'not-found', message: 'no host "x"' },
    }),
    T0 - 5000,
  );
  return out;
}

export function scene(): FleetModel {
  const m = new FleetModel();
  for (const msg of sceneMessages()) m.apply(msg);
  return m;
}
