import { describe, expect, it } from 'vitest';
import { ListenSettingsError } from '../../../infra/local/errors.ts';
import { checkListenSettings, isLoopback } from '../../../infra/local/listen.ts';

describe('where serve may listen', () => {
  it('listens on loopback over plain HTTP', () => {
    expect(checkListenSettings({ host: '127.0.0.1' })).toBeUndefined();
    expect(checkListenSettings({ host: 'localhost' })).toBeUndefined();
    expect(checkListenSettings({ host: '::1' })).toBeUndefined();
  });

  it('refuses an address off loopback without TLS or --insecure-http, naming the flags', () => {
    const attempt = () => checkListenSettings({ host: '0.0.0.0' });

    expect(attempt).toThrow(ListenSettingsError);
    expect(attempt).toThrow(/--host 0\.0\.0\.0.*--tls-cert FILE and --tls-key FILE.*--insecure-http/);
  });

  it('takes an address off loopback with both TLS files, or with --insecure-http', () => {
    expect(checkListenSettings({ host: '0.0.0.0', tlsCert: 'c.pem', tlsKey: 'k.pem' })).toEqual({
      certFile: 'c.pem',
      keyFile: 'k.pem',
    });
    expect(checkListenSettings({ host: '10.1.2.3', insecureHttp: true })).toBeUndefined();
  });

  it('refuses one TLS file without the other, and TLS with --insecure-http', () => {
    expect(() => checkListenSettings({ host: '127.0.0.1', tlsCert: 'c.pem' })).toThrow(
      /--tls-cert and --tls-key/,
    );
    expect(() => checkListenSettings({ host: '127.0.0.1', tlsKey: 'k.pem' })).toThrow(
      /--tls-cert and --tls-key/,
    );
    expect(() =>
      checkListenSettings({ host: '0.0.0.0', tlsCert: 'c.pem', tlsKey: 'k.pem', insecureHttp: true }),
    ).toThrow(/--insecure-http/);
  });

  it('counts 127.0.0.0/8, ::1 and localhost as loopback, nothing else', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost'].map(isLoopback)).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(['0.0.0.0', '::', '10.0.0.1', 'crossdock.example', '127.example'].map(isLoopback)).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
  });
});
