// Turning an incoming request (config/set or cmd) into a validated value, or a ProtocolError
// carrying the request id so the reply can echo it. One place for the envelope rules: size
// limit, JSON, object shape, accepted protocol versions.
import {
  parseJsonPayload,
  ProtocolError,
  ACCEPTED_VERSIONS,
  PROTOCOL_VERSION,
  assertValid,
  Obj,
  RequestFields,
  boundDetails,
  cut,
  type TObject,
  type Reply,
  type RoleSpec,
} from '../../protocol/index.ts';
import type { Role } from './role.ts';

export class RequestError extends ProtocolError {
  constructor(
    readonly requestId: string,
    code: ProtocolError['code'],
    message: string,
    details?: ProtocolError['details'],
  ) {
    super(code, message, details);
  }
}

/** Parses the envelope: returns the body and its request id, checking size, JSON and version. */
export function parseRequest(payload: Buffer): { id: string; body: Record<string, unknown> } {
  let raw: unknown;
  try {
    raw = parseJsonPayload(payload);
  } catch (e) {
    const pe = e as ProtocolError;
    throw new RequestError('', pe.code, pe.message, pe.details);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new RequestError('', 'invalid', 'request must be a JSON object', [{ path: '', message: 'must be object' }]);
  const body = raw as Record<string, unknown>;
  const id = typeof body.id === 'string' ? cut(body.id, 128) : '';
  if (body.v === undefined) {
    throw new RequestError(
      id,
      'invalid',
      `the request has no protocol version: add "v": ${PROTOCOL_VERSION} (this device accepts ${ACCEPTED_VERSIONS.join(', ')})`,
      [{ path: '/v', message: 'is required' }],
    );
  }
  if (!ACCEPTED_VERSIONS.includes(body.v as number)) {
    throw new RequestError(
      id,
      'unsupported-version',
      `protocol version ${JSON.stringify(body.v)} is not supported; this device speaks ${PROTOCOL_VERSION} and accepts ${ACCEPTED_VERSIONS.join(', ')}`,
      [{ path: '/v', message: `must be one of ${ACCEPTED_VERSIONS.join(', ')}` }],
    );
  }
  return { id, body };
}

/** The error for a topic under a device's cmd/ that is not cmd/<role>/<action>; echoes the request id when the payload has one. */
export function malformedCommandTopic(topic: string, payload: Buffer, example: string): RequestError {
  let id = '';
  try {
    const b = parseJsonPayload(payload) as { id?: unknown };
    if (typeof b?.id === 'string') id = cut(b.id, 128);
  } catch {
    /* no id to echo */
  }
  const shape = example;
  return new RequestError(id, 'invalid', `${cut(topic, 200)} is not a command topic: a command goes to ${shape}`, [
    { path: '', message: `topic must be ${shape}` },
  ]);
}

const schemas = new WeakMap<TObject, TObject>();
/** The full request schema of a command: the envelope plus the command's arguments. */
export function commandSchema(args: TObject): TObject {
  let s = schemas.get(args);
  if (!s) {
    s = Obj({ ...RequestFields, ...args.properties });
    schemas.set(args, s);
  }
  return s;
}

export function validateCommand(args: TObject, id: string, body: Record<string, unknown>, what: string): Record<string, unknown> {
  try {
    const v = assertValid(commandSchema(args), body, what) as Record<string, unknown>;
    const { v: _v, id: _id, ...rest } = v;
    return rest;
  } catch (e) {
    const pe = e as ProtocolError;
    throw new RequestError(id, pe.code, pe.message, pe.details);
  }
}

export function okReply(id: string, topic: string, result?: unknown): Reply {
  return { v: PROTOCOL_VERSION, id, ok: true, topic, ...(result === undefined ? {} : { result }) };
}

/** A failed reply; its size is bounded (protocol/bounds.ts) whatever the request was. */
export function errorReply(id: string, topic: string, e: unknown): Reply {
  if (e instanceof ProtocolError) {
    return {
      v: PROTOCOL_VERSION,
      id,
      ok: false,
      topic: cut(topic),
      error: {
        code: e.code,
        message: cut(e.message),
        ...(e.details?.length ? { details: boundDetails(e.details) } : {}),
        ...(e.reason ? { reason: cut(e.reason) } : {}),
      },
    };
  }
  return {
    v: PROTOCOL_VERSION,
    id,
    ok: false,
    topic: cut(topic),
    error: { code: 'failed', message: cut((e as Error)?.message ?? String(e)) },
  };
}

/**
 * Runs one command of a role the way a request does: the action looked up in the role's spec, the
 * arguments validated against it, then the role's handler of that name called. The runtime's
 * command handler and tests that drive a role directly both go through here.
 */
export async function dispatchCommand(
  spec: RoleSpec,
  role: Role,
  action: string,
  args: Record<string, unknown>,
  id = '',
): Promise<unknown> {
  const cmd = spec.commands[action];
  if (!cmd)
    throw new RequestError(
      id,
      'unknown-command',
      `${spec.name} has no command "${action}"; it has ${Object.keys(spec.commands).join(', ') || 'none'}`,
    );
  const valid = validateCommand(cmd.args, id, { v: PROTOCOL_VERSION, id: id || 'local', ...args }, `${spec.name}/${action}`);
  const handler = role.commands[action];
  if (!handler) throw new RequestError(id, 'unknown-command', `${spec.name} has no handler for "${action}"`);
  return handler(valid);
}
