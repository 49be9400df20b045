import { Module } from '@nestjs/common';
import { Database } from './database';

/** The SQL runner every repository uses; the connection itself is TypeOrmModule.forRoot's, in AppModule. */
@Module({ providers: [Database], exports: [Database] })
export class DatabaseModule {}
