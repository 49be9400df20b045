// Stops the servers fault-global-setup.ts started (only those whose pid files live under .data/faults).
import { stopAllFaultServers } from './fault-servers';

export default async function faultGlobalTeardown(globalConfig: { maxWorkers: number }): Promise<void> {
  if (process.env.FAULTS_KEEP_SERVERS === 'true') return;
  stopAllFaultServers(Math.max(1, globalConfig.maxWorkers));
}
