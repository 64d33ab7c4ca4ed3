// Requests the official Alibaba SDKs sent, as captured in ../shared/wire (alibaba-acs3.md, alibaba-rpc.md), with
// the signatures they carried: the test vectors of every Alibaba signing test. Credentials: testid / testsecret.

/** Bailian UpdateConnector through @alicloud/bailian20231229 (ACS3-HMAC-SHA256, form body). */
export const BAILIAN_ACS3 = {
  method: 'PUT',
  path: '/ws-1/datacenter/connector/conn_1',
  body: 'ConnectorName=n%20ame*~!&Description=d',
  /** Every header the SDK sent except Authorization. */
  headers: {
    host: '127.0.0.1:46759',
    'x-acs-version': '2023-12-29',
    'x-acs-action': 'UpdateConnector',
    'user-agent': 'AlibabaCloud (linux; x64) Node.js/v20.20.2 Core/1.0.1 TeaDSL/2',
    'x-acs-date': '2026-11-23T08:23:16Z',
    'x-acs-signature-nonce': 'ef2d0f7e646b7f0efec8da35ee200e01564e27b7d34609889c112f875d615c2b',
    accept: 'application/json',
    'content-type': 'application/x-www-form-urlencoded',
    'x-acs-content-sha256': '010dd36b1f254ce2c2a5960d450f92499a32f8d8d2f92fa389c4c28beee6215d',
    'x-acs-credentials-provider': 'static_ak',
    'transfer-encoding': 'chunked',
  },
  signature: '7f6c3983b0dab9b2c644e17ce6688f2b447174ddd1379bcaaa3f59596af7f773',
  authorization:
    'ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=content-type;host;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=7f6c3983b0dab9b2c644e17ce6688f2b447174ddd1379bcaaa3f59596af7f773',
} as const;

/** DataWorks UpdateConnection through @alicloud/openapi-client with signatureAlgorithm "v2" (RPC HMAC-SHA1). */
export const DATAWORKS_RPC = {
  /** The protocol's own parameters, the same in both vectors but for the nonce. */
  common: {
    Action: 'UpdateConnection',
    Format: 'json',
    Version: '2020-05-18',
    Timestamp: '2026-11-23T08:23:23Z',
    SignatureMethod: 'HMAC-SHA1',
    SignatureVersion: '1.0',
    AccessKeyId: 'testid',
  },
  /** What the caller passed. */
  parameters: {
    ConnectionId: '123',
    Content: '{"host":"h","password":"p1"}',
    EnvType: '0',
    RegionId: 'cn-shanghai',
    Description: 'desc x',
    Status: '0',
  },
  /** Every parameter in the query string. */
  inQuery: { nonce: 'ff9a4ae59a7107c104cff78dcd0ce7c6', signature: 'tlC+UfTrSXB5ZCDkN9epkkOnIgY=' },
  /** The caller's parameters in a form body. */
  inForm: { nonce: 'd28c02b2f62a5483c4e8ba4e0d60fe32', signature: 'CU3Tz5MKfkFKlOTKjZ20k8Lgfqc=' },
} as const;
