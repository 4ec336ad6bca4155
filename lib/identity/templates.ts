/**
 * Username / group template expansion as the authenticator's `renderTemplate` does it (docs/formats.md §1.6).
 * The same templates appear in aws-auth rows and in access-entry usernames.
 */

export interface TemplateVars {
  /** 12-digit account of the authenticating principal (not necessarily the cluster's). */
  accountId?: string;
  /** Raw session name; "" for IAM users (the authenticator substitutes the empty string). */
  sessionName?: string;
  accessKeyId?: string;
  /** Private DNS name of the EC2 instance; the authenticator looks it up, offline it is usually unknown. */
  ec2PrivateDnsName?: string;
}

export type TemplateVariable = 'EC2PrivateDNSName' | 'AccountID' | 'SessionName' | 'SessionNameRaw' | 'AccessKeyID';

/** The variables in the order the authenticator substitutes them. */
export const TEMPLATE_VARIABLES: readonly TemplateVariable[] = [
  'EC2PrivateDNSName',
  'AccountID',
  'SessionName',
  'SessionNameRaw',
  'AccessKeyID',
];

export type TemplateExpansion =
  | {
      ok: true;
      /**
       * The rendered value. A variable listed in `unresolved` is left verbatim (e.g. `{{EC2PrivateDNSName}}`)
       * rather than replaced by an invented value.
       */
      value: string;
      /** Variables that were legitimately present but could not be resolved offline. */
      unresolved: TemplateVariable[];
      /** Set when the template needed {{EC2PrivateDNSName}}: the instance the session names. */
      instanceId?: string;
    }
  | { ok: false; error: 'no-instance-id' | 'missing-variable'; message: string };

const placeholder = (v: TemplateVariable): string => `{{${v}}}`;

// Go's `\w` is ASCII-only [0-9A-Za-z_]; JS `\w` without the `u` flag matches the same set.
const INSTANCE_ID = /^i-(\w{8}|\w{17})$/;

/** Which known variables a template references. */
export const templateVariables = (template: string): TemplateVariable[] =>
  TEMPLATE_VARIABLES.filter((v) => template.includes(placeholder(v)));

/**
 * Expand a username/group template. Substitution is sequential literal ReplaceAll in the authenticator's
 * order; unknown `{{…}}` stay verbatim. A referenced variable whose value is undefined (not merely
 * empty) yields `missing-variable`, because rendering it would invent a value.
 */
export const expandTemplate = (template: string, vars: TemplateVars): TemplateExpansion => {
  let value = template;
  const unresolved: TemplateVariable[] = [];
  let instanceId: string | undefined;

  if (value.includes(placeholder('EC2PrivateDNSName'))) {
    if (vars.sessionName === undefined) {
      return {
        ok: false,
        error: 'missing-variable',
        message: `template ${JSON.stringify(template)} needs the session name (an EC2 instance id)`,
      };
    }
    // The authenticator refuses before any EC2 call when the session is not an instance id.
    if (!INSTANCE_ID.test(vars.sessionName)) {
      return {
        ok: false,
        error: 'no-instance-id',
        message: `error rendering template ${JSON.stringify(template)}: SessionName did not contain an instance id`,
      };
    }
    instanceId = vars.sessionName;
    if (vars.ec2PrivateDnsName !== undefined) {
      value = value.replaceAll(placeholder('EC2PrivateDNSName'), vars.ec2PrivateDnsName);
    } else {
      unresolved.push('EC2PrivateDNSName');
    }
  }

  const substitutions: [TemplateVariable, string | undefined][] = [
    ['AccountID', vars.accountId],
    // `@` is not valid in a Kubernetes username convention the authenticator targets, so it maps to `-`.
    ['SessionName', vars.sessionName?.replaceAll('@', '-')],
    ['SessionNameRaw', vars.sessionName],
    ['AccessKeyID', vars.accessKeyId],
  ];
  for (const [name, replacement] of substitutions) {
    if (!value.includes(placeholder(name))) continue;
    if (replacement === undefined) {
      return {
        ok: false,
        error: 'missing-variable',
        message: `template ${JSON.stringify(template)} needs {{${name}}}, which is not known`,
      };
    }
    value = value.replaceAll(placeholder(name), replacement);
  }
  return instanceId === undefined ? { ok: true, value, unresolved } : { ok: true, value, unresolved, instanceId };
};

/** What an unknown variable may render as, for consistency checks only. */
const WILDCARD: Record<TemplateVariable, string> = {
  // Private DNS names: ip-10-0-0-1.ec2.internal, i-0abc….us-west-2.compute.internal, …
  EC2PrivateDNSName: '[A-Za-z0-9][A-Za-z0-9.-]*',
  AccountID: '\\d{12}',
  // STS session names are [\w+=,.@-]{2,64}; after the @ -> - transliteration there is no @ left.
  SessionName: '[\\w+=,.-]*',
  SessionNameRaw: '[\\w+=,.@-]*',
  AccessKeyID: '[A-Z0-9]{16,128}',
};

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Whether `rendered` (an observed username or group) is consistent with `template` given what is known.
 * Known variables must render exactly; unknown ones (including an unresolved {{EC2PrivateDNSName}}) may
 * be any value of their shape, the same value at every occurrence.
 */
export const templateMatches = (template: string, rendered: string, vars: TemplateVars): boolean => {
  const expanded = expandTemplate(template, vars);
  if (expanded.ok && expanded.unresolved.length === 0) return expanded.value === rendered;
  if (!expanded.ok && expanded.error === 'no-instance-id') return false;

  // Substitute what is known, in the authenticator's order, then turn the remaining placeholders into
  // capture groups. Literal text between placeholders is escaped.
  const known: Partial<Record<TemplateVariable, string>> = {};
  if (vars.accountId !== undefined) known.AccountID = vars.accountId;
  if (vars.sessionName !== undefined) {
    known.SessionName = vars.sessionName.replaceAll('@', '-');
    known.SessionNameRaw = vars.sessionName;
    if (!INSTANCE_ID.test(vars.sessionName) && template.includes(placeholder('EC2PrivateDNSName'))) return false;
  }
  if (vars.accessKeyId !== undefined) known.AccessKeyID = vars.accessKeyId;
  if (vars.ec2PrivateDnsName !== undefined) known.EC2PrivateDNSName = vars.ec2PrivateDnsName;

  const token = /\{\{(EC2PrivateDNSName|AccountID|SessionNameRaw|SessionName|AccessKeyID)\}\}/g;
  const seen = new Set<TemplateVariable>();
  let pattern = '';
  let last = 0;
  for (const m of template.matchAll(token)) {
    const name = m[1] as TemplateVariable;
    pattern += escapeRegex(template.slice(last, m.index));
    last = m.index + m[0].length;
    const value = known[name];
    if (value !== undefined) {
      pattern += escapeRegex(value);
    } else if (seen.has(name)) {
      pattern += `\\k<${name}>`;
    } else {
      seen.add(name);
      pattern += `(?<${name}>${WILDCARD[name]})`;
    }
  }
  pattern += escapeRegex(template.slice(last));
  return new RegExp(`^${pattern}$`).test(rendered);
};
