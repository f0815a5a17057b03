/**
 * DNS label rules shared by the config, the registry and (later) the DNS engine.
 * A label here is an RFC 1123 LDH label in lower case: 1–63 characters of
 * [a-z0-9-], not starting or ending with a hyphen.
 */
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** isDnsLabel reports whether s is a lower-case RFC 1123 label of at most 63 characters. */
export function isDnsLabel(s: string): boolean {
  return LABEL.test(s);
}

/** LABEL_RULE is the human wording of isDnsLabel, used in error messages and docs. */
export const LABEL_RULE = '1-63 characters of a-z, 0-9 and "-", not starting or ending with "-"';

/**
 * isDomainName reports whether s is an absolute domain name in presentation form
 * ("nekoq.internal."): labels per isDnsLabel, ending in a dot, at most 253 characters
 * before the final dot.
 */
export function isDomainName(s: string): boolean {
  if (!s.endsWith('.') || s.length > 254 || s === '.') return false;
  return s
    .slice(0, -1)
    .split('.')
    .every((l) => isDnsLabel(l));
}
