// What each channel type receives, built from an outbox row's body (the webhook JSON fixed at
// commit): Slack Block Kit messages and e-mails, one per notification or one digest for many.
import type { AlertNotificationBody } from '../core/alerts.js';
import type { Notification, NotificationBody } from '../core/notify.js';
import { alertDigestLine, alertMail, alertSlack, isAlertBody } from './render-alert.js';

/** Any outbox body: a run's (or a test's), or an alert's. */
export type AnyBody = NotificationBody | AlertNotificationBody;

/** How an event reads in a title. */
const LABELS: Record<string, string> = {
  'run.failed': 'failed',
  'run.timed_out': 'timed out',
  'run.retries_exhausted': 'failed, retries exhausted',
  'run.lost': 'lost (its node stopped)',
  'run.succeeded': 'succeeded',
  'run.recovered': 'recovered',
  'run.test': 'test notification',
};
const ICONS: Record<string, string> = {
  'run.failed': ':x:',
  'run.timed_out': ':hourglass:',
  'run.retries_exhausted': ':rotating_light:',
  'run.lost': ':warning:',
  'run.succeeded': ':white_check_mark:',
  'run.recovered': ':large_green_circle:',
  'run.test': ':bell:',
};

/** Most notifications a digest lists one by one (the rest are counted). */
const DIGEST_LINES = 20;

export function parseBody(n: Notification): AnyBody {
  return JSON.parse(n.body) as AnyBody;
}

export function label(b: NotificationBody): string {
  return LABELS[b.type] ?? b.type;
}

/** The dashboard's page of a run (ui/src/App.tsx: /runs/:id). */
export function runLink(publicUrl: string, runId: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/runs/${encodeURIComponent(runId)}`;
}

/** Slack mrkdwn escaping: &, < and > are control characters there. */
function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function taskTitle(b: NotificationBody): string {
  return `${b.task.namespace}/${b.task.name}`;
}

/** A Slack incoming-webhook message for one notification. */
export function slackMessage(b: AnyBody, publicUrl: string): unknown {
  if (isAlertBody(b)) return alertSlack(b, publicUrl);
  const link = runLink(publicUrl, b.run.id);
  const title = `${ICONS[b.type] ?? ''} *${esc(taskTitle(b))}* ${esc(label(b))}`.trim();
  const blocks: unknown[] = [
    { type: 'section', text: { type: 'mrkdwn', text: title } },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Task*\n${esc(taskTitle(b))}` },
        { type: 'mrkdwn', text: `*Status*\n${esc(b.run.status)}` },
        { type: 'mrkdwn', text: `*Attempt*\n${b.run.attempt}` },
        { type: 'mrkdwn', text: `*Run*\n<${link}|${esc(b.run.id)}>` },
      ],
    },
  ];
  if (b.run.error !== null) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*Error* \`${esc(b.run.error.code)}\`\n\`\`\`${esc(b.run.error.message.slice(0, 2500))}\`\`\`` } });
  }
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `<${link}|Open the run in Sundial> · ${esc(b.timestamp)}` }] });
  return { text: `${taskTitle(b)} ${label(b)}`, blocks };
}

/** One Slack message standing for many notifications (the channel's rate limit was reached). */
export function slackDigest(bodies: readonly AnyBody[], publicUrl: string): unknown {
  const lines = bodies
    .slice(0, DIGEST_LINES)
    .map((b) => (isAlertBody(b) ? `• ${esc(alertDigestLine(b))}` : `• *${esc(taskTitle(b))}* ${esc(label(b))} <${runLink(publicUrl, b.run.id)}|run>`));
  if (bodies.length > DIGEST_LINES) lines.push(`…and ${bodies.length - DIGEST_LINES} more`);
  const title = `:bell: *${bodies.length} notifications* (more than this channel's rate limit; sent together)`;
  return {
    text: `${bodies.length} Sundial notifications`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: title } },
      { type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } },
    ],
  };
}

export interface Mail {
  subject: string;
  text: string;
}

/** The e-mail of one notification: the subject names the task and the status. */
export function mailMessage(b: AnyBody, publicUrl: string): Mail {
  if (isAlertBody(b)) return alertMail(b, publicUrl);
  const lines = [
    `Task:      ${taskTitle(b)}`,
    `Status:    ${b.run.status} (${label(b)})`,
    `Run:       ${b.run.id}`,
    `Attempt:   ${b.run.attempt}`,
    `Due:       ${b.run.scheduledFor}`,
    `Started:   ${b.run.startedAt ?? '-'}`,
    `Finished:  ${b.run.finishedAt ?? '-'}`,
  ];
  if (b.run.error !== null) lines.push('', `Error (${b.run.error.code}):`, b.run.error.message);
  lines.push('', `Open the run: ${runLink(publicUrl, b.run.id)}`);
  return { subject: `[Sundial] ${taskTitle(b)} ${label(b)}`, text: lines.join('\n') + '\n' };
}

/** One e-mail standing for many notifications. */
export function mailDigest(bodies: readonly AnyBody[], publicUrl: string): Mail {
  const lines = bodies
    .slice(0, DIGEST_LINES * 5)
    .map((b) => (isAlertBody(b) ? `- ${alertDigestLine(b)}` : `- ${taskTitle(b)} ${label(b)} at ${b.timestamp}: ${runLink(publicUrl, b.run.id)}`));
  if (bodies.length > lines.length) lines.push(`...and ${bodies.length - lines.length} more`);
  return {
    subject: `[Sundial] ${bodies.length} notifications`,
    text: `More notifications were due than this channel's rate limit allows, so they come together:\n\n${lines.join('\n')}\n`,
  };
}
