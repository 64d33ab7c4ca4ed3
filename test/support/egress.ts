// The egress policy as a server without EGRESS_* settings has it, for tests that call a probe directly.
import { createEgressPolicy, parseEgressAllow, type EgressPolicy } from '../../src/egress/egress-policy.js';

/** Private addresses allowed, no exceptions, no own listeners: loopback test servers are reachable. */
export const defaultEgress: EgressPolicy = createEgressPolicy({
  rules: { denyPrivate: false, allow: parseEgressAllow('').allow },
});
