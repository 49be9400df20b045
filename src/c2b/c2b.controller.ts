import { Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Actor } from '../audit/audit.service';
import { CurrentActor, Roles } from '../auth/auth-user';
import { ErrorResponseDto } from '../common/dto/error-response.dto';
import { C2bRegistrationService } from './c2b-registration.service';
import { C2bRegistrationResponseDto } from './dto/c2b.dto';

/** C2B administration, for admins. */
@ApiTags('c2b')
@ApiBearerAuth()
@Roles('admin')
@ApiResponse({ status: 401, description: 'Missing, expired or invalid token', type: ErrorResponseDto })
@ApiResponse({ status: 403, description: 'Admins only', type: ErrorResponseDto })
@Controller('api/mpesa/c2b')
export class C2bController {
  constructor(private readonly registration: C2bRegistrationService) {}

  /**
   * Registers MPESA_C2B_VALIDATION_URL and MPESA_C2B_CONFIRMATION_URL (with their tokens) for MPESA_C2B_SHORTCODE
   * (Daraja C2B v2). Production takes one registration per shortcode: a second answers 409 with what to do.
   */
  @Post('register')
  @HttpCode(200)
  @ApiResponse({ status: 200, type: C2bRegistrationResponseDto })
  @ApiResponse({ status: 409, description: 'URLs already registered for the shortcode (or C2B not configured)', type: ErrorResponseDto })
  @ApiResponse({ status: 502, description: 'M-Pesa refused the registration', type: ErrorResponseDto })
  @ApiResponse({ status: 503, description: 'M-Pesa did not take it, or its answer was unclear: try again', type: ErrorResponseDto })
  async register(@CurrentActor() actor: Actor): Promise<C2bRegistrationResponseDto> {
    return { success: true, message: 'C2B URLs registered', data: await this.registration.register(actor) };
  }
}
