import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query, Res, UnsupportedMediaTypeException } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Actor } from '../../audit/audit.service';
import { CurrentActor, Roles } from '../../auth/auth-user';
import { ErrorResponseDto } from '../../common/dto/error-response.dto';
import { ValidationError } from '../../common/errors/app-error';
import {
  DailyReconciliationDto,
  ListReportsQueryDto,
  ReportItemsQueryDto,
  ReportListResponseDto,
  ReportResponseDto,
  StatementImportQueryDto,
} from '../dto/reconciliation.dto';
import { STATEMENT_CONTENT_TYPES, STATEMENT_MAX_BYTES } from '../statements/statement-body';
import { ReconciliationService, SavedReport } from './reconciliation.service';

/** Reconciliation reports, for admins: statements imported, days reconciled through Pull, and their differences. */
@ApiTags('reconciliation')
@ApiBearerAuth()
@Roles('admin')
@ApiResponse({ status: 403, description: 'Admins only', type: ErrorResponseDto })
@Controller('api/reconciliation')
export class ReportsController {
  constructor(private readonly reconciliation: ReconciliationService) {}

  /**
   * Imports the M-Pesa org portal's statement, the CSV export as the request body (`Content-Type: text/csv`, at most
   * 16 MB). 201 with the report; 200 with the first report when the same statement was imported before (nothing
   * changes); 400 naming the problem when the body is not a statement.
   */
  @Post('statements')
  @ApiConsumes(...STATEMENT_CONTENT_TYPES)
  @ApiBody({ schema: { type: 'string', format: 'binary' } })
  @ApiResponse({ status: 201, type: ReportResponseDto })
  @ApiResponse({ status: 200, description: 'Imported before: the first report', type: ReportResponseDto })
  @ApiResponse({ status: 400, description: 'Not a statement, or rows that cannot be read (named by line)', type: ErrorResponseDto })
  @ApiResponse({ status: 413, description: `Larger than ${STATEMENT_MAX_BYTES / 1024 / 1024} MB`, type: ErrorResponseDto })
  @ApiResponse({ status: 415, description: 'Not sent as text/csv', type: ErrorResponseDto })
  async importStatement(
    @Body() body: unknown,
    @Query() query: StatementImportQueryDto,
    @CurrentActor() actor: Actor,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ReportResponseDto> {
    if (!Buffer.isBuffer(body)) {
      throw new UnsupportedMediaTypeException(`Send the statement's CSV as the request body, with Content-Type: text/csv`);
    }
    if (!body.length) throw new ValidationError('The statement is empty');
    const saved = await this.reconciliation.importStatement(body, { shortCode: query.shortCode }, actor);
    void reply.status(saved.created ? 201 : 200);
    return this.withItems(saved, { page: 1, limit: 200 });
  }

  /**
   * Reconciles a Kenya day through Pull Transactions now (the daily job does yesterday's at RECONCILIATION_DAILY_CRON).
   * Only days inside Pull's 48 hours; today is reconciled so far.
   */
  @Post('reports/pull-daily')
  @ApiResponse({ status: 201, type: ReportResponseDto })
  @ApiResponse({ status: 200, description: 'That day was reconciled before: its report', type: ReportResponseDto })
  @ApiResponse({ status: 502, description: 'Pull answered "no records" while payments were recorded that day', type: ErrorResponseDto })
  @ApiResponse({ status: 503, description: 'Pull failed (its run, in pull-runs, says why)', type: ErrorResponseDto })
  async reconcileDay(
    @Body() dto: DailyReconciliationDto,
    @CurrentActor() actor: Actor,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ReportResponseDto> {
    const saved = await this.reconciliation.reconcileDay(dto.day, actor);
    void reply.status(saved.created ? 201 : 200);
    return this.withItems(saved, { page: 1, limit: 200 });
  }

  /** Newest first. */
  @Get('reports')
  @ApiResponse({ status: 200, type: ReportListResponseDto })
  async list(@Query() query: ListReportsQueryDto): Promise<ReportListResponseDto> {
    const [items, total] = await this.reconciliation.listReports(query);
    return { success: true, data: { items, total, page: query.page, limit: query.limit } };
  }

  /** The report's counts and its rows (filter by `kind`, e.g. `missing_here`; paged). */
  @Get('reports/:id')
  @HttpCode(200)
  @ApiResponse({ status: 200, type: ReportResponseDto })
  @ApiResponse({ status: 404, type: ErrorResponseDto })
  async get(@Param('id', new ParseUUIDPipe()) id: string, @Query() query: ReportItemsQueryDto): Promise<ReportResponseDto> {
    const report = await this.reconciliation.getReport(id);
    return this.withItems({ report, created: false }, query, false);
  }

  private async withItems(
    saved: SavedReport,
    query: Pick<ReportItemsQueryDto, 'kind' | 'page' | 'limit'>,
    sayCreated = true,
  ): Promise<ReportResponseDto> {
    const [items, total] = await this.reconciliation.listItems({ reportId: saved.report.id, ...query });
    const openDifferences = await this.reconciliation.openDifferences(saved.report.id);
    return {
      success: true,
      ...(sayCreated ? { created: saved.created } : {}),
      data: {
        ...saved.report,
        openDifferences,
        items: { items: items.map(({ raw: _raw, ...item }) => item), total, page: query.page, limit: query.limit },
      },
    };
  }
}
