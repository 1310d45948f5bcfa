// hearth/<id>/cmd/<role>/<action>: the device's own commands (ping, restart-role), or a role's
// command looked up in its spec, its arguments validated, run by the role's handler of that name;
// answered on hearth/<id>/reply either way.
import { DeviceCommands } from '../../../protocol/index.ts';
import { parseRequest, validateCommand, dispatchCommand, okReply, errorReply, RequestError, malformedCommandTopic } from '../requests.ts';
import { RUNTIME_VERSION } from '../version.ts';
import type { RequestContext } from './context.ts';

export async function handleCommand(ctx: RequestContext, topic: string, payload: Buffer): Promise<void> {
  const { id, topics: t, supervisor } = ctx;
  const p = t.parse(topic);
  let reqId = '';
  try {
    if (!p || p.kind !== 'cmd')
      throw malformedCommandTopic(topic, payload, t.cmd(id, 'role', 'action').replace(/role\/action$/, '<role>/<action>'));
    const { id: rid, body } = parseRequest(payload);
    reqId = rid;
    if (p.role === 'device') {
      if (p.action === 'ping') {
        validateCommand(DeviceCommands.ping.args, reqId, body, 'device/ping');
        ctx.publisher.reply(okReply(reqId, topic, { runtime: RUNTIME_VERSION, uptimeS: Math.round(process.uptime()) }));
        return;
      }
      if (p.action === 'restart-role') {
        const { role } = validateCommand(DeviceCommands['restart-role'].args, reqId, body, 'device/restart-role');
        if (typeof role !== 'string' || !supervisor.roles().includes(role))
          throw new RequestError(reqId, 'unknown-role', `role ${String(role)} is not configured on ${id}`);
        await supervisor.restart(role);
        ctx.publisher.reply(okReply(reqId, topic));
        return;
      }
      throw new RequestError(
        reqId,
        'unknown-command',
        `device has no command "${p.action}"; it has ${Object.keys(DeviceCommands).join(', ')}`,
      );
    }
    const spec = ctx.specs.find((s) => s.name === p.role);
    if (!spec) throw new RequestError(reqId, 'unknown-role', `there is no role "${p.role}"`);
    const inst = supervisor.instance(p.role);
    if (!inst) {
      if (!spec.commands[p.action])
        throw new RequestError(
          reqId,
          'unknown-command',
          `${p.role} has no command "${p.action}"; it has ${Object.keys(spec.commands).join(', ') || 'none'}`,
        );
      const view = supervisor.view(p.role);
      throw new RequestError(
        reqId,
        'role-not-running',
        view ? `${p.role} is ${view.status}${view.error ? ` (${view.error})` : ''}` : `${p.role} is not configured on ${id}`,
      );
    }
    const result = await dispatchCommand(spec, inst, p.action, body, reqId);
    ctx.publisher.reply(okReply(reqId, topic, result));
  } catch (e) {
    const out = errorReply(e instanceof RequestError ? e.requestId : reqId, topic, e);
    ctx.log.warn(`refused ${topic}: ${out.error!.message}`);
    ctx.publisher.reply(out);
  }
}
