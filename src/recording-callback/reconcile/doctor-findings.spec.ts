import type { RecordCallbackConfig } from '../protocol/live-api';
import { diagnose } from './doctor-findings';
import type { DoctorInput } from './doctor-findings';

const KEY = 'k'.repeat(40);
const URL_OK = 'https://app.example.com/recording-callbacks';
const config = (over: Partial<RecordCallbackConfig> = {}): RecordCallbackConfig => ({
  id: 'c1',
  publish_domain: 'push.a.com',
  app: '*',
  notify_callback_url: URL_OK,
  notify_event_subscription: ['RECORD_NEW_FILE_START', 'RECORD_FILE_COMPLETE', 'RECORD_OVER', 'RECORD_FAILED'],
  sign_type: 'HMACSHA256',
  ...over,
});
const input = (over: Partial<DoctorInput> = {}): DoctorInput => ({
  configs: [config()],
  auth: { domains: new Map([['push.a.com', { algorithm: 'HMACSHA256', keys: [KEY] }]]) },
  domains: ['push.a.com'],
  listened: ['RECORD_FILE_COMPLETE', 'RECORD_OVER'],
  callbackUrl: URL_OK,
  clockOffsetMs: 400,
  toleranceSeconds: 300,
  databaseError: null,
  ...over,
});
const codes = (i: DoctorInput) => diagnose(i).map((f) => `${f.severity}:${f.code}${f.domain ? `@${f.domain}` : ''}`);

describe('diagnose (the configuration check, pure)', () => {
  it('finds nothing when both sides agree', () => {
    expect(diagnose(input())).toEqual([]);
  });

  it("reports a callback URL that differs from the app's, with the URL to set", () => {
    const [f] = diagnose(input({ configs: [config({ notify_callback_url: 'http://old.example.com/cb' })] }));
    expect(f).toMatchObject({ code: 'callback_url_mismatch', severity: 'error', domain: 'push.a.com' });
    expect(f.fix).toContain(URL_OK);
    // Without the app's public URL there is nothing to compare.
    expect(diagnose(input({ callbackUrl: null, configs: [config({ notify_callback_url: 'x' })] }))).toEqual([]);
  });

  it("reports a sign_type other than the module's algorithm, and MD5 in use", () => {
    expect(codes(input({ configs: [config({ sign_type: 'MD5' })] }))).toEqual([
      'error:sign_type_mismatch@push.a.com',
      'warning:md5_in_use@push.a.com',
    ]);
    const md5Both = input({
      configs: [config({ sign_type: 'MD5' })],
      auth: { domains: new Map([['push.a.com', { algorithm: 'MD5', keys: [KEY] }]]) },
    });
    expect(codes(md5Both)).toEqual(['warning:md5_in_use@push.a.com']);
    // Huawei's default for an omitted sign_type is HMACSHA256.
    expect(diagnose(input({ configs: [config({ sign_type: undefined })] }))).toEqual([]);
  });

  it('reports events the handlers listen to that the template does not subscribe to', () => {
    const narrow = input({ configs: [config({ notify_event_subscription: undefined })] });
    const findings = diagnose(narrow);
    expect(findings.map((f) => f.code)).toEqual(['event_not_subscribed']);
    expect(findings[0].message).toContain('RECORD_OVER');
    expect(findings[0].fix).toContain('add RECORD_OVER to notify_event_subscription');
    const start = diagnose(input({ listened: ['RECORD_START'] }));
    expect(start[0].fix).toContain('cannot subscribe to RECORD_START');
  });

  it('reports a domain with keys in the module but no configuration at Huawei', () => {
    expect(codes(input({ configs: [], domains: ['push.a.com', 'push.b.com'] }))).toEqual([
      'error:no_configuration@push.a.com',
      'error:no_configuration@push.b.com',
    ]);
  });

  it("leaves configurations of domains the module has no keys for alone (another app's)", () => {
    expect(
      diagnose(input({ configs: [config(), config({ publish_domain: 'push.z.com', sign_type: 'MD5' })] })),
    ).toEqual([]);
  });

  it('checks the local side: key format, clock offset, database, authentication off', () => {
    const badKey = input({
      auth: { domains: new Map([['push.a.com', { algorithm: 'HMACSHA256', keys: ['short'] }]]) },
    });
    expect(codes(badKey)).toEqual(['error:key_format@push.a.com']);
    expect(codes(input({ clockOffsetMs: 45_000 }))).toEqual(['warning:clock_offset']);
    const behind = diagnose(input({ clockOffsetMs: -400_000 }));
    expect(behind[0]).toMatchObject({ code: 'clock_offset', severity: 'error' });
    expect(behind[0].message).toContain('400 s ahead of');
    expect(codes(input({ databaseError: 'connect ECONNREFUSED' }))).toEqual(['error:database_unreachable']);
    expect(codes(input({ auth: 'none' }))).toEqual(['warning:auth_off']);
  });

  it("says when Huawei's side could not be read, and still checks the local side", () => {
    const findings = diagnose(input({ configs: null, apiError: '401 APIGW.0301', databaseError: 'down' }));
    expect(findings.map((f) => f.code)).toEqual(['database_unreachable', 'api_unreachable']);
    expect(findings[1].message).toContain('APIGW.0301');
  });
});
