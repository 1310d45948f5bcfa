// The one envelope for every request (config/set and cmd) and every reply.
import { Type, Obj, type Static } from './kit.ts';

export const Version = Type.Integer({ minimum: 1, maximum: 1000, description: 'protocol version of this message' });
export const RequestId = Type.String({ minLength: 1, maxLength: 128, description: 'request id, echoed in the reply' });

/** Fields every request carries. Command argument schemas are merged into this. */
export const RequestFields = { v: Version, id: RequestId };

export const ErrorCode = Type.Union(
  [
    'bad-json',
    'too-large',
    'invalid',
    'unsupported-version',
    'unknown-role',
    'unknown-command',
    'role-not-running',
    'busy',
    'apply-failed',
    'timeout',
    'not-found',
    'failed',
    'internal',
  ].map((c) => Type.Literal(c)),
  { description: 'machine-readable error code' },
);
export type ErrorCode = Static<typeof ErrorCode>;

export const ErrorDetail = Obj({
  path: Type.String({ description: 'JSON path of the offending value ("" for the whole payload)' }),
  message: Type.String(),
});
export type ErrorDetail = Static<typeof ErrorDetail>;

export const Reply = Obj(
  {
    v: Version,
    id: Type.String({ description: 'the request id this answers ("" when the request had none)' }),
    ok: Type.Boolean(),
    topic: Type.Optional(Type.String({ description: 'the request topic this answers' })),
    result: Type.Optional(Type.Unknown({ description: 'command result, when ok' })),
    error: Type.Optional(
      Obj({
        code: ErrorCode,
        message: Type.String({ description: 'one readable sentence' }),
        details: Type.Optional(Type.Array(ErrorDetail)),
        reason: Type.Optional(
          Type.String({ description: 'a finer cause within the code, where a role gives one (e.g. tuner press-window)' }),
        ),
      }),
    ),
  },
  { description: 'answer to every config/set and cmd, on hearth/<id>/reply' },
);
export type Reply = Static<typeof Reply>;

/** An error a handler throws to produce a failed reply with a code. */
export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
    /** A finer cause within the code (the reply's error.reason), e.g. the tuner's "press-window". */
    readonly reason?: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}
