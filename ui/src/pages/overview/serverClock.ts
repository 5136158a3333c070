// The server's clock as seen from the browser. The series' minutes and the events' times are the
// server's; a browser clock a few seconds off would shift the chart's minute boundaries and
// mis-sort events against a fetched series. Each response that carries the server's current time
// (GET /v1/stats `at`) gives a sample; of the last few, the one with the shortest round trip is
// the most exact (the last few only, so a jump of the browser's clock is soon corrected).

const KEEP = 10;
const samples: { offsetMs: number; roundTripMs: number }[] = [];
let offsetMs = 0;

/** Records that the server said `serverIso` to a request sent at `sentAt`, answered at `receivedAt` (browser time). */
export function noteServerTime(serverIso: string, sentAt: number, receivedAt: number): void {
  const roundTripMs = receivedAt - sentAt;
  samples.push({ offsetMs: Date.parse(serverIso) - (sentAt + roundTripMs / 2), roundTripMs });
  if (samples.length > KEEP) samples.shift();
  offsetMs = samples.reduce((best, s) => (s.roundTripMs < best.roundTripMs ? s : best)).offsetMs;
}

/** The server's time now, by the browser's clock and the best recent offset (0 before any sample). */
export function serverNow(): number {
  return Date.now() + offsetMs;
}
