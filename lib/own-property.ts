/**
 * Store `value` under `key` as an own property. Plain assignment is wrong for keys that come from
 * input (audit `user.extra` and annotations, authenticator `key=value` pairs, aws-auth data keys):
 * `obj['__proto__'] = v` replaces the prototype instead, and the key silently disappears from what
 * we parse and store. `__proto__` is the only key with that behaviour on plain objects (the one
 * accessor Object.prototype has), so every other key takes the cheap assignment: this runs once per
 * field of every parsed log line.
 */
export const setOwn = <T>(target: Record<string, T>, key: string, value: T): void => {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
};
