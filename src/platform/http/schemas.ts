import { Type } from '@sinclair/typebox';

/** For routes that take no input at all: any query parameter is refused (R5). */
export const noInput = { querystring: Type.Object({}, { additionalProperties: false }) };

export const uuidParam = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });
