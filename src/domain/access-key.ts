import { randomInt } from 'node:crypto';

/** The two shapes of signing key pair plugboard hands out, named after the signature scheme they serve. */
export const ACCESS_KEY_KINDS = ['alibaba', 'huawei'] as const;
export type AccessKeyKind = (typeof ACCESS_KEY_KINDS)[number];

const DIGITS = '0123456789';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const ALPHANUMERIC = `${DIGITS}${UPPER}abcdefghijklmnopqrstuvwxyz`;

/** What an id and its secret look like, per kind; the signing clients only ever see these strings. */
export const ACCESS_KEY_FORMATS = {
  // Alibaba AccessKey ids are `LTAI` + 20 alphanumerics; secrets are 30 alphanumerics.
  alibaba: { id: /^LTAI[A-Za-z0-9]{20}$/, secret: /^[A-Za-z0-9]{30}$/ },
  // Huawei AKs are 20 upper-case alphanumerics; SKs are 40 alphanumerics.
  huawei: { id: /^[A-Z0-9]{20}$/, secret: /^[A-Za-z0-9]{40}$/ },
} as const satisfies Record<AccessKeyKind, { id: RegExp; secret: RegExp }>;

/** `length` characters drawn uniformly from `alphabet` (randomInt does not favour any index). */
function randomString(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

/** A fresh id and secret in the vendor's format; the secret is about 178 (alibaba) or 238 (huawei) random bits. */
export function generateAccessKeyPair(kind: AccessKeyKind): { id: string; secret: string } {
  return kind === 'alibaba'
    ? { id: `LTAI${randomString(ALPHANUMERIC, 20)}`, secret: randomString(ALPHANUMERIC, 30) }
    : { id: randomString(`${DIGITS}${UPPER}`, 20), secret: randomString(ALPHANUMERIC, 40) };
}
