import { AlibabaError, alibabaErrorHandler } from '../errors.js';
import { DATAWORKS_ACTIONS, DATAWORKS_VERSION, dataworksFieldName } from './wire.js';

/**
 * DataWorks' error body: the common Alibaba one plus `HttpStatusCode` and `Success: false`, as its answers
 * carry them. plugboard's permission model maps onto DataWorks' tenant codes:
 * - a disabled principal (a correctly signed request) → 403 `Invalid.Tenant.UserNotInTenant`;
 * - a role too weak for the action (a viewer writing) → 403 `Invalid.Tenant.UserIsNotProjectOwnerOrAdmin`;
 * - a connection the core cannot find → 400 `Invalid.Tenant.ConnectionNotExists`.
 */
export const sendDataWorksError = alibabaErrorHandler({
  fieldName: dataworksFieldName,
  codes: {
    forbidden: [403, 'Invalid.Tenant.UserIsNotProjectOwnerOrAdmin'],
    'not-found': [400, 'Invalid.Tenant.ConnectionNotExists'],
  },
  renames: { 'InvalidAccessKeyId.Inactive': [403, 'Invalid.Tenant.UserNotInTenant'] },
  extraFields: (status) => ({ HttpStatusCode: status, Success: false }),
});

/** No connection has this id (in this project, when the caller named one), or none matches the name given. */
export const connectionNotExists = (which: number | string) =>
  new AlibabaError(
    400,
    'Invalid.Tenant.ConnectionNotExists',
    `The connection does not exist: ${typeof which === 'number' ? `no connection has ConnectionId ${which}` : which}.`,
  );

/** No workspace has this ProjectId. */
export const projectNotExists = (projectId: number) =>
  new AlibabaError(
    400,
    'Invalid.Tenant.ProjectNotExists',
    `The project does not exist: no workspace has ProjectId ${projectId}.`,
  );

/** The AccessKey's principal is not a member of the workspace. */
export const userNotInProject = (projectId: number | undefined) =>
  new AlibabaError(
    400,
    'Invalid.Tenant.UserNotInProject',
    `The user is not in the project${projectId === undefined ? '' : ` ${projectId}`}: the AccessKey's principal is not a member of its workspace.`,
  );

/** `Action` (or `x-acs-action`) names no DataWorks connection action plugboard serves. */
export const unknownAction = (action: string) =>
  new AlibabaError(
    400,
    'InvalidAction.NotFound',
    `Specified api is not found: DataWorks ${DATAWORKS_VERSION} has no action ${JSON.stringify(action.slice(0, 64))} here; plugboard serves ${DATAWORKS_ACTIONS.join(', ')}.`,
  );
