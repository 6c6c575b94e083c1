import { renderToString } from 'preact-render-to-string';
import { describe, expect, it } from 'vitest';
import { Field, Form } from './forms.js';

const form = (state?: Parameters<typeof Field>[0]['state']) =>
  renderToString(
    <Form action="/x" csrf="t">
      <Field name="email" label="E-mail" state={state} autofocus />
      <Field name="password" label="Password" type="password" state={state} />
    </Form>,
  );
const focused = (html: string) => [...html.matchAll(/<input id="field-(\w+)"[^>]*autofocus/g)].map((m) => m[1]);

describe('form fields', () => {
  it(
    '[platform] the usual first field has the focus; after a failed submit, the first field in error has it ' +
      'instead',
    () => {
      expect(focused(form())).toEqual(['email']);
      const failed = form({
        values: { email: 'a@example.com' },
        errors: [{ field: 'password', message: 'is too short' }],
      });
      expect(focused(failed)).toEqual(['password']);
      expect(failed).toContain('aria-invalid="true"');
      expect(failed).toContain('aria-describedby="field-password-error"');
      expect(failed).not.toContain('value="is too short"');
    },
  );
});
