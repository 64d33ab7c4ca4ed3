import { retryAfterSeconds, type RefuseOverBudget } from '../../http/rate-limit.js';
import { AlibabaError } from './errors.js';

/**
 * Alibaba's answer to a spent budget: `Throttling.User`, which the SDKs raise as their ThrottlingError, with
 * `x-acs-retry-after` in milliseconds (what their retry policy waits).
 */
export const throttled: RefuseOverBudget = ({ limit, retryAfterMs, what }) =>
  new AlibabaError(
    429,
    'Throttling.User',
    `Request was denied due to user flow control: at most ${limit.perSecond} ${what} per second.`,
    {
      'x-acs-retry-after': String(Math.max(1, retryAfterMs)),
      'retry-after': retryAfterSeconds(retryAfterMs),
    },
  );
