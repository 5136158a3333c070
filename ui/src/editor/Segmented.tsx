// A one-of-several choice as radio buttons drawn as a segmented control: arrow keys move
// between options, as with any radio group, and the API's messages for it sit underneath.

import { useId } from 'react';
import { FieldErrors } from '../components/ui';

export function Segmented<T extends string>({
  legend,
  options,
  value,
  onChange,
  errors,
}: {
  legend: string;
  options: readonly { value: T; label: string; disabled?: boolean }[];
  value: T;
  onChange: (v: T) => void;
  errors?: string[] | undefined;
}) {
  const name = useId();
  const errId = `${name}-err`;
  return (
    <fieldset className={`segmented${errors ? ' field-invalid' : ''}`}>
      <legend>{legend}</legend>
      <div className="segments">
        {options.map((o) => (
          <label key={o.value} className={`${value === o.value ? 'on' : ''}${o.disabled ? ' disabled' : ''}`}>
            <input
              type="radio"
              name={name}
              value={o.value}
              checked={value === o.value}
              disabled={o.disabled}
              onChange={() => onChange(o.value)}
              {...(errors ? { 'aria-invalid': true, 'aria-describedby': errId } : {})}
            />
            {o.label}
          </label>
        ))}
      </div>
      {errors && <FieldErrors id={errId} errors={errors} />}
    </fieldset>
  );
}
