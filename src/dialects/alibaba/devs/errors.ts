import { alibabaErrorHandler } from '../errors.js';
import { devsFieldName } from './wire.js';

/** DevS's error body: the common Alibaba one, naming fields by their camelCase Toolset paths. */
export const sendDevsError = alibabaErrorHandler({ fieldName: devsFieldName });
