import { alibabaErrorHandler } from '../errors.js';
import { bailianFieldName } from './wire.js';

/** Model Studio's error body: the common Alibaba one, with `Success: false` and the status as `Status`, like its answers. */
export const sendBailianError = alibabaErrorHandler({
  fieldName: bailianFieldName,
  extraFields: (status) => ({ Status: String(status), Success: false }),
});
