// The next fire times of the schedule being typed, from the API itself (POST
// /v1/schedules/preview), so the preview and the saved task can never disagree. Asked ~300 ms
// after the last keystroke; an answer for an older input is dropped (the query is aborted). The
// last answer (times or error) stays on screen until the next one arrives, so nothing flickers.

import { useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { client, unwrap, type Schedule } from '../api/client';

/** `value`, once it has stopped changing for `ms`. */
export function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return settled;
}

export const PREVIEW_COUNT = 5;

export interface PreviewAnswer {
  /** The schedule (as JSON) this answers. */
  key: string;
  data: { times: string[]; description: string } | null;
  error: unknown;
}

/** The preview of `schedule` (null: nothing to preview), debounced. */
export function useSchedulePreview(schedule: Schedule | null) {
  const key = schedule === null ? null : JSON.stringify(schedule);
  const settledKey = useDebounced(key, 300);
  const query = useQuery({
    queryKey: ['schedule-preview', settledKey],
    enabled: settledKey !== null,
    queryFn: async ({ signal }) =>
      unwrap(
        await client.POST('/v1/schedules/preview', {
          body: { schedule: JSON.parse(settledKey!) as Schedule, count: PREVIEW_COUNT },
          signal,
        }),
      ),
    retry: false,
    // Times are relative to now: an answer a minute old is stale.
    staleTime: 0,
    gcTime: 60_000,
  });

  const [answer, setAnswer] = useState<PreviewAnswer | null>(null);
  const { isSuccess, isError, data, error } = query;
  useEffect(() => {
    if (settledKey === null) return;
    if (isSuccess) setAnswer({ key: settledKey, data, error: null });
    else if (isError) setAnswer({ key: settledKey, data: null, error });
  }, [isSuccess, isError, data, error, settledKey]);

  return {
    answer,
    /** The answer is for the schedule as it is now (its messages apply to the inputs). */
    answerIsCurrent: answer !== null && answer.key === key,
    /** The input changed and the answer shown is for an earlier one. */
    settling: key !== settledKey || query.isFetching,
  };
}

export type SchedulePreviewState = ReturnType<typeof useSchedulePreview>;
