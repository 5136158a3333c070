// Splitting a batch for statements that take it as arrays.

/**
 * Splits items into rounds in which each run id appears at most once, keeping their order: an
 * UPDATE … FROM unnest(…) changes a row once however many array rows match it, so a batch that
 * names one run twice (the second write must see the first) runs as two statements.
 */
export function roundsByRun<T extends { runId: string }>(items: readonly T[]): T[][] {
  const rounds: T[][] = [];
  const seen = new Map<string, number>();
  for (const item of items) {
    const round = seen.get(item.runId) ?? 0;
    seen.set(item.runId, round + 1);
    (rounds[round] ??= []).push(item);
  }
  return rounds;
}
