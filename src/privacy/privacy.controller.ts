import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Actor } from '../audit/audit.service';
import { CurrentActor, Roles } from '../auth/auth-user';
import { ErrorResponseDto } from '../common/dto/error-response.dto';
import { AnonymisationResponseDto, AnonymiseRequestDto, ClientDataExportResponseDto, DataSubjectDto } from './dto/privacy.dto';
import { PrivacyService } from './privacy.service';

/** Data-subject requests (Kenya Data Protection Act 2019, GDPR): access and erasure, for admins, audited. */
@ApiTags('data protection')
@ApiBearerAuth()
@Roles('admin')
@ApiResponse({ status: 403, description: 'Admins only', type: ErrorResponseDto })
@ApiResponse({ status: 404, description: 'No data is held about this client', type: ErrorResponseDto })
@Controller('api/privacy')
export class PrivacyController {
  constructor(private readonly privacy: PrivacyService) {}

  /** Everything held about a client, by client id (use `POST /api/privacy/export` to ask by phone number). */
  @Get('clients/:clientId/export')
  @ApiResponse({ status: 200, type: ClientDataExportResponseDto })
  async exportByClientId(@Param('clientId') clientId: string, @CurrentActor() actor: Actor): Promise<ClientDataExportResponseDto> {
    return { success: true, data: await this.privacy.export({ clientId }, actor) };
  }

  /** Everything held about a client, by client id and/or phone number (kept out of the URL). */
  @Post('export')
  @HttpCode(200)
  @ApiResponse({ status: 200, type: ClientDataExportResponseDto })
  @ApiResponse({ status: 400, description: 'Neither a client id nor a valid phone number', type: ErrorResponseDto })
  async export(@Body() dto: DataSubjectDto, @CurrentActor() actor: Actor): Promise<ClientDataExportResponseDto> {
    return { success: true, data: await this.privacy.export(dto, actor) };
  }

  /** Masks the client's phone numbers, names and emails everywhere; financial records and the audit trail stay. */
  @Post('anonymise')
  @HttpCode(200)
  @ApiResponse({ status: 200, description: 'Anonymised, or already anonymised (`changed: false`)', type: AnonymisationResponseDto })
  @ApiResponse({ status: 400, description: 'Invalid input; nothing changed', type: ErrorResponseDto })
  @ApiResponse({ status: 409, description: 'A payment, payout or reversal of the client is still in flight', type: ErrorResponseDto })
  async anonymise(@Body() dto: AnonymiseRequestDto, @CurrentActor() actor: Actor): Promise<AnonymisationResponseDto> {
    const data = await this.privacy.anonymise(dto, actor);
    return { success: true, message: data.changed ? 'Personal data anonymised' : 'Already anonymised: nothing changed', data };
  }
}
