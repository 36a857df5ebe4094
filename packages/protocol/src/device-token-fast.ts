/**
 * HMAC-SHA256 of `data` (ASCII) keyed with `secret` (UTF-8), computed synchronously (a server
 * passes Node's `createHmac`); Web Crypto's asynchronous verify costs several times more.
 */
export type HmacSha256 = (secret: string, data: string) => Uint8Array;

/** What {@link quickVerifiedClaims} checks the claims against. */
interface QuickClaimsCheck {
  readonly issuer: string;
  /** Now, in epoch seconds (as jose counts it). */
  readonly nowSeconds: number;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** 32 bytes (an HS256 MAC) in unpadded base64url. */
const MAC_CHARS = 43;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The claims of a compact HS256 JWT when it is certainly valid: a header of `alg: 'HS256'` (and
 * at most `typ: 'JWT'`), its MAC under `secret`, `iss`, numeric `exp` (in the future), `iat`
 * and, if present, `nbf` (not in the future). Undefined for anything else, valid or not: the
 * caller then asks jose, which has the last word and says why a token is refused. So what this
 * accepts is a subset of what jose's `jwtVerify` (with the same issuer, `algorithms: ['HS256']`
 * and `requiredClaims: ['exp', 'iat']`) accepts.
 */
export function quickVerifiedClaims(
  token: string,
  secret: string,
  hmac: HmacSha256,
  check: QuickClaimsCheck,
): Record<string, unknown> | undefined {
  const [header, payload, signature, ...rest] = token.split('.');
  if (rest.length > 0 || header === undefined || payload === undefined) return undefined;
  if (signature?.length !== MAC_CHARS || !BASE64URL.test(signature)) return undefined;
  if (!BASE64URL.test(header) || !BASE64URL.test(payload)) return undefined;
  const headerJson = decodeJson(header);
  if (!isPlainObject(headerJson) || headerJson['alg'] !== 'HS256') return undefined;
  for (const name of Object.keys(headerJson)) {
    if (name !== 'alg' && !(name === 'typ' && headerJson['typ'] === 'JWT')) return undefined;
  }
  const mac = encodeBase64Url(hmac(secret, `${header}.${payload}`));
  if (!constantTimeEqual(mac, signature)) return undefined;
  const claims = decodeJson(payload);
  if (!isPlainObject(claims) || claims['iss'] !== check.issuer) return undefined;
  const { exp, iat, nbf } = claims;
  if (!isFiniteNumber(exp) || !isFiniteNumber(iat)) return undefined;
  if (exp <= check.nowSeconds) return undefined;
  if (nbf !== undefined && (!isFiniteNumber(nbf) || nbf > check.nowSeconds)) return undefined;
  return claims;
}

function decodeJson(part: string): unknown {
  try {
    const binary = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return JSON.parse(utf8.decode(bytes));
  } catch {
    return undefined;
  }
}

function encodeBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}

/** Whether two strings of the same length are equal, in a time that does not tell where they differ. */
function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
