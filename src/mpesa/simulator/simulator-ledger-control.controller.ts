import { Body, Controller, Delete, Get, Inject, Param, Patch, Post, Query, Res, ValidationPipe } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public, SkipRateLimits } from '../../common/decorators/route-access';
import { normalizeKenyanPhone } from '../../common/phone-number';
import { mpesaConfig } from '../../config/configuration';
import { parseStatementBound } from './simulator-c2b-checks';
import { SimulatorC2bService } from './simulator-c2b.service';
import { AddLedgerRowDto, C2bSwitchesDto, PatchLedgerRowDto, PullSettingsDto } from './simulator-control.dto';
import { chargeId, LEDGER_CUSTOMER_NAME, LEDGER_KINDS, LedgerEntry, LedgerKind, onShortCode, signedCents } from './simulator-ledger';
import { SimulatorPullService } from './simulator-pull.service';
import { statementCsv, statementFileName } from './simulator-statement';
import { DarajaSimulatorService } from './simulator.service';

/** Validates here rather than trusting the app's global pipe, whose settings this module does not own. */
const validBody = new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true });

const SHORTCODE = /^\d{5,7}$/;
const DEFAULT_PHONE = '254708374149';

/**
 * Test controls of C2B, Pull and the ledger (the statement), under `/simulator/control` like the others. Not part of
 * Daraja; never reachable outside simulator mode. Reconciliation tests shape M-Pesa's side with them: add a row the
 * app never heard of, change a row's amount, remove a row.
 */
@Public()
@SkipRateLimits()
@ApiExcludeController()
@Controller('simulator/control')
export class SimulatorLedgerControlController {
  constructor(
    @Inject(mpesaConfig.KEY) private readonly mpesa: ConfigType<typeof mpesaConfig>,
    private readonly simulator: DarajaSimulatorService,
    private readonly c2b: SimulatorC2bService,
    private readonly pull: SimulatorPullService,
  ) {}

  // ---- C2B ----

  @Get('c2b')
  async c2bState(@Res() reply: FastifyReply): Promise<void> {
    const [switches, registrations] = await Promise.all([this.c2b.switches(), this.c2b.registrations()]);
    reply.status(200).send({ ...switches, registrations });
  }

  /** Sets the switches given (see C2bSwitchesDto) and answers all of them. `POST reset` puts them back. */
  @Post('c2b')
  async setC2b(@Body(validBody) dto: C2bSwitchesDto, @Res() reply: FastifyReply): Promise<void> {
    reply.status(200).send(await this.c2b.setSwitches(dto));
  }

  /** Forgets a shortcode's URLs, as Safaricom's URL Management does: it can register again in production mode. */
  @Delete('c2b/urls/:shortCode')
  async deleteC2bUrls(@Param('shortCode') shortCode: string, @Res() reply: FastifyReply): Promise<void> {
    reply.status(200).send({ shortCode, deleted: await this.c2b.deleteRegistration(shortCode) });
  }

  /** Every payment simulated from the phone: status (pending, completed, cancelled), receipt, validation, confirmations. */
  @Get('c2b/payments')
  async c2bPayments(@Query('phone') phone: unknown, @Res() reply: FastifyReply): Promise<void> {
    const msisdn = normalizeKenyanPhone(phone);
    if (!msisdn) {
      reply.status(400).send({ statusCode: 400, message: 'phone must be a Safaricom number such as 254708374149' });
      return;
    }
    reply.status(200).send({ items: await this.c2b.paymentsForPhone(msisdn) });
  }

  /** By the `OriginatorCoversationID` simulate answered. */
  @Get('c2b/payments/:originatorConversationId')
  async c2bPayment(@Param('originatorConversationId') id: string, @Res() reply: FastifyReply): Promise<void> {
    const payment = await this.c2b.findPayment(id);
    if (!payment) {
      reply.status(404).send({ statusCode: 404, message: `No simulated C2B payment ${id}` });
      return;
    }
    reply.status(200).send(payment);
  }

  // ---- Pull ----

  @Get('pull')
  async pullState(@Res() reply: FastifyReply): Promise<void> {
    const [settings, registrations] = await Promise.all([this.pull.settings(), this.pull.registrations()]);
    reply.status(200).send({ ...settings, registrations });
  }

  /** `{pageSize?, offsetReading?: "page" | "row"}`; `POST reset` puts them back (100, page). */
  @Post('pull')
  async setPull(@Body(validBody) dto: PullSettingsDto, @Res() reply: FastifyReply): Promise<void> {
    reply.status(200).send(await this.pull.setSettings(dto));
  }

  /** Forgets a Pull registration: the shortcode answers 1001 again until it registers. */
  @Delete('pull/registrations/:shortCode')
  async deletePullRegistration(@Param('shortCode') shortCode: string, @Res() reply: FastifyReply): Promise<void> {
    reply.status(200).send({ shortCode, deleted: await this.pull.deleteRegistration(shortCode) });
  }

  // ---- Ledger and statement ----

  /** Ledger rows, oldest first, including STK rows whose settlement is still ahead. Filters: from, to, shortCode, kind, receipt. */
  @Get('ledger')
  async ledger(@Query() query: Record<string, unknown>, @Res() reply: FastifyReply): Promise<void> {
    const window = this.window(query, reply, Number.POSITIVE_INFINITY);
    if (!window) return;
    const kind = query.kind;
    if (kind !== undefined && !(LEDGER_KINDS as readonly unknown[]).includes(kind)) {
      reply.status(400).send({ statusCode: 400, message: `kind must be one of ${LEDGER_KINDS.join(', ')}` });
      return;
    }
    const receipt = typeof query.receipt === 'string' ? query.receipt.toUpperCase() : undefined;
    const items = (await this.rows(window)).filter((e) => (!kind || e.kind === kind) && (!receipt || e.receipt === receipt));
    reply.status(200).send({ items });
  }

  /** Adds a row M-Pesa has (no notification is sent for it): 409 when its id (receipt, or `<receipt>:charge`) exists. */
  @Post('ledger')
  async addRow(@Body(validBody) dto: AddLedgerRowDto, @Res() reply: FastifyReply): Promise<void> {
    if (dto.kind === 'charge' && !dto.receipt) {
      reply.status(400).send({ statusCode: 400, message: 'a charge names the receipt of the payment it is charged on' });
      return;
    }
    const receipt = dto.receipt ?? (await this.simulator.reserveReceipt('control:ledger'));
    const entry: LedgerEntry = {
      id: dto.kind === 'charge' ? chargeId(receipt) : receipt,
      receipt,
      kind: dto.kind,
      amount: dto.amount,
      completedAt: dto.completedAt ? new Date(dto.completedAt).toISOString() : new Date().toISOString(),
      shortCode: dto.shortCode ?? (dto.kind === 'b2c' ? this.mpesa.b2cShortcode : this.mpesa.shortcode),
      msisdn: dto.phone ?? (dto.kind === 'charge' ? '' : DEFAULT_PHONE),
      name: dto.name ?? (dto.kind === 'charge' ? '' : LEDGER_CUSTOMER_NAME),
      accountReference: dto.accountReference ?? null,
      transactionType: dto.transactionType ?? defaultTransactionType(dto.kind),
      ...(dto.originalReceipt ? { originalReceipt: dto.originalReceipt } : {}),
      ...(dto.details ? { details: dto.details } : {}),
      origin: 'control',
    };
    const { added } = await this.simulator.ledger.add(entry);
    if (!added) {
      reply.status(409).send({ statusCode: 409, message: `The ledger already has a row ${entry.id}` });
      return;
    }
    reply.status(200).send(entry);
  }

  /** Changes a row, e.g. its amount so that the statement disagrees with what the app was told. */
  @Patch('ledger/:id')
  async patchRow(@Param('id') id: string, @Body(validBody) dto: PatchLedgerRowDto, @Res() reply: FastifyReply): Promise<void> {
    const changed = await this.simulator.ledger.update(id, {
      amount: dto.amount,
      completedAt: dto.completedAt ? new Date(dto.completedAt).toISOString() : undefined,
      accountReference: dto.accountReference,
      details: dto.details,
      msisdn: dto.phone,
      name: dto.name,
    });
    if (!changed) {
      reply.status(404).send({ statusCode: 404, message: `No ledger row ${id}` });
      return;
    }
    reply.status(200).send(changed);
  }

  /** Removes a row: Pull and the statement no longer show it, as if M-Pesa never had it. */
  @Delete('ledger/:id')
  async deleteRow(@Param('id') id: string, @Res() reply: FastifyReply): Promise<void> {
    if (!(await this.simulator.ledger.remove(id))) {
      reply.status(404).send({ statusCode: 404, message: `No ledger row ${id}` });
      return;
    }
    reply.status(200).send({ id, deleted: true });
  }

  /** Empties the ledger (every app process shares it: only for a test that owns the whole simulator). */
  @Delete('ledger')
  async clearLedger(@Res() reply: FastifyReply): Promise<void> {
    await this.simulator.ledger.clear();
    reply.status(200).send({ cleared: true });
  }

  /**
   * The org-portal CSV export of the ledger (simulator-statement.ts): rows completed in [from, to] (default: all, up to
   * now), of one shortcode when `shortCode` is given, newest first, with the running balance.
   */
  @Get('statement.csv')
  async statement(@Query() query: Record<string, unknown>, @Res() reply: FastifyReply): Promise<void> {
    const window = this.window(query, reply, Date.now());
    if (!window) return;
    const rows = await this.rows(window);
    const earlier = Number.isFinite(window.from) ? await this.rows({ ...window, from: Number.NEGATIVE_INFINITY, to: window.from - 1 }) : [];
    const opening = earlier.reduce((sum, entry) => sum + signedCents(entry), 0);
    const first = rows[0] ? Date.parse(rows[0].completedAt) : Date.now();
    const name = statementFileName(window.shortCode, new Date(Number.isFinite(window.from) ? window.from : first), new Date(window.to));
    reply
      .status(200)
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="${name}"`)
      .send(statementCsv(rows, opening));
  }

  /** from/to/shortCode of a query, or undefined after answering 400. `to` never goes beyond `maxTo`. */
  private window(
    query: Record<string, unknown>,
    reply: FastifyReply,
    maxTo: number,
  ): { from: number; to: number; shortCode?: string } | undefined {
    const from = parseStatementBound(query.from, 'from');
    const to = parseStatementBound(query.to, 'to');
    const shortCode = query.shortCode;
    if (from === null || to === null) {
      reply.status(400).send({
        statusCode: 400,
        message: 'from and to take an ISO instant with its zone, a Kenya date-time (2026-12-05 14:00:00) or a Kenya date (2026-12-05)',
      });
      return undefined;
    }
    if (shortCode !== undefined && (typeof shortCode !== 'string' || !SHORTCODE.test(shortCode))) {
      reply.status(400).send({ statusCode: 400, message: 'shortCode must be 5 to 7 digits' });
      return undefined;
    }
    return {
      from: from?.getTime() ?? Number.NEGATIVE_INFINITY,
      to: Math.min(to?.getTime() ?? Number.POSITIVE_INFINITY, maxTo),
      ...(shortCode ? { shortCode } : {}),
    };
  }

  private async rows(window: { from: number; to: number; shortCode?: string }): Promise<LedgerEntry[]> {
    const rows = await this.simulator.ledger.between(window.from, window.to);
    return window.shortCode ? rows.filter((entry) => onShortCode(entry, window.shortCode as string)) : rows;
  }
}

function defaultTransactionType(kind: LedgerKind): string {
  switch (kind) {
    case 'stk':
    case 'c2b':
      return 'CustomerPayBillOnline';
    case 'b2c':
      return 'BusinessPayment';
    case 'reversal':
      return 'TransactionReversal';
    case 'charge':
      return 'Charge';
  }
}
