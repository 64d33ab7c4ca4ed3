import { Ajv, type ErrorObject } from 'ajv';
import formatsModule, { type FormatsPlugin } from 'ajv-formats';
import type { TSchema, Static } from '@sinclair/typebox';
import { validationFailed, type FieldError } from './errors.js';

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats: FormatsPlugin =
  (formatsModule as unknown as { default?: FormatsPlugin }).default ?? (formatsModule as unknown as FormatsPlugin);

/** Ajv as every layer uses it: all errors at once, no coercion, unknown fields kept (and rejected by the schemas). */
export function createAjv(options: { coerceTypes?: boolean } = {}): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    strict: false,
    coerceTypes: options.coerceTypes ?? false,
    useDefaults: false,
    removeAdditional: false,
  });
  addFormats(ajv);
  return ajv;
}

const ajv = createAjv();

const isNullBranch = (error: ErrorObject) =>
  error.keyword === 'type' && (error.params as { type?: unknown }).type === 'null';

/** Turns Ajv's errors into field errors whose paths are JSON Pointers into the validated value. */
export function toFieldErrors(errors: readonly ErrorObject[] | null | undefined, prefix = ''): FieldError[] {
  const seen = new Set<string>();
  const out: FieldError[] = [];
  // A nullable field that fails its real type also fails "must be null"; that second message only confuses.
  const failedElsewhere = new Set(
    (errors ?? []).filter((e) => !isNullBranch(e) && e.keyword !== 'anyOf').map((e) => e.instancePath),
  );
  for (const error of errors ?? []) {
    if (isNullBranch(error) && failedElsewhere.has(error.instancePath)) continue;
    let path = prefix + error.instancePath;
    let message = error.message ?? 'is not valid';
    if (error.keyword === 'required') {
      path += `/${(error.params as { missingProperty: string }).missingProperty}`;
      message = 'is required';
    } else if (error.keyword === 'additionalProperties') {
      path += `/${(error.params as { additionalProperty: string }).additionalProperty}`;
      message = 'is not a known field';
    } else if (error.keyword === 'enum') {
      message = `must be one of: ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    } else if (error.keyword === 'anyOf' || error.keyword === 'oneOf') {
      continue; // the branch errors above it already say what is wrong
    }
    const key = `${path}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path, message });
  }
  return out;
}

/** Compiles a schema once and returns a checker that throws `validation-failed` with every field error. */
export function compileCheck<S extends TSchema>(schema: S): (value: unknown) => Static<S> {
  const validate = ajv.compile(schema);
  return (value) => {
    if (validate(value)) return value;
    throw validationFailed(toFieldErrors(validate.errors));
  };
}
