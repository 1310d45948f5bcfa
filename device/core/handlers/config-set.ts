// hearth/<id>/config/set: a whole config or a merge patch, validated (schema and each role's own
// checks), applied to the roles that changed (rolled back if one refuses), broker settings tried
// before they are kept, saved atomically, announced, and answered on hearth/<id>/reply.
import { isDeepStrictEqual } from 'node:util';
import {
  ConfigSet,
  normalizeConfig,
  mergePatch,
  ProtocolError,
  summarize,
  restoreRedacted,
  stripRedacted,
  check as checkSchema,
} from '../../../protocol/index.ts';
import { ApplyError } from '../supervisor.ts';
import { parseRequest, okReply, errorReply, RequestError } from '../requests.ts';
import type { RequestContext } from './context.ts';

export async function handleConfigSet(ctx: RequestContext, payload: Buffer): Promise<void> {
  const topic = ctx.topics.configSet(ctx.id);
  let reqId = '';
  try {
    const { id: rid, body } = parseRequest(payload);
    reqId = rid;
    const r = check(body);
    const req = r;
    await ctx.serial(async () => {
      const { config, revision } = ctx.applied();
      if (req.ifRevision !== undefined && req.ifRevision !== revision)
        throw new ProtocolError('invalid', `the applied revision is ${revision}, not ${req.ifRevision}`, [
          { path: '/ifRevision', message: `must be ${revision}` },
        ]);
      const candidate = normalizeConfig(
        req.config !== undefined ? restoreRedacted(req.config, config) : mergePatch(config, stripRedacted(req.patch)),
        ctx.schema,
      );
      if (candidate.id !== ctx.id)
        throw new ProtocolError(
          'invalid',
          `a config cannot change the device id (${ctx.id} → ${candidate.id}); provision the new id instead`,
          [{ path: '/id', message: `must be "${ctx.id}"` }],
        );
      if (isDeepStrictEqual(candidate, config)) {
        ctx.publisher.reply(okReply(reqId, topic, { revision, unchanged: true }));
        return;
      }
      // A clock change that cannot apply (its server does not resolve) is refused before anything moves.
      let applyClock: () => Promise<void>;
      try {
        applyClock = await ctx.prepareClock(candidate, config);
      } catch (e) {
        throw new ProtocolError('apply-failed', `${(e as Error).message}; the device keeps revision ${revision}`, [
          { path: '/clock/server', message: (e as Error).message },
        ]);
      }
      // Broker settings are tried before anything is kept (mqtt-trial.ts): on failure the device
      // is back on its last good settings, and this refusal is its reply once it is back.
      const mqttChanged = !isDeepStrictEqual(candidate.mqtt, config.mqtt);
      const trial = mqttChanged ? await ctx.switchBroker(candidate, config) : undefined;
      if (trial && !trial.ok) {
        throw new ProtocolError(
          'apply-failed',
          `the new broker settings did not work: ${trial.reason}; the device went back to ${config.mqtt.url} and keeps revision ${revision}`,
          [{ path: '/mqtt', message: trial.reason }],
        );
      }
      let changes;
      try {
        changes = await ctx.supervisor.apply(candidate.roles);
      } catch (e) {
        if (mqttChanged) await ctx.switchBroker(config, candidate, false);
        const ae = e as ApplyError;
        // A role's own paths (relative to its slice) are kept, under /roles/<role>.
        const own = ae.reason instanceof ProtocolError ? (ae.reason.details ?? []) : [];
        throw new ProtocolError(
          'apply-failed',
          `${ae.message}; the device keeps revision ${revision}`,
          own.length
            ? own.map((d) => ({ path: `/roles/${ae.role}${d.path}`, message: d.message }))
            : [{ path: `/roles/${ae.role}`, message: ae.reason?.message ?? ae.message }],
        );
      }
      ctx.commit(candidate, revision);
      // The house clock follows live (the roles run on the runtime's clock object, which stays).
      await applyClock();
      // A removed role's retained state and stream announcements go with it (its stop was
      // reported while it was still in the old config, so that report kept the topic).
      for (const role of changes.stopped) ctx.publisher.roleRemoved(role);
      const saved = await ctx.save(candidate);
      ctx.commit(candidate, saved);
      ctx.publisher.infoAndDiscovery();
      ctx.publisher.config_();
      ctx.log.info(`applied config revision ${saved}`, changes);
      ctx.publisher.reply(
        okReply(reqId, topic, {
          revision: saved,
          ...changes,
          ...(trial?.ok ? { broker: { url: candidate.mqtt.url, connectedInMs: trial.ms } } : {}),
        }),
      );
    });
  } catch (e) {
    const out = errorReply(e instanceof RequestError ? e.requestId : reqId, topic, e);
    ctx.log.warn(`rejected config/set: ${out.error!.message}`);
    ctx.publisher.reply(out);
  }

  function check(body: Record<string, unknown>) {
    const r = checkSchema(ConfigSet, body);
    if (!r.ok) throw new RequestError(reqId, 'invalid', `config/set is invalid: ${summarize(r.errors)}`, r.errors);
    if ((r.value.config === undefined) === (r.value.patch === undefined))
      throw new RequestError(reqId, 'invalid', 'config/set needs exactly one of "config" or "patch"', [
        { path: '', message: 'needs exactly one of config, patch' },
      ]);
    return r.value;
  }
}
