import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expandTemplate, templateMatches, templateVariables } from '../../../lib/identity/templates.js';

// Templates from the authenticator README (template variables) and aws-auth fixtures; the SSO e-mail
// session is KIEMPossible's (username shows gomyers-paloaltonetworks.com for gomyers@paloaltonetworks.com).
const SSO = {
  accountId: '211125685544',
  sessionName: 'gomyers@paloaltonetworks.com',
  accessKeyId: 'ASIATCKASJUUD7MPDOZN',
};

describe('expandTemplate', () => {
  it('renders the access-entry default for an SSO session with @ transliterated to -', () => {
    const r = expandTemplate('arn:aws:sts::211125685544:assumed-role/sso_admin/{{SessionName}}', SSO);
    expect(r).toEqual({
      ok: true,
      value: 'arn:aws:sts::211125685544:assumed-role/sso_admin/gomyers-paloaltonetworks.com',
      unresolved: [],
    });
  });

  it.each([
    ['aws:{{AccountID}}:instance:{{SessionName}}', 'aws:211125685544:instance:gomyers-paloaltonetworks.com'],
    ['admin:{{SessionNameRaw}}', 'admin:gomyers@paloaltonetworks.com'],
    ['admin:{{AccessKeyID}}', 'admin:ASIATCKASJUUD7MPDOZN'],
    ['{{SessionName}}:{{SessionName}}', 'gomyers-paloaltonetworks.com:gomyers-paloaltonetworks.com'],
    ['kubernetes-admin', 'kubernetes-admin'],
    ['x:{{Unknown}}:{{sessionname}}', 'x:{{Unknown}}:{{sessionname}}'],
    ['{{ SessionName }}', '{{ SessionName }}'],
  ])('renders %s literally', (template, expected) => {
    const r = expandTemplate(template, SSO);
    expect(r.ok && r.value).toBe(expected);
  });

  it('renders an empty session (IAM users) as the empty string', () => {
    const r = expandTemplate('user:{{SessionName}}', { sessionName: '' });
    expect(r.ok && r.value).toBe('user:');
  });

  it('keeps {{EC2PrivateDNSName}} as a marked placeholder when the DNS name is unknown', () => {
    const r = expandTemplate('system:node:{{EC2PrivateDNSName}}', { sessionName: 'i-0123456789abcdef0' });
    expect(r).toEqual({
      ok: true,
      value: 'system:node:{{EC2PrivateDNSName}}',
      unresolved: ['EC2PrivateDNSName'],
      instanceId: 'i-0123456789abcdef0',
    });
  });

  it('substitutes a known private DNS name and accepts the 8-character instance id form', () => {
    const r = expandTemplate('system:node:{{EC2PrivateDNSName}}', {
      sessionName: 'i-0123abcd',
      ec2PrivateDnsName: 'ip-10-0-1-23.ec2.internal',
    });
    expect(r).toEqual({
      ok: true,
      value: 'system:node:ip-10-0-1-23.ec2.internal',
      unresolved: [],
      instanceId: 'i-0123abcd',
    });
  });

  it.each([
    ['a role assumed by a person', 'alice', 'no-instance-id'],
    ['an instance id of the wrong length', 'i-0123456789', 'no-instance-id'],
    ['an instance id with a suffix', 'i-0123456789abcdef0x', 'no-instance-id'],
    ['an unknown session', undefined, 'missing-variable'],
  ])('refuses {{EC2PrivateDNSName}} for %s', (_kind, sessionName, error) => {
    const vars = sessionName === undefined ? {} : { sessionName };
    const r = expandTemplate('system:node:{{EC2PrivateDNSName}}', vars);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toBe(error);
  });

  it.each([
    ['{{AccountID}}', 'accountId'],
    ['{{SessionName}}', 'sessionName'],
    ['{{SessionNameRaw}}', 'sessionName'],
    ['{{AccessKeyID}}', 'accessKeyId'],
  ])('reports %s as missing when %s is unknown', (template, _var) => {
    const r = expandTemplate(`x:${template}`, {});
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toBe('missing-variable');
      expect(r.message).toContain(template);
    }
  });

  it('reports the SessionName-without-instance-id error in the authenticator wording', () => {
    const r = expandTemplate('system:node:{{EC2PrivateDNSName}}', { sessionName: 'EKSGetTokenAuth' });
    expect(!r.ok && r.message).toContain('SessionName did not contain an instance id');
  });

  it('lists the variables a template references', () => {
    expect(templateVariables('{{AccountID}}-{{SessionNameRaw}}')).toEqual(['AccountID', 'SessionNameRaw']);
    expect(templateVariables('plain')).toEqual([]);
  });

  it('never throws, and fails only for a missing variable or a non-instance session', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.record({ accountId: fc.string(), sessionName: fc.string(), accessKeyId: fc.string() }, { requiredKeys: [] }),
        (template, vars) => {
          const r = expandTemplate(template, vars);
          if (r.ok) {
            expect(r.unresolved.length > 0).toBe(template.includes('{{EC2PrivateDNSName}}'));
          } else {
            expect(['missing-variable', 'no-instance-id']).toContain(r.error);
          }
        },
      ),
    );
  });
});

describe('templateMatches', () => {
  it('accepts the exact rendering and rejects another', () => {
    const tpl = 'arn:aws:sts::211125685544:assumed-role/sso_admin/{{SessionName}}';
    expect(
      templateMatches(tpl, 'arn:aws:sts::211125685544:assumed-role/sso_admin/gomyers-paloaltonetworks.com', SSO),
    ).toBe(true);
    expect(templateMatches(tpl, 'arn:aws:sts::211125685544:assumed-role/sso_admin/mallory', SSO)).toBe(false);
  });

  it('lets an unresolved private DNS name match any DNS-shaped value', () => {
    const vars = { sessionName: 'i-0123456789abcdef0' };
    expect(templateMatches('system:node:{{EC2PrivateDNSName}}', 'system:node:ip-192-168-1-7.ec2.internal', vars)).toBe(
      true,
    );
    expect(templateMatches('system:node:{{EC2PrivateDNSName}}', 'system:node:', vars)).toBe(false);
    expect(templateMatches('system:node:{{EC2PrivateDNSName}}', 'kubernetes-admin', vars)).toBe(false);
  });

  it('rejects any rendering when the session cannot be an instance id', () => {
    expect(
      templateMatches('system:node:{{EC2PrivateDNSName}}', 'system:node:ip-1.ec2.internal', { sessionName: 'bob' }),
    ).toBe(false);
  });

  it('treats unknown variables as wildcards of their shape, the same value at each occurrence', () => {
    expect(templateMatches('admin:{{SessionName}}', 'admin:alice-example.com', {})).toBe(true);
    expect(templateMatches('admin:{{SessionName}}', 'admin:alice@example.com', {})).toBe(false);
    expect(templateMatches('admin:{{SessionNameRaw}}', 'admin:alice@example.com', {})).toBe(true);
    expect(templateMatches('{{SessionName}}/{{SessionName}}', 'a/a', {})).toBe(true);
    expect(templateMatches('{{SessionName}}/{{SessionName}}', 'a/b', {})).toBe(false);
    expect(templateMatches('aws:{{AccountID}}:x', 'aws:123456789012:x', {})).toBe(true);
    expect(templateMatches('aws:{{AccountID}}:x', 'aws:12345:x', {})).toBe(false);
  });

  it('escapes regex metacharacters in the literal parts', () => {
    expect(templateMatches('a.b+{{SessionName}}', 'a.b+s', {})).toBe(true);
    expect(templateMatches('a.b+{{SessionName}}', 'axbb+s', {})).toBe(false);
  });

  it('agrees with expandTemplate whenever every variable is known', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.constantFrom('{{AccountID}}', '{{SessionName}}', '{{SessionNameRaw}}', '{{AccessKeyID}}', ':', 'x', '.*'),
        ),
        fc.stringMatching(/^[\w+=,.@-]{0,12}$/),
        fc.string(),
        (parts, session, other) => {
          const tpl = parts.join('');
          const vars = { accountId: '111122223333', sessionName: session, accessKeyId: 'AKIAEXAMPLE' };
          const r = expandTemplate(tpl, vars);
          expect(r.ok).toBe(true);
          if (!r.ok) return;
          expect(templateMatches(tpl, r.value, vars)).toBe(true);
          expect(templateMatches(tpl, other, vars)).toBe(other === r.value);
        },
      ),
    );
  });
});
