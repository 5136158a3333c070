// Alert bodies through the Slack and e-mail renderers: one message per alert and alert lines in a
// digest, with the rule, the state and the why, and text from the body escaped for Slack.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AlertNotificationBody } from '../../src/core/alerts.js';
import type { NotificationBody } from '../../src/core/notify.js';
import { mailDigest, mailMessage, slackDigest, slackMessage } from '../../src/notify/render.js';

const firing: AlertNotificationBody = {
  type: 'alert.firing',
  timestamp: '2026-12-07T22:00:00.000Z',
  alert: { id: 'a1', status: 'firing', since: '2026-12-07T21:59:00.000Z', resolvedAt: null, why: 'task ops/<nightly> failed 3 times in a row (bound 3)', value: 3 },
  rule: { id: 'r1', name: 'nightly-failing', kind: 'consecutive_failures', namespace: 'ops' },
};
const resolved: AlertNotificationBody = { ...firing, type: 'alert.resolved', alert: { ...firing.alert, status: 'resolved', resolvedAt: '2026-12-07T22:30:00.000Z', why: 'fine' } };
const run: NotificationBody = {
  type: 'run.failed',
  timestamp: '2026-12-07T22:00:00.000Z',
  run: { id: 'run1', taskId: 't1', status: 'failed', attempt: 1, scheduledFor: 'x', startedAt: null, finishedAt: null, error: null },
  task: { id: 't1', name: 'nightly', namespace: 'ops' },
};

describe('alert notifications in Slack and e-mail', () => {
  it('renders one alert as a Slack message naming the state, the rule and why (escaped)', () => {
    const msg = JSON.stringify(slackMessage(firing, 'https://sundial.example.com/'));
    assert.match(msg, /\[FIRING\] ops\/nightly-failing/);
    assert.match(msg, /task ops\/&lt;nightly&gt; failed 3 times in a row/);
    assert.match(msg, /https:\/\/sundial\.example\.com\/alerts/);
    assert.match(JSON.stringify(slackMessage(resolved, 'https://sundial.example.com')), /\[resolved\] ops\/nightly-failing/);
  });

  it('renders one alert as an e-mail with the state in its subject', () => {
    const mail = mailMessage(firing, 'https://sundial.example.com');
    assert.equal(mail.subject, '[Sundial] [FIRING] ops/nightly-failing');
    assert.match(mail.text, /Why:\s+task ops\/<nightly> failed 3 times in a row/);
    assert.match(mail.text, /Resolved:\s+-/);
    assert.match(mailMessage(resolved, 'https://sundial.example.com').text, /Resolved:\s+2026-12-07T22:30:00.000Z/);
  });

  it('lists alerts beside runs in digests', () => {
    const slack = JSON.stringify(slackDigest([run, firing, resolved], 'https://sundial.example.com'));
    assert.match(slack, /ops\/nightly\* failed/);
    assert.match(slack, /\[FIRING\] ops\/nightly-failing/);
    assert.match(slack, /\[resolved\] ops\/nightly-failing: fine/);
    const mail = mailDigest([run, firing], 'https://sundial.example.com');
    assert.equal(mail.subject, '[Sundial] 2 notifications');
    assert.match(mail.text, /- \[FIRING\] ops\/nightly-failing: task ops\/<nightly>/);
  });
});
