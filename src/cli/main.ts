#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, loadConfig, type ConfigFlags } from '../config.js';
import { ROLES, type Role } from '../domain/permissions.js';
import { VERSION, createApp, loadMasterKeys, openConfiguredDb } from '../app.js';
import { ACCESS_KEY_KINDS, type AccessKeyKind } from '../domain/access-key.js';
import { migrateToLatest } from '../storage/database.js';
import { createWriter } from '../storage/writer.js';
import { findWorkspace } from '../storage/workspace-repo.js';
import { issueAccessKey } from '../services/access-key-service.js';
import { issueKey } from '../services/access-service.js';
import { systemClock } from '../services/clock.js';
import { createVault } from '../services/vault.js';
import { printAuditEvents } from './audit.js';
import { keysRewrap, keysStatus, parseBatchSize } from './keys.js';
import { browsableUrl, checkCanListen, listenProblem, startLine } from './listen.js';
import { importToolset } from './toolsets.js';
import { createUser, readPassword } from './users.js';

const storeOptions = (command: Command) =>
  command
    .option('--data-dir <dir>', 'directory of the embedded SQLite store and key file (env DATA_DIR, default ./data)')
    .option('--database-url <url>', 'PostgreSQL connection string (env DATABASE_URL); SQLite when unset');

/** Runs a command body, turning configuration problems into a clear message and exit code 2. */
async function run(body: () => Promise<void>) {
  try {
    await body();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`plugboard: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}

function banner(key: string, url: string) {
  const line = '-'.repeat(72);
  return `${line}\nplugboard created workspace "default" and an owner API key. It is shown only this once:\n\n  ${key}\n\nConsole: open ${url}/console/ and sign in with this key\nTry it:  curl -H "Authorization: Bearer ${key}" ${url}/api/v1/workspaces\n${line}\n`;
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1.');
  return n;
}

const program = new Command('plugboard').description('Self-hosted connector hub.').version(VERSION);

storeOptions(
  program
    .command('serve')
    .description('Start the HTTP server (native API, docs, health endpoints). Migrates the store first.')
    .option('-p, --port <port>', 'port to listen on (env PORT, default 8080)')
    .option('--host <host>', 'address to bind (env HOST, default 127.0.0.1)')
    .addOption(new Option('--log-level <level>', 'log level (env LOG_LEVEL, default info)'))
    .option('--require-if-match', 'refuse PUT/PATCH/DELETE without If-Match (env REQUIRE_IF_MATCH)'),
).action((flags: ConfigFlags) =>
  run(async () => {
    const config = loadConfig(process.env, flags);
    // Checked before the store is touched: a start that cannot listen must not create an owner key nobody sees.
    await checkCanListen(config.host, config.port);
    const app = await createApp(config);
    // Graceful stop: /readyz turns not-ready at once so a load balancer stops sending work, then after the
    // drain period the server stops accepting, finishes what is in flight and closes the store. A second
    // signal stops at once.
    const shutdown = async (signal: string) => {
      process.once(signal, () => process.exit(1));
      app.logger.info({ signal, drainMs: config.shutdownDrainMs }, 'draining');
      app.beginDrain();
      await new Promise((resolve) => setTimeout(resolve, config.shutdownDrainMs));
      await app.close();
      app.logger.info('stopped');
      process.exit(0);
    };
    process.once('SIGTERM', () => void shutdown('SIGTERM'));
    process.once('SIGINT', () => void shutdown('SIGINT'));
    let address: string;
    try {
      address = await app.server.listen({ port: config.port, host: config.host });
    } catch (error) {
      await app.close();
      throw new Error(listenProblem(error, config.host, config.port) ?? (error as Error).message, { cause: error });
    }
    app.logger.info(
      { address, console: `${address}/console/`, store: config.database.engine },
      'plugboard is listening',
    );
    // For a person, whatever LOG_LEVEL says; the key only now that the server it opens is there.
    const url = browsableUrl(address);
    process.stdout.write(`${startLine(address, config.isPublicUrlSet ? config.publicUrl : url)}\n`);
    if (app.bootstrapKey?.generated) {
      process.stdout.write(banner(app.bootstrapKey.key, url));
    } else if (app.bootstrapKey) {
      app.logger.info('created workspace "default" with PLUGBOARD_ADMIN_KEY as its owner key');
    }
  }),
);

storeOptions(program.command('migrate').description("Bring the store's schema up to date and exit.")).action(
  (flags: ConfigFlags) =>
    run(async () => {
      const config = loadConfig(process.env, flags);
      const db = openConfiguredDb(config);
      try {
        const { applied } = await migrateToLatest(db);
        process.stdout.write(applied.length > 0 ? `applied: ${applied.join(', ')}\n` : 'schema is up to date\n');
      } finally {
        await db.close();
      }
    }),
);

const admin = program.command('admin').description('Operator commands that work on the store directly.');
storeOptions(
  admin
    .command('create-key')
    .description('Create a service principal with a role in a workspace, and print its API key once.')
    .requiredOption('-w, --workspace <id>', 'workspace the key acts in')
    .addOption(new Option('-r, --role <role>', 'role in that workspace').choices(ROLES).default('viewer'))
    .option('-n, --name <name>', 'a name to recognise the key by', 'cli key'),
).action((flags: ConfigFlags & { workspace: string; role: Role; name: string }) =>
  run(async () => {
    const config = loadConfig(process.env, flags);
    const db = openConfiguredDb(config);
    try {
      await migrateToLatest(db);
      if (!(await findWorkspace(db.kysely, flags.workspace)))
        throw new Error(`workspace "${flags.workspace}" does not exist`);
      const issued = await createWriter(db).write((tx) =>
        issueKey(tx, { name: flags.name, role: flags.role, workspaceId: flags.workspace }, systemClock.now()),
      );
      process.stdout.write(`${issued.key}\n`);
      process.stderr.write(
        `key ${issued.apiKey.id} for principal ${issued.apiKey.principalId}: ${flags.role} of ${flags.workspace}\n`,
      );
    } finally {
      await db.close();
    }
  }),
);

const users = program.command('users').description('People who sign in to the console (docs/people.md).');
storeOptions(
  users
    .command('create')
    .description(
      'Create a user with a password (read from standard input, never from the command line) and a role in a workspace.',
    )
    .requiredOption('-e, --email <email>', 'the address they sign in with')
    .requiredOption('-n, --name <name>', 'their display name, shown in the console and the audit')
    .requiredOption('-w, --workspace <id>', 'workspace they become a member of')
    .addOption(new Option('-r, --role <role>', 'role in that workspace').choices(ROLES).default('viewer')),
).action((flags: ConfigFlags & { email: string; name: string; workspace: string; role: Role }) =>
  run(async () => {
    const config = loadConfig(process.env, flags);
    if (process.stdin.isTTY) process.stderr.write('Password (then Enter and Ctrl-D): ');
    const password = await readPassword(process.stdin);
    await createUser(
      config,
      { email: flags.email, displayName: flags.name, workspace: flags.workspace, role: flags.role, password },
      (line) => process.stdout.write(`${line}\n`),
    );
  }),
);

storeOptions(
  admin
    .command('create-access-key')
    .description(
      'Create a service principal with a role in a workspace, and a key pair for signed requests; print the id, then the secret, once.',
    )
    .requiredOption('-w, --workspace <id>', 'workspace the key acts in (also its default workspace)')
    .addOption(new Option('-r, --role <role>', 'role in that workspace').choices(ROLES).default('viewer'))
    .option('-n, --name <name>', 'a name to recognise the key by', 'cli access key')
    .addOption(
      new Option('--kind <kind>', 'alibaba: AccessKey id + secret; huawei: AK/SK')
        .choices(ACCESS_KEY_KINDS)
        .makeOptionMandatory(),
    ),
).action((flags: ConfigFlags & { workspace: string; role: Role; name: string; kind: AccessKeyKind }) =>
  run(async () => {
    const config = loadConfig(process.env, flags);
    const db = openConfiguredDb(config);
    try {
      await migrateToLatest(db);
      if (!(await findWorkspace(db.kysely, flags.workspace)))
        throw new Error(`workspace "${flags.workspace}" does not exist`);
      const vault = createVault(loadMasterKeys(config));
      const input = { name: flags.name, kind: flags.kind, role: flags.role, workspaceId: flags.workspace };
      const issued = await createWriter(db).write((tx) => issueAccessKey(tx, vault, input, systemClock.now()));
      process.stdout.write(`${issued.accessKey.id}\n${issued.secret}\n`);
      process.stderr.write(
        `${flags.kind} access key for principal ${issued.accessKey.principalId}: ${flags.role} of ${flags.workspace}; the secret is not shown again\n`,
      );
    } finally {
      await db.close();
    }
  }),
);

storeOptions(
  admin
    .command('audit')
    .description(
      'Print the audit events recorded under a workspace id (deleted workspaces of that id included) or of one workspace uid, newest first, as JSON lines.',
    )
    .option('-w, --workspace <id>', 'workspace id: events of every workspace that had it')
    .option('-u, --workspace-uid <uid>', 'workspace uid: events of that workspace only')
    .option('--limit <n>', 'at most this many events', parseLimit, 1000),
).action((flags: ConfigFlags & { workspace?: string; workspaceUid?: string; limit: number }) =>
  run(() =>
    printAuditEvents(
      loadConfig(process.env, flags),
      { workspaceId: flags.workspace, workspaceUid: flags.workspaceUid, limit: flags.limit },
      (line) => process.stdout.write(`${line}\n`),
    ),
  ),
);

const toolsetsCommand = program.command('toolsets').description('Toolsets: APIs turned into tools for AI agents.');
storeOptions(
  toolsetsCommand
    .command('import')
    .description(
      'Create or update a toolset from an OpenAPI 3.0/3.1 or Swagger 2.0 file (YAML or JSON), and convert it at once.',
    )
    .argument('<file>', 'the OpenAPI document')
    .requiredOption('-n, --name <name>', 'toolset name ([a-z0-9][a-z0-9_-]{0,63})')
    .option('-w, --workspace <id>', 'workspace', 'default')
    .option('-d, --description <text>', 'description'),
).action((file: string, flags: ConfigFlags & { name: string; workspace: string; description?: string }) =>
  run(() =>
    importToolset(loadConfig(process.env, flags), { file, ...flags }, (line) => process.stdout.write(`${line}\n`)),
  ),
);

const keys = program
  .command('keys')
  .description('Master-key rotation: which keys the stored secrets use, and re-wrapping them onto the active key.');
storeOptions(
  keys
    .command('status')
    .description('Count the sealed values per master-key id over the whole store, and name the active key.'),
).action((flags: ConfigFlags) =>
  run(() => keysStatus(loadConfig(process.env, flags), (line) => process.stdout.write(`${line}\n`))),
);
storeOptions(
  keys
    .command('rewrap')
    .description(
      'Re-wrap every sealed value onto the active (first) master key, in short batches, while servers keep running.',
    )
    .option('--batch-size <n>', 'rows per transaction', parseBatchSize, 100),
).action((flags: ConfigFlags & { batchSize: number }) =>
  run(async () => {
    const done = await keysRewrap(loadConfig(process.env, flags), { batchSize: flags.batchSize }, (line) =>
      process.stdout.write(`${line}\n`),
    );
    if (!done) process.exitCode = 1;
  }),
);

await program.parseAsync(process.argv);
