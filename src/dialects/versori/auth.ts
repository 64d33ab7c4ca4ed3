import type { IncomingHttpHeaders } from 'node:http';
import { unauthenticated } from '../../domain/errors.js';
import type { AccessService } from '../../services/access-service.js';
import type { Authenticated } from '../../services/actor.js';

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * Versori's bearer scheme: external callers send an API key, here a plugboard one (`pbk_…`). The key's
 * principal must be a member of the organisation (workspace) named in the path; the services check that.
 */
export async function authenticateVersori(headers: IncomingHttpHeaders, access: AccessService): Promise<Authenticated> {
  const match = headers.authorization === undefined ? null : BEARER.exec(headers.authorization);
  if (!match)
    throw unauthenticated('A valid API key is required: send "Authorization: Bearer pbk_…" (a plugboard API key).');
  return access.authenticateKey(match[1]!);
}
