/** zoneApi is the API path of a zone (and what follows it), each segment percent-encoded, e.g. zoneApi('example.com.', 'records'). */
export function zoneApi(zone: string, ...rest: string[]): string {
  return ['/v1/zones', zone, ...rest].map((s, i) => (i === 0 ? s : encodeURIComponent(s))).join('/');
}
