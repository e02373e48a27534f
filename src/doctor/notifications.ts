import { loadNotificationSettings } from '../notifications/index.ts';
import type { Store } from '../store/index.ts';
import type { DoctorCheck } from './checks.ts';

/**
 * Issue 14: notification channels deliver. A channel whose secret cannot be read, or with dead
 * deliveries or a failing last attempt, is a FAIL: reviewers are not hearing about plans.
 */
export async function checkNotificationChannels(store: Store, dir: string, env: NodeJS.ProcessEnv): Promise<DoctorCheck> {
  const control = 'Notification channels deliver (outbox)';
  let settings: Awaited<ReturnType<typeof loadNotificationSettings>>;
  try {
    settings = await loadNotificationSettings(dir, env);
  } catch (err) {
    return { control, result: 'FAIL', evidence: `notifications.yaml cannot be used: ${(err as Error).message}` };
  }
  if (!settings)
    return { control, result: 'NOTE', evidence: 'no notifications.yaml: reviewers are not notified; pending plans wait to be looked at' };
  const names = Object.keys(settings.settings.channels);
  let rows: Awaited<ReturnType<Store['notificationQueue']['channelHealth']>>;
  try {
    rows = await store.notificationQueue.channelHealth();
  } catch (err) {
    return { control, result: 'FAIL', evidence: `the delivery queue cannot be read: ${(err as Error).message}` };
  }
  const failing = rows.filter((r) => names.includes(r.channel) && (r.dead > 0 || r.lastError !== null));
  if (failing.length > 0)
    return {
      control,
      result: 'FAIL',
      evidence: failing.map((r) => `${r.channel}: ${r.dead} dead, ${r.pending} pending, last error: ${r.lastError ?? '-'}`).join('; '),
    };
  const sent = rows.reduce((n, r) => n + r.sent, 0);
  return {
    control,
    result: 'PASS',
    evidence: `${names.length} channel(s) configured (${names.join(', ') || 'none'}); ${sent} delivered, none failing`,
  };
}
