// Sends one request (config/set or cmd) to a device and waits for its reply.
import type { MqttClient } from 'mqtt';
import { PROTOCOL_VERSION, type Reply } from '../../protocol/index.ts';
import { CliError } from './broker-options.ts';

export async function request(client: MqttClient, topic: string, replyTopic: string, body: Record<string, unknown>, timeoutMs: number): Promise<Reply> {
  const id = `cli-${process.pid}-${Date.now().toString(36)}`;
  const payload = JSON.stringify({ v: PROTOCOL_VERSION, id, ...body });
  const reply = new Promise<Reply>((resolve, reject) => {
    const timer = setTimeout(() => reject(new CliError(`no reply from the device within ${timeoutMs / 1000} s (is it online? check "hearth monitor")`, 3)), timeoutMs);
    client.on('message', (t, p) => {
      if (t !== replyTopic) return;
      try {
        const r = JSON.parse(p.toString()) as Reply;
        if (r.id === id) { clearTimeout(timer); resolve(r); }
      } catch { /* someone else's garbage */ }
    });
  });
  const granted = await client.subscribeAsync(replyTopic, { qos: 1 });
  if (granted.some((g) => g.qos === 128)) throw new CliError(`the broker refused to let this login read ${replyTopic}`);
  await client.publishAsync(topic, payload, { qos: 1 });
  return reply;
}

export function formatReplyError(r: Reply): string {
  const e = r.error!;
  const lines = [`error (${e.code}): ${e.message}`];
  for (const d of e.details ?? []) lines.push(`  ${d.path || '/'}: ${d.message}`);
  return lines.join('\n');
}
