import * as OpenApi from '@alicloud/openapi-client';

/**
 * What Alibaba's generic `@alicloud/openapi-client` is told about a DataWorks operation (RPC style, form body, JSON
 * answer): `version` 2020-05-18 for the connection operations, 2024-05-18 for the newer ones.
 */
export const dataworksParams = (action: string, options: { version?: string; method?: string } = {}) =>
  new OpenApi.Params({
    action,
    version: options.version ?? '2020-05-18',
    protocol: 'HTTP',
    pathname: '/',
    method: options.method ?? 'POST',
    authType: 'AK',
    style: 'RPC',
    reqBodyType: 'formData',
    bodyType: 'json',
  });
