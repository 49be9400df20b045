import 'dotenv/config';
import { join } from 'node:path';
import { DataSourceOptions } from 'typeorm';
import { loadConfig } from '../config/configuration';

const SRC = join(__dirname, '..');

/**
 * The one definition of how we reach Postgres. The app loads its entities through its modules (autoLoadEntities);
 * the migration CLI, which has no modules, finds them by file name.
 */
export function dataSourceOptions(): DataSourceOptions {
  const { database } = loadConfig();
  return {
    type: 'postgres',
    url: database.url,
    migrations: [join(SRC, '..', 'migrations', '*.js')],
    migrationsTableName: 'schema_migrations',
    synchronize: false,
    extra: { max: database.poolSize },
  };
}

/** For the CLI (migrations, generate): every entity of the build, by its file name. */
export function cliDataSourceOptions(): DataSourceOptions {
  return { ...dataSourceOptions(), entities: [join(SRC, '**', '*.entity.js')] };
}
