import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Actor } from '../../audit/audit.service';
import { CurrentActor, Roles } from '../../auth/auth-user';
import { ErrorResponseDto } from '../../common/dto/error-response.dto';
import { NotFoundError } from '../../common/errors/app-error';
import {
  ListPullRunsQueryDto,
  PullRegisterDto,
  PullRegisteredResponseDto,
  PullRunListResponseDto,
  PullRunResponseDto,
} from '../dto/reconciliation.dto';
import { PullRunsRepository } from './pull-runs.repository';
import { PullService } from './pull.service';

/** Pull Transactions, for admins: registration of the shortcode and the runs that recover missed payments. */
@ApiTags('reconciliation')
@ApiBearerAuth()
@Roles('admin')
@ApiResponse({ status: 403, description: 'Admins only', type: ErrorResponseDto })
@Controller('api')
export class PullController {
  constructor(
    private readonly pull: PullService,
    private readonly runs: PullRunsRepository,
  ) {}

  /** Registers the shortcode for Pull Transactions (once per shortcode); "already registered" is success too. */
  @Post('mpesa/pull/register')
  @HttpCode(200)
  @ApiResponse({ status: 200, type: PullRegisteredResponseDto })
  @ApiResponse({ status: 502, description: 'Daraja refused the registration (its message says why)', type: ErrorResponseDto })
  async register(@Body() dto: PullRegisterDto, @CurrentActor() actor: Actor): Promise<PullRegisteredResponseDto> {
    return { success: true, data: await this.pull.register(dto, actor) };
  }

  /** Runs Pull now over the scheduled window (the last PULL_WINDOW_MINUTES), as the scheduled job does. */
  @Post('reconciliation/pull-runs')
  @HttpCode(201)
  @ApiResponse({ status: 201, type: PullRunResponseDto })
  async runNow(@CurrentActor() actor: Actor): Promise<PullRunResponseDto> {
    const { run } = await this.pull.run('manual', await this.pull.scheduledWindow(), actor);
    return { success: true, data: run };
  }

  /** Newest first: each run's window, pages, what it saw and recovered, Daraja's answers and errors. */
  @Get('reconciliation/pull-runs')
  @ApiResponse({ status: 200, type: PullRunListResponseDto })
  async list(@Query() query: ListPullRunsQueryDto): Promise<PullRunListResponseDto> {
    const [items, total] = await this.runs.list(query);
    return { success: true, data: { items, total, page: query.page, limit: query.limit } };
  }

  @Get('reconciliation/pull-runs/:id')
  @ApiResponse({ status: 200, type: PullRunResponseDto })
  @ApiResponse({ status: 404, type: ErrorResponseDto })
  async get(@Param('id', new ParseUUIDPipe()) id: string): Promise<PullRunResponseDto> {
    const run = await this.runs.findById(id);
    if (!run) throw new NotFoundError('Pull run');
    return { success: true, data: run };
  }
}
