import type { ComponentChildren } from 'preact';
import type { FieldError } from '../errors.js';

export interface FormState {
  values?: Record<string, string | undefined>;
  errors?: FieldError[];
  /** A message about the whole form (shown above it, announced to screen readers). */
  message?: string;
}

export function Form({
  action,
  csrf,
  children,
  confirm,
  label,
}: {
  action: string;
  csrf: string;
  children: ComponentChildren;
  confirm?: string;
  label?: string;
}) {
  return (
    <form method="post" action={action} data-confirm={confirm} aria-label={label} novalidate>
      <input type="hidden" name="_csrf" value={csrf} />
      {children}
    </form>
  );
}

/**
 * A form that is one button: an action on something already on the page (revoke, remove, switch).
 * `label` names the form; `buttonLabel` names the button when its visible text alone is ambiguous
 * (a "Remove" in every table row), and must contain that text.
 */
export function ActionButton(props: {
  action: string;
  csrf: string;
  label: string;
  confirm?: string;
  variant?: 'secondary' | 'secondary outline' | 'contrast outline';
  buttonLabel?: string;
  children: ComponentChildren;
}) {
  return (
    <Form action={props.action} csrf={props.csrf} label={props.label} confirm={props.confirm}>
      <button type="submit" class={props.variant ?? 'secondary outline'} aria-label={props.buttonLabel}>
        {props.children}
      </button>
    </Form>
  );
}

export function FormMessage({ state }: { state?: FormState }) {
  if (!state?.message) return null;
  return (
    <p role="alert" class="form-message" id="form-message">
      {state.message}
    </p>
  );
}

export function Field(props: {
  name: string;
  label: string;
  type?: string;
  autocomplete?: string;
  state?: FormState;
  hint?: string;
  required?: boolean;
  value?: string;
  autofocus?: boolean;
}) {
  const { name, label, type = 'text', state } = props;
  const error = state?.errors?.find((e) => e.field === name);
  // After a failed submit the first field in error takes the focus (and only it), not the form's usual first field.
  const focus = state?.errors?.length ? state.errors[0]!.field === name : props.autofocus;
  const id = `field-${name}`;
  const described =
    [error ? `${id}-error` : null, props.hint ? `${id}-hint` : null].filter(Boolean).join(' ') || undefined;
  // Passwords are never echoed back into a form.
  const value = type === 'password' ? undefined : (props.value ?? state?.values?.[name]);
  // The hint and error follow the label (not inside it): they describe the field, they are not its name.
  return (
    <>
      <label for={id}>{label}</label>
      <input
        id={id}
        name={name}
        type={type as 'text'}
        value={value}
        autocomplete={props.autocomplete}
        required={props.required ?? true}
        autofocus={focus}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={described}
      />
      {props.hint && <small id={`${id}-hint`}>{props.hint}</small>}
      {error && (
        <small id={`${id}-error`} class="field-error">
          {error.message}
        </small>
      )}
    </>
  );
}

/** A labelled <select> that shows its error beside it, like Field does for inputs. */
export function SelectField({
  name,
  label,
  options,
  state,
  value,
  hint,
}: {
  name: string;
  label: string;
  options: { value: string; label: string }[];
  state?: FormState;
  value?: string;
  hint?: string;
}) {
  const error = state?.errors?.find((e) => e.field === name);
  const id = `field-${name}`;
  const described = [error ? `${id}-error` : null, hint ? `${id}-hint` : null].filter(Boolean).join(' ') || undefined;
  const selected = state?.values?.[name] ?? value;
  return (
    <label for={id}>
      {label}
      <select id={id} name={name} required aria-invalid={error ? 'true' : undefined} aria-describedby={described}>
        {options.map((o) => (
          <option value={o.value} selected={o.value === selected}>
            {o.label}
          </option>
        ))}
      </select>
      {hint && <small id={`${id}-hint`}>{hint}</small>}
      {error && (
        <small id={`${id}-error`} class="field-error">
          {error.message}
        </small>
      )}
    </label>
  );
}
