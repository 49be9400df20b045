// C2B in e2e tests: register the app's URLs with the simulator, pay the Paybill as a customer would (the simulator's
// C2B simulate, which runs validation and confirmation against the app), and post Daraja's exact JSON ourselves.
//
//   const stage = sharedStage();
//   await registerC2b(stage, admin.token);
//   const paid = await simulateC2b(stage, { amount: 500, billRefNumber: bill.accountReference });
//   const urls = await registeredC2bUrls(stage);
import Redis from 'ioredis';
import { simulatorDatabaseOf } from '../../src/config/configuration';
import { api, ApiResponse, e2e, sim, uniquePhone, waitFor } from './app';

/** An app under test: the run's shared one (no baseUrl) or one of `startExtraApp()`'s. */
export interface C2bStage {
  baseUrl?: string;
  redisKeyPrefix: string;
  /** The C2B shortcode (MPESA_C2B_SHORTCODE, by default MPESA_SHORTCODE: the simulator's 174379). */
  shortCode: string;
}

export const SIMULATOR_SHORTCODE = '174379';

export function sharedStage(): C2bStage {
  return { redisKeyPrefix: e2e().redisKeyPrefix, shortCode: SIMULATOR_SHORTCODE };
}

/** `POST /api/mpesa/c2b/register` as the given admin. */
export function registerC2b(stage: C2bStage, adminToken: string): Promise<ApiResponse> {
  return api('/api/mpesa/c2b/register', { method: 'POST', token: adminToken, baseUrl: stage.baseUrl });
}

/** The URLs (with their tokens) the app registered with the simulator for the shortcode. */
export async function registeredC2bUrls(stage: C2bStage): Promise<{ validationUrl: string; confirmationUrl: string }> {
  const res = await sim<{ registrations: Array<{ shortCode: string; validationUrl: string; confirmationUrl: string }> }>('/c2b', {
    baseUrl: stage.baseUrl,
  });
  const registration = res.body.registrations?.find((r) => r.shortCode === stage.shortCode);
  if (res.status !== 200 || !registration) throw new Error(`No C2B URLs registered for ${stage.shortCode}: ${res.status} ${res.text}`);
  return registration;
}

/** POSTs a body to a registered URL (its token kept, or changed/removed as asked), as M-Pesa would. */
export function postToRegisteredUrl(
  stage: C2bStage,
  url: string,
  body: unknown,
  query: Record<string, string | null> = {},
): Promise<ApiResponse> {
  const target = new URL(url);
  for (const [name, value] of Object.entries(query)) {
    if (value === null) target.searchParams.delete(name);
    else target.searchParams.set(name, value);
  }
  return api(`${target.pathname}${target.search}`, { method: 'POST', body, baseUrl: stage.baseUrl });
}

export interface SimulateRequest {
  amount: number;
  /** The account number the customer types (Paybill); leave out for Buy Goods. */
  billRefNumber?: string;
  /** The paying phone: a C2B scenario number chooses what happens to the confirmation; default a fresh number. */
  phone?: string;
  commandId?: 'CustomerPayBillOnline' | 'CustomerBuyGoodsOnline';
}

export interface SimulatedC2b {
  originatorConversationId: string;
  phone: string;
}

/**
 * A customer paying the shortcode from the phone: the simulator's `POST /mpesa/c2b/v2/simulate` (docs/daraja.md
 * §9.11), with the access token the app itself holds (asking the simulator for a new one would revoke the app's).
 */
export async function simulateC2b(stage: C2bStage, request: SimulateRequest, adminToken: string): Promise<SimulatedC2b> {
  const phone = request.phone ?? uniquePhone();
  const body = {
    ShortCode: Number(stage.shortCode),
    CommandID: request.commandId ?? 'CustomerPayBillOnline',
    Amount: request.amount,
    Msisdn: Number(phone),
    BillRefNumber: request.billRefNumber ?? null,
  };
  for (let attempt = 0; ; attempt++) {
    const token = await currentSimulatorToken(stage);
    const res = await api('/simulator/daraja/mpesa/c2b/v2/simulate', {
      method: 'POST',
      body,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      baseUrl: stage.baseUrl,
    });
    if (res.status === 200) return { originatorConversationId: res.body.OriginatorCoversationID, phone };
    // No current token (none fetched yet, or expired): the app's next Daraja call fetches one.
    if (attempt >= 3 || !/access token/i.test(res.text)) throw new Error(`C2B simulate: ${res.status} ${res.text}`);
    await registerC2b(stage, adminToken);
  }
}

/** The simulator's record of a simulated payment (status, receipt, validation, confirmations), once it completed. */
export async function simulatedC2b(stage: C2bStage, simulated: SimulatedC2b, status = 'completed'): Promise<Record<string, any>> {
  return waitFor(
    async () => {
      const res = await sim(`/c2b/payments/${encodeURIComponent(simulated.originatorConversationId)}`, { baseUrl: stage.baseUrl });
      return res.status === 200 && res.body.status === status && res.body;
    },
    { message: `simulated C2B payment ${simulated.originatorConversationId} to be ${status}` },
  );
}

async function currentSimulatorToken(stage: C2bStage): Promise<string | null> {
  // The simulator keeps its state apart from the service's: the next logical database, under `<prefix>-daraja`.
  const redis = new Redis(simulatorDatabaseOf(e2e().redisUrl), { lazyConnect: false, maxRetriesPerRequest: 2 });
  try {
    return await redis.get(`${stage.redisKeyPrefix}-daraja:sim:oauth:token`);
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}
