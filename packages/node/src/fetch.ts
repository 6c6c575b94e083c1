/** The subset of `fetch` the SDK calls; the global `fetch` fits, so does a wrapper with a custom CA. */
export type FetchLike = (
  url: string,
  init: { method: 'GET'; headers: Headers; redirect: 'manual'; signal: AbortSignal },
) => Promise<Response>;
