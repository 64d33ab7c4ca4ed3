// Watches a running node from outside its request handlers: GET /healthz over a real socket every ~20 ms,
// the event loop's longest stall, and the process's peak resident memory.
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface LoopReport {
  readonly probes: number;
  /** The slowest /healthz answer, in ms. */
  readonly maxHealthzMs: number;
  /** The longest the event loop went without turning, in ms. */
  readonly maxLoopDelayMs: number;
  /** Peak RSS minus RSS at the start, in MB. */
  readonly rssGrowthMb: number;
}

export function startLoopProbe(baseUrl: string, everyMs = 20): { stop(): Promise<LoopReport> } {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const startRss = process.memoryUsage().rss;
  let peakRss = startRss;
  let maxHealthzMs = 0;
  let probes = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const sent = performance.now();
      const reply = await fetch(`${baseUrl}/healthz`);
      await reply.text();
      if (reply.status !== 200) throw new Error(`/healthz answered ${reply.status}`);
      maxHealthzMs = Math.max(maxHealthzMs, performance.now() - sent);
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      probes++;
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  let report: Promise<LoopReport> | undefined;
  return {
    /** Stops probing (once; later calls return the same report). */
    stop() {
      running = false;
      report ??= loop.then(() => {
        delay.disable();
        return { probes, maxHealthzMs, maxLoopDelayMs: delay.max / 1e6, rssGrowthMb: (peakRss - startRss) / 2 ** 20 };
      });
      return report;
    },
  };
}
