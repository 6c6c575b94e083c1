import { ConfigError, loadConfig, type Config } from './config.js';
import { startServer } from './server.js';

/** Exit code 2: the configuration is wrong, which no restart will fix. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const problem of err.problems) process.stderr.write(`config: ${problem}\n`);
    process.exit(2);
  }
}

/** config → db → migrate → app → listen; SIGTERM/SIGINT stop it gracefully. */
export async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const server = await startServer(config);
  const stop = (signal: string) => {
    server.logger.info({ signal }, 'signal received');
    server.shutdown().then(
      () => process.exit(0),
      (err) => {
        server.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
