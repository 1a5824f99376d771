// `rtrack watch --web-config <file>`: TLS and basic authentication for the metrics endpoint, in the
// file format of the Prometheus exporter toolkit (node_exporter's `--web.config.file`), so that one
// file serves every exporter on a machine and `promtool check web-config` checks it:
//
//   tls_server_config:
//     cert_file: server.crt          # relative paths: from the file's directory
//     key_file: server.key
//     client_auth_type: RequireAndVerifyClientCert   # and client_ca_file
//     min_version: TLS12
//   http_server_config:
//     headers: { Strict-Transport-Security: max-age=31536000 }
//   basic_auth_users:
//     prometheus: $2y$10$...         # bcrypt hashes (htpasswd -nBC 10 "" | tr -d ':\n')
//
// What rtrack does not do is an error naming the key, never ignored: cipher_suites,
// curve_preferences, prefer_server_cipher_suites, client_allowed_sans. `http2` is accepted and has
// no effect (the endpoint speaks HTTP/1.1).
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { ServerOptions } from 'node:https';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { ConfigError } from '../errors.js';

const CLIENT_AUTH = ['NoClientCert', 'RequestClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'] as const;
type ClientAuth = (typeof CLIENT_AUTH)[number];
const TLS_VERSIONS = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const;
const UNSUPPORTED = ['cipher_suites', 'curve_preferences', 'prefer_server_cipher_suites', 'client_allowed_sans'];

/** A web config file, read and checked. */
export interface WebConfig {
  path: string;
  /** TLS: what `https.createServer` takes (certificates read), and what the client must show. */
  tls?: { options: ServerOptions; clientAuth: ClientAuth };
  /** Response headers (http_server_config.headers). */
  headers: Record<string, string>;
  /** Users and their bcrypt hashes (basic_auth_users); undefined: no authentication. */
  users?: Map<string, string>;
}

const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads and checks a web config file; a ConfigError names the file and the key at fault. */
export function readWebConfig(path: string): WebConfig {
  const at = (key: string, problem: string): ConfigError => new ConfigError(`${path}: ${key}: ${problem}`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`--web-config ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const { parse } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  let value: unknown;
  try {
    value = parse(text, { prettyErrors: false }) ?? {};
  } catch (err) {
    throw new ConfigError(`${path}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!isMapping(value)) throw new ConfigError(`${path}: expected a mapping of keys`);
  const unknown = Object.keys(value).filter((k) => !['tls_server_config', 'http_server_config', 'basic_auth_users'].includes(k));
  if (unknown.length > 0) throw new ConfigError(`${path}: unknown key ${unknown.join(', ')}`);
  const base = dirname(resolve(path));
  const file = (key: string, name: unknown): Buffer => {
    if (typeof name !== 'string' || name === '') throw at(key, 'expected a file name');
    try {
      return readFileSync(resolve(base, name));
    } catch (err) {
      throw at(key, `cannot read ${resolve(base, name)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  const config: WebConfig = { path, headers: {} };

  const tls = value.tls_server_config;
  if (tls !== undefined && tls !== null) {
    if (!isMapping(tls)) throw at('tls_server_config', 'expected a mapping of keys');
    for (const key of Object.keys(tls)) {
      if (UNSUPPORTED.includes(key)) throw at(`tls_server_config.${key}`, 'not supported by rtrack (leave it out: Node.js chooses the cipher suites and curves)');
      if (!['cert_file', 'key_file', 'cert', 'key', 'client_auth_type', 'client_ca_file', 'client_ca', 'min_version', 'max_version'].includes(key)) throw at(`tls_server_config.${key}`, 'unknown key');
    }
    const cert = tls.cert !== undefined ? Buffer.from(String(tls.cert)) : file('tls_server_config.cert_file', tls.cert_file);
    const key = tls.key !== undefined ? Buffer.from(String(tls.key)) : file('tls_server_config.key_file', tls.key_file);
    const clientAuth = (tls.client_auth_type ?? 'NoClientCert') as ClientAuth;
    if (!CLIENT_AUTH.includes(clientAuth)) throw at('tls_server_config.client_auth_type', `expected one of ${CLIENT_AUTH.join(', ')}`);
    const ca = tls.client_ca !== undefined ? Buffer.from(String(tls.client_ca)) : tls.client_ca_file !== undefined ? file('tls_server_config.client_ca_file', tls.client_ca_file) : undefined;
    if ((clientAuth === 'VerifyClientCertIfGiven' || clientAuth === 'RequireAndVerifyClientCert') && !ca) throw at('tls_server_config.client_ca_file', `${clientAuth} needs the CA that signs client certificates`);
    const version = (key: 'min_version' | 'max_version'): (typeof TLS_VERSIONS)[keyof typeof TLS_VERSIONS] | undefined => {
      const v = tls[key];
      if (v === undefined) return undefined;
      if (typeof v !== 'string' || !(v in TLS_VERSIONS)) throw at(`tls_server_config.${key}`, `expected one of ${Object.keys(TLS_VERSIONS).join(', ')}`);
      return TLS_VERSIONS[v as keyof typeof TLS_VERSIONS];
    };
    const options: ServerOptions = {
      cert,
      key,
      minVersion: version('min_version') ?? 'TLSv1.2', // the exporter toolkit's default
      ...(version('max_version') ? { maxVersion: version('max_version') } : {}),
      ...(ca ? { ca } : {}),
      requestCert: clientAuth !== 'NoClientCert',
      rejectUnauthorized: clientAuth === 'RequireAndVerifyClientCert',
    };
    config.tls = { options, clientAuth };
  }

  const http = value.http_server_config;
  if (http !== undefined && http !== null) {
    if (!isMapping(http)) throw at('http_server_config', 'expected a mapping of keys');
    for (const key of Object.keys(http)) if (!['http2', 'headers'].includes(key)) throw at(`http_server_config.${key}`, 'unknown key');
    if (http.http2 !== undefined && typeof http.http2 !== 'boolean') throw at('http_server_config.http2', 'expected true or false');
    if (http.headers !== undefined && http.headers !== null) {
      if (!isMapping(http.headers)) throw at('http_server_config.headers', 'expected a mapping of header names to values');
      for (const [name, v] of Object.entries(http.headers)) {
        if (typeof v !== 'string' || /[\r\n]/.test(v)) throw at(`http_server_config.headers.${name}`, 'expected a one-line string');
        config.headers[name] = v;
      }
    }
  }

  const users = value.basic_auth_users;
  if (users !== undefined && users !== null) {
    if (!isMapping(users)) throw at('basic_auth_users', 'expected a mapping of user names to bcrypt hashes');
    config.users = new Map();
    for (const [user, hash] of Object.entries(users)) {
      if (typeof hash !== 'string' || !/^\$2[aby]?\$\d{2}\$[./A-Za-z0-9]{53}$/.test(hash)) throw at(`basic_auth_users.${user}`, 'expected a bcrypt hash ($2y$10$…; htpasswd -nBC 10 "" makes one)');
      config.users.set(user, hash);
    }
  }
  return config;
}

/** What a request may do under a web config: undefined when it may go on, else the status to answer with. */
export type Admission = (req: IncomingMessage) => Promise<401 | 403 | undefined>;

/**
 * The checks a request passes under a config: the client certificate its client_auth_type asks for,
 * then basic authentication. bcrypt takes about 60 ms a check, so a user and password that passed
 * are remembered (by a hash of both); an unknown user costs a check too, so that no answer's time
 * tells which users exist.
 */
export function admission(config: WebConfig): Admission {
  // Loaded only for a config that has users: node:crypto alone is about 1.5 MB of a long-lived process.
  const require = createRequire(import.meta.url);
  const bcrypt = config.users ? (require('bcryptjs') as typeof import('bcryptjs')) : undefined;
  const { createHash, timingSafeEqual } = config.users ? (require('node:crypto') as typeof import('node:crypto')) : ({} as typeof import('node:crypto'));
  const passed = new Set<string>();
  const decoy = '$2b$10$0000000000000000000000000000000000000000000000000000.';
  return async (req) => {
    const clientAuth = config.tls?.clientAuth;
    if (clientAuth === 'RequireAnyClientCert' || clientAuth === 'VerifyClientCertIfGiven') {
      const socket = req.socket as TLSSocket;
      const cert = socket.getPeerCertificate?.();
      const given = cert !== undefined && Object.keys(cert).length > 0;
      if (clientAuth === 'RequireAnyClientCert' && !given) return 403;
      if (clientAuth === 'VerifyClientCertIfGiven' && given && !socket.authorized) return 403;
    }
    if (!config.users || !bcrypt) return undefined;
    const header = req.headers.authorization;
    const match = header === undefined ? undefined : /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (!match) return 401;
    const text = Buffer.from(match[1]!, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon < 0) return 401;
    const user = text.slice(0, colon);
    const password = text.slice(colon + 1);
    const hash = config.users.get(user);
    const key = createHash('sha256').update(`${user}\0${password}\0${hash ?? ''}`).digest();
    for (const known of passed) if (timingSafeEqual(Buffer.from(known, 'base64'), key)) return undefined;
    const ok = await bcrypt.compare(password, hash ?? decoy);
    if (!ok || hash === undefined) return 401;
    if (passed.size < 64) passed.add(key.toString('base64'));
    return undefined;
  };
}
