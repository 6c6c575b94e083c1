import ajvCompiler from '@fastify/ajv-compiler';
import serializerCompiler from '@fastify/fast-json-stringify-compiler';
import type { FastifyServerOptions } from 'fastify';

type Compiled = ((...args: unknown[]) => unknown) & { errors?: unknown };
type RouteCompiler = (route: { httpPart?: string }) => Compiled;
type Factory = (...options: unknown[]) => RouteCompiler;

/**
 * Fastify compiles every route's validators and serializers before it listens: a third of the
 * start-up time, for routes most processes never serve. These compile each one on its first use,
 * with Fastify's own compilers and options (the same Ajv keywords, coercion and defaults).
 */
function lazily(factory: Factory, onRoute: (route: { httpPart?: string }) => void = () => {}): Factory {
  return (...options) => {
    const compilerFor = factory(...options);
    return (route) => {
      onRoute(route);
      let compiled: Compiled | undefined;
      const run: Compiled = (...args) => {
        compiled ??= compilerFor(route);
        const result = compiled(...args);
        run.errors = compiled.errors;
        return result;
      };
      // Ajv's functions take the parent object too, so a root value can be coerced in place; Fastify
      // passes it only to functions that say they are Ajv's.
      return Object.assign(run, { schemaEnv: true });
    };
  };
}

/**
 * Fastify lower-cases the keys of header schemas only for its default compiler. No route declares
 * one; a route that does must not run with case-sensitive header names.
 */
function refuseHeaderSchemas(route: { httpPart?: string }): void {
  if (route.httpPart === 'headers')
    throw new Error('header schemas are not supported (Fastify would not lower-case them)');
}

export const lazyCompilers: FastifyServerOptions['schemaController'] = {
  compilersFactory: {
    buildValidator: lazily(ajvCompiler() as unknown as Factory, refuseHeaderSchemas) as never,
    buildSerializer: lazily(serializerCompiler() as unknown as Factory) as never,
  },
};
