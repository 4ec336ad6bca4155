/**
 * Store `value` under `key` as an own property. Plain assignment is wrong for keys that come from
 * input (audit `user.extra` and annotations, authenticator `key=value` pairs, aws-auth data keys):
 * `obj['__proto__'] = v` replaces the prototype instead, and the key silently disappears from what
 * we parse and store.
 */
export const setOwn = <T>(target: Record<string, T>, key: string, value: T): void => {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
};
