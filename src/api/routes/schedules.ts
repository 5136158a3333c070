// /v1/schedules/preview: the next fire times of a schedule, before anyone commits to it.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { describeSchedule } from '../../core/schedule/describe.js';
import { validateInstant } from '../../core/schedule/instant.js';
import { previewSchedule } from '../../core/schedule/occurrences.js';
import { anchorSchedule, validateSchedule } from '../../core/schedule/validate.js';
import { AUTH_PROBLEMS, problems } from '../schemas/common.js';
import { PreviewBody, PreviewView } from '../schemas/admin.js';
import { iso } from '../views.js';
import type { RouteDeps } from './route-helpers.js';

/** Preview route. */
export const scheduleRoutes: FastifyPluginAsyncTypebox<RouteDeps & { now: () => number }> = async (app, { now }) => {
  app.post(
    '/schedules/preview',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['schedules'],
        summary: 'Preview a schedule',
        description: 'The next `count` (1..100, default 10) fire times at or after `from` (default now), as a task created now would see them, and the schedule in words.',
        body: PreviewBody,
        response: { 200: PreviewView, ...problems(...AUTH_PROBLEMS) },
      },
    },
    async (request) => {
      const body = request.body;
      const from = body.from === undefined ? now() : validateInstant(body.from, '/from');
      const schedule = anchorSchedule(validateSchedule(body.schedule, '/schedule'), from);
      return { times: previewSchedule(schedule, from, body.count ?? 10).map(iso), description: describeSchedule(schedule) };
    },
  );
};
