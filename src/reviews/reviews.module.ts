import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { DatabaseModule } from '../database/database.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { ReviewResolvers } from './review-resolvers';
import { Review } from './review.entity';
import { ReviewsController } from './reviews.controller';
import { ReviewsRepository } from './reviews.repository';
import { ReviewsService } from './reviews.service';

/**
 * The review queue. Payments and payouts open reviews and register how their records resolve (ReviewResolvers);
 * this module imports neither.
 */
@Module({})
export class ReviewsModule {
  private static readonly registered = new Map<boolean, DynamicModule>();

  static register(options: { runWorkers: boolean }): DynamicModule {
    const existing = ReviewsModule.registered.get(options.runWorkers);
    if (existing) return existing;
    const module: DynamicModule = {
      module: ReviewsModule,
      imports: [DatabaseModule, TypeOrmModule.forFeature([Review]), AuditModule, NotificationsModule.register(options)],
      controllers: [ReviewsController],
      providers: [ReviewsRepository, ReviewsService, ReviewResolvers],
      exports: [ReviewsService, ReviewResolvers],
    };
    ReviewsModule.registered.set(options.runWorkers, module);
    return module;
  }
}
