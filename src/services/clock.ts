/** What every service reads the time from; tests pass one of their own. */
export interface Clock {
  /** The current time as an ISO 8601 string (what rows and audit events store). */
  now(): string;
}

export const systemClock: Clock = { now: () => new Date().toISOString() };
