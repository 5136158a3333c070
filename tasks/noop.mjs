// Does nothing: the benchmark's task, and a quick way to see the scheduler fire.
export default function noop() {
  return null;
}
