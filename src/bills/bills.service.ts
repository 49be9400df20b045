import { Injectable, Logger } from '@nestjs/common';
import { isUUID } from 'class-validator';
import { randomUUID } from 'node:crypto';
import { Actor, AuditService } from '../audit/audit.service';
import { AuthUser } from '../auth/auth-user';
import { AppError, ErrorCode, ForbiddenError, NotFoundError } from '../common/errors/app-error';
import { IF_CHANGED } from '../database/sql';
import { isUniqueViolation } from '../database/unique-violation';
import { newAccountReference } from './account-reference';
import { billBalance } from './bill-events';
import { Bill, BillStatus, CANCELLABLE_BILL_STATUSES } from './bill.entity';
import { BillPageDto, BillViewDto, CreateBillDto, ListBillsQueryDto } from './dto/bill.dto';
import { BillsRepository, UNIQUE_ACCOUNT_REFERENCE } from './bills.repository';

/** A clash among 10^12 references is rare; five in a row means something else is wrong. */
const REFERENCE_ATTEMPTS = 5;

/** Bills through the API: create (an admin for anyone, a client for itself), read, list, cancel. */
@Injectable()
export class BillsService {
  private readonly logger = new Logger(BillsService.name);

  constructor(
    private readonly bills: BillsRepository,
    private readonly audit: AuditService,
  ) {}

  async create(user: AuthUser, dto: CreateBillDto, actor: Actor): Promise<BillViewDto> {
    if (user.role !== 'admin' && dto.clientId !== user.id) throw new ForbiddenError('A client may create bills only for itself');
    for (let attempt = 1; ; attempt++) {
      const id = randomUUID();
      const accountReference = newAccountReference();
      const after = { status: 'open', clientId: dto.clientId, amount: dto.amount, accountReference, paymentType: dto.paymentType };
      try {
        const bill = await this.bills.insert(
          {
            id,
            clientId: dto.clientId,
            appointmentId: dto.appointmentId ?? null,
            amount: dto.amount,
            paymentType: dto.paymentType,
            description: dto.description,
            accountReference,
            dueAt: dto.dueAt ?? null,
            createdBy: user.id,
            requestId: actor.requestId ?? null,
          },
          { audit: this.audit.insertSql(actor, [{ action: 'bill.created', entityType: 'bill', entityId: id, after }], IF_CHANGED) },
        );
        this.logger.log(`Bill ${bill.id} (${accountReference}) created for ${bill.clientId}: KES ${bill.amount}`);
        return this.view(bill);
      } catch (error) {
        if (isUniqueViolation(error, UNIQUE_ACCOUNT_REFERENCE) && attempt < REFERENCE_ATTEMPTS) continue;
        throw error;
      }
    }
  }

  async get(user: AuthUser, id: string): Promise<BillViewDto> {
    const bill = await this.visible(user, id);
    return { ...this.view(bill), payments: await this.bills.paymentsOf(bill.id) };
  }

  async list(user: AuthUser, query: ListBillsQueryDto): Promise<BillPageDto> {
    if (user.role !== 'admin' && query.clientId !== undefined && query.clientId !== user.id) {
      throw new ForbiddenError('A client sees only its own bills: leave clientId out or give your own');
    }
    const [items, total] = await this.bills.list({
      clientId: user.role === 'admin' ? query.clientId : user.id,
      status: query.status,
      page: query.page,
      limit: query.limit,
    });
    return { items: items.map((b) => this.view(b)), total, page: query.page, limit: query.limit };
  }

  /** Nothing more is owed; what was paid stays recorded (and is refunded, if at all, by a person). */
  async cancel(user: AuthUser, id: string, reason: string | undefined, actor: Actor): Promise<BillViewDto> {
    const bill = await this.visible(user, id);
    const entry = {
      action: 'bill.cancelled',
      entityType: 'bill',
      entityId: bill.id,
      before: { status: bill.status, paidAmount: bill.paidAmount },
      after: { status: 'cancelled', reason: reason ?? null },
    };
    const cancelled = await this.bills.cancel(bill.id, user.id, reason || null, {
      audit: this.audit.insertSql(actor, [entry], IF_CHANGED),
    });
    if (!cancelled) {
      const now = (await this.bills.findById(bill.id)) ?? bill;
      throw new AppError(
        ErrorCode.CONFLICT,
        now.status === BillStatus.Cancelled
          ? 'This bill is already cancelled'
          : `This bill is ${now.status} (KES ${now.paidAmount} of ${now.amount} paid): only ${CANCELLABLE_BILL_STATUSES.join(' or ')} bills can be cancelled`,
        { billId: now.id, status: now.status },
      );
    }
    this.logger.log(`Bill ${cancelled.id} cancelled by ${user.id}`);
    return this.view(cancelled);
  }

  /** Another client's bill is reported as missing, not forbidden: ids are not to be probed. */
  private async visible(user: AuthUser, id: string): Promise<Bill> {
    const bill = isUUID(id) ? await this.bills.findById(id) : null;
    if (!bill || (user.role !== 'admin' && bill.clientId !== user.id)) throw new NotFoundError('Bill');
    return bill;
  }

  view(bill: Bill): BillViewDto {
    return {
      billId: bill.id,
      clientId: bill.clientId,
      appointmentId: bill.appointmentId,
      amount: bill.amount,
      paidAmount: bill.paidAmount,
      balance: billBalance(bill),
      currency: bill.currency,
      paymentType: bill.paymentType,
      description: bill.description,
      accountReference: bill.accountReference,
      status: bill.status,
      dueAt: bill.dueAt,
      paidAt: bill.paidAt,
      cancelledAt: bill.cancelledAt,
      cancelReason: bill.cancelReason,
      createdAt: bill.createdAt,
      updatedAt: bill.updatedAt,
    };
  }
}
