// What every part of the task form gets: its slice of the form, a way to change it, and the
// messages (the API's or the browser's) for each of its inputs, by JSON pointer.

/** Props of one section of the task form. */
export interface SectionProps<S> {
  value: S;
  onChange: (patch: Partial<S>) => void;
  errors: (pointer: string) => string[] | undefined;
}
