// Small roles that exist only in tests, to drive the core: `probe` echoes and can be told to
// fail at start or at apply; `flaky` throws from start a set number of times, then runs.
import { Type, Obj, defineRole, ProtocolError } from '../../protocol/index.ts';
import type { RoleFactory } from '../../device/core/role.ts';

export const probeSpec = defineRole({
  name: 'probe',
  description: 'test role',
  config: Obj({ label: Type.String(), failApply: Type.Optional(Type.Boolean()), failStart: Type.Optional(Type.Boolean()) }),
  commands: {
    echo: { description: 'echoes', args: Obj({ text: Type.String({ maxLength: 100 }) }) },
    crash: { description: 'makes the role report a failure', args: Obj({}) },
  },
  state: Obj({ label: Type.String(), starts: Type.Integer() }),
  events: {},
});

export let probeStarts = 0;
export const probeRole: RoleFactory<typeof probeSpec> = (deps) => {
  let label = deps.config.label;
  return {
    async start() {
      if (deps.config.failStart) throw new Error('probe was told to fail at start');
      probeStarts++;
      deps.link.publishState({ label, starts: probeStarts });
    },
    async apply(next) {
      if (next.failApply) throw new Error('probe refuses this config');
      if (next.failStart) return 'restart';
      label = next.label;
      deps.link.publishState({ label, starts: probeStarts });
      return 'applied';
    },
    async stop() {},
    commands: {
      async echo(args) {
        return { text: args.text, label };
      },
      async crash() {
        setTimeout(() => deps.fail(new Error('probe crashed on purpose')), 10);
        return { crashing: true };
      },
    },
    telemetry: () => ({ starts: probeStarts }),
  };
};

export const probe = { spec: probeSpec, factory: probeRole };

/** `clockprobe`: says what the clock it runs on says (wall time and house clock status), and how often it started. */
export const clockProbeSpec = defineRole({
  name: 'clockprobe',
  description: 'test role: reads its clock',
  config: Obj({}),
  commands: { read: { description: "the role's clock now", args: Obj({}) } },
  state: Obj({ starts: Type.Integer() }),
  events: {},
});
export const clockProbeRole: RoleFactory<typeof clockProbeSpec> = (deps) => {
  let starts = 0;
  return {
    async start() {
      starts++;
      deps.link.publishState({ starts });
    },
    async apply() {
      return 'applied';
    },
    async stop() {},
    commands: {
      async read() {
        return { wallMs: deps.clock.wall(), osMs: Date.now(), sync: deps.clock.sync?.() ?? null, starts };
      },
    },
  };
};
export const clockProbe = { spec: clockProbeSpec, factory: clockProbeRole };
