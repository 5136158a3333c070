// What Slack and e-mail receive for an alert's firing and resolving (webhooks get the body as
// committed). Kept apart from render.ts, whose messages are about one run.
import type { AlertNotificationBody } from '../core/alerts.js';

export function isAlertBody(b: { type: string }): b is AlertNotificationBody {
  return b.type === 'alert.firing' || b.type === 'alert.resolved';
}

/** The dashboard's Alerts page (ui/): where a receiver goes to see the alert and its rule. */
export function alertsLink(publicUrl: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/alerts`;
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function title(b: AlertNotificationBody): string {
  const state = b.type === 'alert.firing' ? 'FIRING' : 'resolved';
  return `[${state}] ${b.rule.namespace}/${b.rule.name}`;
}

export function alertDigestLine(b: AlertNotificationBody): string {
  return `${title(b)}: ${b.alert.why} (${b.timestamp})`;
}

export function alertSlack(b: AlertNotificationBody, publicUrl: string): unknown {
  const icon = b.type === 'alert.firing' ? ':rotating_light:' : ':large_green_circle:';
  return {
    text: `${title(b)}: ${b.alert.why}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `${icon} *${esc(title(b))}*\n${esc(b.alert.why)}` } },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `${esc(b.rule.kind)} · since ${esc(b.alert.since)} · <${alertsLink(publicUrl)}|Alerts in Sundial>` }],
      },
    ],
  };
}

export function alertMail(b: AlertNotificationBody, publicUrl: string): { subject: string; text: string } {
  const lines = [
    `Rule:      ${b.rule.namespace}/${b.rule.name} (${b.rule.kind})`,
    `Status:    ${b.alert.status}`,
    `Why:       ${b.alert.why}`,
    `Since:     ${b.alert.since}`,
    `Resolved:  ${b.alert.resolvedAt ?? '-'}`,
    '',
    `Alerts: ${alertsLink(publicUrl)}`,
  ];
  return { subject: `[Sundial] ${title(b)}`, text: lines.join('\n') + '\n' };
}
