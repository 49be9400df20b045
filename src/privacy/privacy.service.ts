import { Injectable } from '@nestjs/common';
import { Actor, AuditService } from '../audit/audit.service';
import { FieldEncryptionService } from '../common/crypto/field-encryption.service';
import { FIELDS } from '../common/crypto/sealed-field';
import { AppError, ErrorCode, ValidationError } from '../common/errors/app-error';
import { maskPhone, normalizeKenyanPhone } from '../common/phone-number';
import { TransactionLogService } from '../audit/transaction-log.service';
import { Database } from '../database/database';
import { NotificationsRepository } from '../notifications/notifications.repository';
import { IdempotencyRepository } from '../payments/idempotency/idempotency.repository';
import { Payment } from '../payments/payment.entity';
import { MpesaReceiptsRepository } from '../payments/mpesa-receipts.repository';
import { PaymentsRepository } from '../payments/payments.repository';
import { PaymentStatus } from '../payments/payment-status';
import { Payout } from '../payouts/payout.entity';
import { PayoutsRepository } from '../payouts/payouts.repository';
import { ReversalsRepository } from '../payouts/reversals/reversals.repository';
import { TransactionStatusRepository } from '../treasury/transaction-status.repository';
import { AnonymisationCountsDto, AnonymisationResultDto, ClientDataExportDto } from './dto/privacy.dto';
import { HolderCount, PersonalDataHolders } from './personal-data-holders';
import { PersonalDataMasker } from './personal-data-masker';
import { maskContactsInText, scrubbedOnly, scrubPersonalData } from './personal-data';
import { DataSubject, PrivacyRepository } from './privacy.repository';

export interface DataSubjectRequest {
  clientId?: string;
  phoneNumber?: string;
}

class NoDataHeldError extends AppError {
  constructor() {
    super(ErrorCode.NOT_FOUND, 'No data is held about this client (no payment or payout matches the client id or phone number)');
  }
}

/**
 * Data-subject requests under the Kenya Data Protection Act 2019 (and the GDPR): access (an export of everything
 * held) and erasure (anonymisation). Financial records and the audit trail are kept; what identifies the person
 * (phone, name, email) is masked. Both requests are audited with who asked and how many records were concerned,
 * never with the data itself.
 */
@Injectable()
export class PrivacyService {
  constructor(
    private readonly db: Database,
    private readonly repository: PrivacyRepository,
    private readonly payments: PaymentsRepository,
    private readonly payouts: PayoutsRepository,
    private readonly reversals: ReversalsRepository,
    private readonly notifications: NotificationsRepository,
    private readonly statusQueries: TransactionStatusRepository,
    private readonly transactionLog: TransactionLogService,
    private readonly idempotency: IdempotencyRepository,
    private readonly receipts: MpesaReceiptsRepository,
    private readonly masker: PersonalDataMasker,
    private readonly crypto: FieldEncryptionService,
    private readonly audit: AuditService,
    private readonly holders: PersonalDataHolders,
  ) {}

  async export(request: DataSubjectRequest, actor: Actor): Promise<ClientDataExportDto> {
    const { subject, maskedPhone } = this.subjectOf(request);
    const payments = await this.repository.paymentsOf(subject);
    const paymentIds = payments.map((p) => p.id);
    const payouts = await this.repository.payoutsOf(subject, paymentIds);
    if (!payments.length && !payouts.length) throw new NoDataHeldError();
    const payoutIds = payouts.map((p) => p.id);
    const receipts = payments.map((p) => p.mpesaReceiptNumber).filter((r): r is string => !!r);
    const clientIds = distinct([...payments.map((p) => p.clientId), ...payouts.map((p) => p.clientId)]);

    const [reversals, notifications, statusQueries, idempotencyRecords, mpesaReceipts] = await Promise.all([
      this.repository.reversalsOf(paymentIds),
      this.repository.notificationsAbout([...paymentIds, ...payoutIds]),
      this.repository.statusQueriesAbout(payoutIds, receipts),
      this.repository.idempotencyRecordsAbout(clientIds, paymentIds),
      this.repository.receiptsOf(paymentIds),
    ]);
    const held = Object.fromEntries(
      await Promise.all(this.holders.all().map(async (holder) => [holder.name, await holder.export({ paymentIds, receipts })] as const)),
    ) as Partial<Record<HolderCount, Record<string, unknown>[]>>;
    const entityIds = [...paymentIds, ...payoutIds, ...reversals.map((r) => r.id)];
    const [auditEvents, transactionLogs] = await Promise.all([
      this.repository.auditEventsAbout(entityIds, request.clientId),
      this.repository.transactionLogsAbout([...entityIds, ...statusQueries.map((q) => q.id)]),
    ]);

    const data: ClientDataExportDto = {
      subject: { clientId: request.clientId ?? null, phoneNumber: maskedPhone },
      generatedAt: new Date(),
      payments: payments.map((p) => this.exportPayment(p)),
      payouts: payouts.map((p) => this.exportPayout(p)),
      reversals: reversals as unknown as Record<string, unknown>[],
      notifications: notifications as unknown as Record<string, unknown>[],
      auditEvents: auditEvents as unknown as Record<string, unknown>[],
      transactionLogs: transactionLogs as unknown as Record<string, unknown>[],
      transactionStatusQueries: statusQueries as unknown as Record<string, unknown>[],
      idempotencyRecords: idempotencyRecords.map(({ clientId, key, state, responseStatus, responseBody, createdAt, expiresAt }) => ({
        clientId,
        key,
        state,
        responseStatus,
        responseBody,
        createdAt,
        expiresAt,
      })),
      mpesaReceipts: mpesaReceipts as unknown as Record<string, unknown>[],
      reconciliationItems: held.reconciliationItems ?? [],
    };
    await this.audit.record(actor, {
      action: 'privacy.exported',
      entityType: 'client',
      entityId: this.auditEntityId(request, clientIds),
      metadata: {
        identifiedBy: this.identifiedBy(request),
        clientIds,
        counts: {
          payments: payments.length,
          payouts: payouts.length,
          reversals: reversals.length,
          notifications: notifications.length,
          auditEvents: auditEvents.length,
          transactionLogs: transactionLogs.length,
          transactionStatusQueries: statusQueries.length,
          idempotencyRecords: idempotencyRecords.length,
          mpesaReceipts: mpesaReceipts.length,
          reconciliationItems: data.reconciliationItems.length,
        },
      },
    });
    return data;
  }

  /**
   * Masks the client's phone numbers, names and emails on every payment and payout, and scrubs them from the
   * documents kept about those records (notification payloads, stored Daraja results, transaction logs, stored
   * Idempotency-Key answers). Refused while money could still move for the client. A repeat changes nothing.
   */
  async anonymise(request: DataSubjectRequest & { reason: string }, actor: Actor): Promise<AnonymisationResultDto> {
    const { subject } = this.subjectOf(request);
    return this.db.transaction(async (tx) => {
      // Locking the payments first also stops a refund being requested for them meanwhile (it locks the payment).
      const payments = await this.repository.lockPaymentsOf(tx, subject);
      const paymentIds = payments.map((p) => p.id);
      const payouts = await this.repository.lockPayoutsOf(tx, subject, paymentIds);
      if (!payments.length && !payouts.length) throw new NoDataHeldError();

      const pending = payments.filter((p) => p.status === PaymentStatus.Pending).length;
      const openPayouts = payouts.filter((p) => this.repository.isOpenPayoutStatus(p.status)).length;
      const openReversals = await this.repository.countOpenReversalsOf(paymentIds, tx);
      // A record flagged for review (paid after timeout, duplicate receipt, payout unresolved) may still owe the
      // client money, which can only be sent to the phone we would be masking.
      const underReview = payments.filter((p) => p.review_reason !== null).length + payouts.filter((p) => p.review_reason !== null).length;
      if (pending || openPayouts || openReversals || underReview) {
        throw new AppError(
          ErrorCode.CONFLICT,
          `Money could still move for this client (${pending} pending payment(s), ${openPayouts} payout(s) and ${openReversals} reversal(s) in flight, ${underReview} record(s) flagged for review); anonymise once they have settled`,
          { pendingPayments: pending, openPayouts, openReversals, underReview },
        );
      }

      const paymentMasks = payments
        .filter((p) => p.personal_data_masked_by !== 'anonymisation')
        .map((p) => this.masker.maskPayment(p, 'anonymisation').row);
      const payoutMasks = payouts
        .filter((p) => p.personal_data_masked_by !== 'anonymisation')
        .map((p) => this.masker.maskPayout(p, 'anonymisation').row);
      const payoutIds = payouts.map((p) => p.id);
      const clientIds = distinct([...payments.map((p) => p.client_id), ...payouts.map((p) => p.client_id)]);
      const counts: AnonymisationCountsDto = {
        payments: (await this.payments.maskPersonalData(tx, paymentMasks, 'anonymisation')).length,
        payouts: (await this.payouts.maskPersonalData(tx, payoutMasks, 'anonymisation')).length,
        notifications: 0,
        clientMessagesCancelled: 0,
        reversals: 0,
        transactionStatusQueries: 0,
        transactionLogs: 0,
        idempotencyRecords: 0,
        mpesaReceipts: 0,
        reconciliationItems: 0,
      };

      const reversals = await this.repository.reversalsOf(paymentIds, tx);
      counts.reversals = await this.reversals.rewriteResults(
        tx,
        scrubbedOnly(reversals.map((r) => ({ id: r.id, before: r.resultPayload }))),
      );
      const notifications = await this.repository.notificationsAbout([...paymentIds, ...payoutIds], tx);
      counts.notifications = await this.notifications.rewritePayloads(
        tx,
        scrubbedOnly(notifications.map((n) => ({ id: n.id, before: n.payload }))),
      );
      counts.clientMessagesCancelled = await this.notifications.skipPendingClientMessagesAbout(tx, [...paymentIds, ...payoutIds]);
      const receipts = distinct(payments.map((p) => p.mpesa_receipt_number));
      const queries = await this.repository.statusQueriesAbout(payoutIds, receipts, tx);
      counts.transactionStatusQueries = await this.statusQueries.rewriteResults(
        tx,
        scrubbedOnly(queries.map((q) => ({ id: q.id, before: q.result }))),
      );
      const logs = await this.repository.transactionLogsAbout(
        [...paymentIds, ...payoutIds, ...reversals.map((r) => r.id), ...queries.map((q) => q.id)],
        tx,
      );
      counts.transactionLogs = await this.transactionLog.rewriteBodies(
        tx,
        logs
          .map((l) => ({ id: l.id, request: scrubPersonalData(l.requestData), response: scrubPersonalData(l.responseData), l }))
          .filter(
            ({ request, response, l }) =>
              JSON.stringify(request) !== JSON.stringify(l.requestData) || JSON.stringify(response) !== JSON.stringify(l.responseData),
          )
          .map(({ id, request, response }) => ({ id, request, response })),
      );
      const records = await this.repository.idempotencyRecordsAbout(clientIds, paymentIds, tx);
      counts.idempotencyRecords = await this.idempotency.rewriteBodies(
        tx,
        records
          .map((r) => ({ clientId: r.clientId, key: r.key, value: scrubPersonalData(r.responseBody), before: r.responseBody }))
          .filter((r) => JSON.stringify(r.value) !== JSON.stringify(r.before))
          .map(({ clientId, key, value }) => ({ clientId, key, value })),
      );

      const ledger = await this.repository.receiptsOf(paymentIds, tx);
      counts.mpesaReceipts = await this.receipts.rewritePayloads(
        tx,
        scrubbedOnly(ledger.map((r) => ({ id: r.receipt, before: r.payloads }))),
      );
      for (const holder of this.holders.all()) counts[holder.name] = await holder.anonymise(tx, { paymentIds, receipts });

      const changed = Object.values(counts).some((n) => n > 0);
      // A repeat writes nothing, not even an audit event: the first request's event already records the erasure.
      if (changed) {
        await this.audit.record(
          actor,
          {
            action: 'privacy.anonymised',
            entityType: 'client',
            entityId: this.auditEntityId(request, clientIds),
            metadata: { identifiedBy: this.identifiedBy(request), reason: maskContactsInText(request.reason), clientIds, counts },
          },
          tx,
        );
      }
      return { changed, counts, clientIds };
    });
  }

  private subjectOf(request: DataSubjectRequest): { subject: DataSubject; maskedPhone: string | null } {
    const clientId = request.clientId?.trim() || undefined;
    if (request.clientId !== undefined && (!clientId || clientId.length > 64))
      throw new ValidationError('clientId must be 1 to 64 characters');
    let phoneHash: string | undefined;
    let maskedPhone: string | null = null;
    if (request.phoneNumber !== undefined) {
      const phone = normalizeKenyanPhone(request.phoneNumber);
      if (!phone) throw new ValidationError('phoneNumber is not a valid Safaricom number');
      phoneHash = this.crypto.lookupHash(phone);
      maskedPhone = maskPhone(phone);
    }
    if (!clientId && !phoneHash) throw new ValidationError('clientId or phoneNumber is required');
    return { subject: { clientId, phoneHash }, maskedPhone };
  }

  private identifiedBy(request: DataSubjectRequest): string[] {
    return [...(request.clientId ? ['clientId'] : []), ...(request.phoneNumber ? ['phoneNumber'] : [])];
  }

  /** The client the event is filed under: the one asked about, else the only one found (a phone may span several). */
  private auditEntityId(request: DataSubjectRequest, clientIds: string[]): string | null {
    return request.clientId ?? (clientIds.length === 1 ? clientIds[0] : null);
  }

  private exportPayment(p: Payment): Record<string, unknown> {
    const { phoneNumberEncrypted, phoneNumberHash: _hash, customerEmailEncrypted, ...rest } = p;
    return {
      ...rest,
      phoneNumber: this.masker.tryDecrypt(phoneNumberEncrypted, FIELDS.paymentPhone(p.id)) ?? null,
      customerEmail: this.masker.tryDecrypt(customerEmailEncrypted, FIELDS.paymentEmail(p.id)) ?? null,
    };
  }

  private exportPayout(p: Payout): Record<string, unknown> {
    const { phoneNumberEncrypted, phoneNumberHash: _hash, ...rest } = p;
    return { ...rest, phoneNumber: this.masker.tryDecrypt(phoneNumberEncrypted, FIELDS.payoutPhone(p.id)) ?? null };
  }
}

function distinct<T>(values: (T | null | undefined)[]): T[] {
  return [...new Set(values.filter((v): v is T => v !== null && v !== undefined))];
}
