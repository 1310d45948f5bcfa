// Sends one request (config/set or cmd) to a device and waits for its reply.
import type { MqttClient } from 'mqtt';
import { PROTOCOL_VERSION, roleSpec, type Reply } from '../../protocol/index.ts';
import { CliError } from '../tools/broker-options.ts';

export async function request(
  client: MqttClient,
  topic: string,
  replyTopic: string,
  body: Record<string, unknown>,
  timeoutMs: number,
): Promise<Reply> {
  const id = `cli-${process.pid}-${Date.now().toString(36)}`;
  const payload = JSON.stringify({ v: PROTOCOL_VERSION, id, ...body });
  const reply = new Promise<Reply>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new CliError(`no reply from the device within ${timeoutMs / 1000} s (is it online? check "hearth monitor")`, 3)),
      timeoutMs,
    );
    client.on('message', (t, p) => {
      if (t !== replyTopic) return;
      try {
        const r = JSON.parse(p.toString()) as Reply;
        if (r.id === id) {
          clearTimeout(timer);
          resolve(r);
        }
      } catch {
        /* someone else's garbage */
      }
    });
  });
  const granted = await client.subscribeAsync(replyTopic, { qos: 1 });
  if (granted.some((g) => g.qos === 128)) throw new CliError(`the broker refused to let this login read ${replyTopic}`);
  await client.publishAsync(topic, payload, { qos: 1 });
  return reply;
}

export function formatReplyError(r: Reply): string {
  const e = r.error!;
  const lines = [`error (${e.code}${e.reason ? `, ${e.reason}` : ''}): ${e.message}`];
  for (const d of e.details ?? []) lines.push(`  ${d.path || '/'}: ${d.message}`);
  return lines.join('\n');
}

/** Margin over an operation's own longest time: broker round trips, a busy device. */
export const REPLY_MARGIN_MS = 10_000;

/**
 * How long to wait for a command's reply: the command's own longest time (its spec's `maxMs`,
 * from the device's retained config, so a configured keyMaxMs counts) plus a margin; 10 s for a
 * quick command. The retained config is read from the broker (waited for at most 2 s).
 */
export async function commandTimeoutMs(client: MqttClient, configTopic: string, role: string, action: string): Promise<number> {
  const maxMs = roleSpec(role)?.commands[action]?.maxMs;
  if (!maxMs) return REPLY_MARGIN_MS;
  const applied = await new Promise<unknown>((resolve) => {
    const timer = setTimeout(() => {
      client.off('message', on);
      resolve(undefined);
    }, 2000);
    const on = (t: string, p: Buffer) => {
      if (t !== configTopic) return;
      clearTimeout(timer);
      client.off('message', on);
      try {
        resolve(JSON.parse(p.toString()));
      } catch {
        resolve(undefined);
      }
    };
    client.on('message', on);
    client.subscribe(configTopic, { qos: 1 });
  });
  const roles = (applied as { config?: { roles?: Record<string, unknown> } } | undefined)?.config?.roles;
  return maxMs(roles?.[role]) + REPLY_MARGIN_MS;
}
