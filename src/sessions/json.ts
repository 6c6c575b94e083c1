import { Type } from '@sinclair/typebox';

/** The signed-in person, as every API that signs someone in or describes them answers. */
export const UserJson = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String(),
  emailVerified: Type.Boolean(),
});
export const SignedInJson = Type.Object({
  user: UserJson,
  secondFactorRequired: Type.Boolean({
    description: 'True: this session reaches only /api/v1/signin/second-factor until a second factor is presented.',
  }),
});
