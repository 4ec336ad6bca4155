/**
 * Cold-start configuration validation shared by the function config loaders. A Lambda that starts
 * with a missing table name would fail on every record and push the whole stream into retries, so
 * loaders validate everything up front and fail the init phase with one structured error instead.
 */

export interface ConfigProblem {
  /** Environment variable name (see lib/runtime-env.ts). */
  variable: string;
  message: string;
}

export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[], options?: { cause?: unknown }) {
    super(`invalid function configuration: ${problems.map((p) => `${p.variable}: ${p.message}`).join('; ')}`, options);
    this.name = 'ConfigError';
    this.problems = problems;
  }

  /** Shape for a structured log line (no values echoed: env may hold ARNs we do not want in logs twice). */
  toJSON(): { name: string; problems: readonly ConfigProblem[] } {
    return { name: this.name, problems: this.problems };
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

/** Collects problems so one cold start reports every bad variable at once, not the first only. */
export class EnvReader {
  readonly problems: ConfigProblem[] = [];

  constructor(private readonly env: Env) {}

  private raw(name: string): string | undefined {
    const v = this.env[name];
    if (v === undefined) return undefined;
    const t = v.trim();
    return t === '' ? undefined : t;
  }

  required(name: string): string {
    const v = this.raw(name);
    if (v === undefined) this.problems.push({ variable: name, message: 'is required and missing or empty' });
    return v ?? '';
  }

  /** DynamoDB table names: 3-255 characters of [a-zA-Z0-9_.-]. */
  tableName(name: string): string {
    const v = this.required(name);
    if (v !== '' && !/^[A-Za-z0-9_.-]{3,255}$/.test(v)) {
      this.problems.push({ variable: name, message: 'is not a valid DynamoDB table name (3-255 of [A-Za-z0-9_.-])' });
    }
    return v;
  }

  optional(name: string): string | undefined {
    return this.raw(name);
  }

  /** Comma-separated 12-digit account ids. */
  accountIds(name: string): string[] {
    const v = this.raw(name);
    if (v === undefined) return [];
    const ids = v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    const bad = ids.filter((id) => !/^\d{12}$/.test(id));
    if (bad.length > 0) {
      this.problems.push({ variable: name, message: `not 12-digit account ids: ${bad.join(', ')}` });
      return [];
    }
    return [...new Set(ids)];
  }

  positiveInt(name: string, fallback: number): number {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (!/^\d+$/.test(v) || Number(v) <= 0 || !Number.isSafeInteger(Number(v))) {
      this.problems.push({ variable: name, message: `must be a positive integer, got ${JSON.stringify(v)}` });
      return fallback;
    }
    return Number(v);
  }

  /**
   * JSON object of whole days per item class, e.g. {"chain":400,"quarantine":30}; 0 keeps items until
   * deleted. Unknown classes are errors: a typo would otherwise silently keep the default.
   */
  retentionDays<K extends string>(name: string, classes: readonly K[]): Partial<Record<K, number>> {
    const v = this.raw(name);
    if (v === undefined) return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(v);
    } catch (cause) {
      this.problems.push({ variable: name, message: `not JSON: ${(cause as Error).message}` });
      return {};
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      this.problems.push({ variable: name, message: 'must be a JSON object of item class -> days' });
      return {};
    }
    const out: Partial<Record<K, number>> = {};
    for (const [k, days] of Object.entries(parsed)) {
      if (!(classes as readonly string[]).includes(k)) {
        this.problems.push({
          variable: name,
          message: `unknown item class ${JSON.stringify(k)} (known: ${classes.join(', ')})`,
        });
        continue;
      }
      if (typeof days !== 'number' || !Number.isInteger(days) || days < 0) {
        this.problems.push({ variable: name, message: `${k}: days must be a whole number >= 0` });
        continue;
      }
      out[k as K] = days;
    }
    return out;
  }

  /** ARN of a given service, e.g. sns topic. */
  arn(name: string, service: string): string | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    const parts = v.split(':');
    if (parts.length < 6 || parts[0] !== 'arn' || parts[2] !== service) {
      this.problems.push({ variable: name, message: `must be an ${service} ARN` });
      return undefined;
    }
    return v;
  }

  done<T>(value: T): T {
    if (this.problems.length > 0) throw new ConfigError(this.problems);
    return value;
  }
}
