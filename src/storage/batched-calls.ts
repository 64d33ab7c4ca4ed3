/**
 * Calls that arrive together answered by one run over all of them. On PostgreSQL a statement over many rows costs
 * about what a statement over one row costs (the round trip, the server's per-statement work), so the calls of
 * concurrent requests share one. A call waits one turn of the event loop for others to join it; up to `inFlight`
 * runs go at once, each over at most `maxBatch` calls, and the calls that arrive meanwhile wait for a free run.
 * `run` answers one result per item, in their order; when it fails, every call of the batch fails with its error.
 */
export function createBatchedCalls<In, Out>(options: {
  readonly maxBatch: number;
  readonly inFlight: number;
  readonly run: (items: readonly In[]) => Promise<readonly Out[]>;
}): (item: In) => Promise<Out> {
  let queue: { item: In; resolve: (out: Out) => void; reject: (error: unknown) => void }[] = [];
  let running = 0;
  let scheduled = false;

  function dispatch() {
    scheduled = false;
    while (running < options.inFlight && queue.length > 0) {
      const batch = queue.slice(0, options.maxBatch);
      queue = queue.slice(batch.length);
      running++;
      void options
        .run(batch.map((call) => call.item))
        .then((results) => {
          if (results.length !== batch.length)
            throw new Error(`A batch of ${batch.length} calls was answered with ${results.length} results.`);
          batch.forEach((call, i) => call.resolve(results[i]!));
        })
        .catch((error: unknown) => batch.forEach((call) => call.reject(error)))
        .finally(() => {
          running--;
          if (queue.length > 0) schedule();
        });
    }
  }

  function schedule() {
    if (scheduled) return;
    scheduled = true;
    setImmediate(dispatch);
  }

  return (item) =>
    new Promise<Out>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      schedule();
    });
}
