// The benchmark's no-op task: returns the wall-clock time at which user code actually ran, so
// the benchmark can report when code started, not only when the dispatcher started the run.
export default function stamp() {
  return Date.now();
}
