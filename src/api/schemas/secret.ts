// Secret schemas (docs/security.md, "Secrets"). A value is accepted on input and is part of no
// output schema: the serializer could not send one even by mistake.

import { Type } from 'typebox';
import { SECRET_NAME_PATTERN } from '../../core/secrets/references.js';
import { IsoTime, Namespace, PageQuery } from './common.js';

const Name = Type.String({ pattern: SECRET_NAME_PATTERN, description: 'A letter or _, then letters, digits and _ (at most 128): `{{secrets.NAME}}`, `ctx.secrets.NAME`.', examples: ['API_TOKEN'] });

/** PUT /v1/secrets/{name} */
export const SecretPutBody = Type.Object(
  {
    value: Type.String({ minLength: 1, maxLength: 65_536, description: 'The value (at most 64 KiB of UTF-8). Write-only: never returned, to any role.' }),
    namespace: Type.Optional(Namespace),
  },
  { additionalProperties: false },
);

/** A secret as the API shows it: never its value. */
export const SecretView = Type.Object({
  name: Type.String(),
  namespace: Type.String(),
  version: Type.Integer({ description: '1 when created, +1 at every new value.' }),
  createdAt: IsoTime,
  createdBy: Type.String(),
  updatedAt: IsoTime,
  updatedBy: Type.String(),
});

/** `{name}` of secret routes. */
export const SecretParams = Type.Object({ name: Name });

/** GET /v1/secrets */
export const SecretListQuery = Type.Object({ namespace: Type.Optional(Namespace), ...PageQuery }, { additionalProperties: false });
