// hearth/<id>/cmd/ha/<key>: Home Assistant's plain payload for one of the device's entities ("0.4",
// "ON", "PRESS", an option). The entity (built with the discovery message, publisher.ts) says
// which commands it runs; each runs as an ordinary request (handlers/command.ts), so it is
// validated and answered on hearth/<id>/reply like any other.
import { PROTOCOL_VERSION, ProtocolError } from '../../../protocol/index.ts';
import { errorReply } from '../requests.ts';
import { handleCommand } from './command.ts';
import type { RequestContext } from './context.ts';

export async function handleHaCommand(ctx: RequestContext, key: string, payload: Buffer): Promise<void> {
  const { id, topics: t } = ctx;
  const command = ctx.publisher.haCommands.get(key);
  const topic = t.cmd(id, 'ha', key);
  const steps = command ? command(payload.toString().trim()) : `no Home Assistant entity "${key}" on ${id}`;
  if (typeof steps === 'string') {
    ctx.publisher.reply(errorReply(`ha-${key}`, topic, new ProtocolError(command ? 'invalid' : 'unknown-command', steps)));
    ctx.log.warn(`refused ${topic}: ${steps}`);
    return;
  }
  for (const c of steps)
    await handleCommand(ctx, t.cmd(id, c.role, c.action), Buffer.from(JSON.stringify({ v: PROTOCOL_VERSION, id: `ha-${key}`, ...c.args })));
}
