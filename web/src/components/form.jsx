// Form controls with their labels: <Field label hint error> wraps an input (or
// a textarea with multiline), <Select label options=[{value, label}]>, and
// <Checkbox label>. Ids are generated so each label names its control.
import { useId } from 'preact/hooks';

export function Field({ label, hint, error, multiline, id, class: cls, inputRef, ...rest }) {
  const auto = useId();
  const fieldId = id || auto;
  const describedBy = [hint && fieldId + '-hint', error && fieldId + '-err'].filter(Boolean).join(' ') || undefined;
  const Tag = multiline ? 'textarea' : 'input';
  return (
    <div class={`field${cls ? ' ' + cls : ''}`}>
      <label for={fieldId}>{label}</label>
      <Tag
        id={fieldId}
        ref={inputRef}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={describedBy}
        {...rest}
      />
      {hint && (
        <p class="field-hint" id={fieldId + '-hint'}>
          {hint}
        </p>
      )}
      {error && (
        <p class="field-error" id={fieldId + '-err'}>
          {error}
        </p>
      )}
    </div>
  );
}

export function Select({ label, options, id, hint, class: cls, ...rest }) {
  const auto = useId();
  const fieldId = id || auto;
  return (
    <div class={`field${cls ? ' ' + cls : ''}`}>
      <label for={fieldId}>{label}</label>
      <select id={fieldId} aria-describedby={hint ? fieldId + '-hint' : undefined} {...rest}>
        {options.map((o) => (
          <option key={o.value} value={o.value} disabled={o.disabled}>
            {o.label}
          </option>
        ))}
      </select>
      {hint && (
        <p class="field-hint" id={fieldId + '-hint'}>
          {hint}
        </p>
      )}
    </div>
  );
}

export function Checkbox({ label, id, class: cls, ...rest }) {
  const auto = useId();
  const fieldId = id || auto;
  return (
    <div class={`check${cls ? ' ' + cls : ''}`}>
      <input type="checkbox" id={fieldId} {...rest} />
      <label for={fieldId}>{label}</label>
    </div>
  );
}
