/**
 * Work that runs after the response is on its way: the answer neither waits for it nor changes with
 * it, so its cost cannot tell a caller anything (whether an account exists, for one). drain() lets
 * a graceful shutdown finish it.
 */
export interface Background {
  run(work: () => Promise<unknown>): void;
  drain(): Promise<void>;
}

export function createBackground(onError: (err: unknown) => void): Background {
  const pending = new Set<Promise<void>>();
  return {
    run(work) {
      // setImmediate: after the current request's reply has been written, not merely after this tick.
      const done: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
        .then(work)
        .then(() => undefined, onError)
        .finally(() => pending.delete(done));
      pending.add(done);
    },
    async drain() {
      while (pending.size > 0) await Promise.all(pending);
    },
  };
}
