import { z } from 'zod';
import type { InputField, InputSchema } from './manifest.ts';

/**
 * Compiles an action's declared input schema to a zod validator. The result is closed
 * (`strict`): a field the manifest does not declare is refused, never passed through (invariant 9).
 */
export function compileInputSchema(schema: InputSchema): z.ZodType<Record<string, unknown>> {
  const shape: Record<string, z.ZodType> = {};
  for (const [name, field] of Object.entries(schema.properties)) {
    const base = compileField(field);
    shape[name] = schema.required.includes(name) ? base : base.optional();
  }
  return z.object(shape).strict() as unknown as z.ZodType<Record<string, unknown>>;
}

function compileField(field: InputField): z.ZodType {
  switch (field.type) {
    case 'string': {
      let s = z.string().max(field.maxLength);
      if (field.minLength !== undefined) s = s.min(field.minLength);
      if (field.pattern !== undefined) s = s.regex(new RegExp(field.pattern, 'u'));
      // NUL can truncate an argv element in the kernel; never a legitimate value.
      s = s.refine((v) => !v.includes('\0'), 'NUL characters are not allowed');
      if (!field.allowLeadingDash)
        s = s.refine((v) => !v.startsWith('-'), 'values starting with "-" are not allowed (they could add flags)');
      if (field.enum !== undefined) {
        const allowed = field.enum;
        return s.refine((v) => allowed.includes(v), `expected one of: ${allowed.join(', ')}`);
      }
      return s;
    }
    case 'integer': {
      let n = z.number().int();
      if (field.minimum !== undefined) n = n.min(field.minimum);
      if (field.maximum !== undefined) n = n.max(field.maximum);
      return n;
    }
    case 'number': {
      let n = z.number();
      if (field.minimum !== undefined) n = n.min(field.minimum);
      if (field.maximum !== undefined) n = n.max(field.maximum);
      return n;
    }
    case 'boolean':
      return z.boolean();
    case 'array': {
      let a = z.array(compileField(field.items)).max(field.maxItems);
      if (field.minItems !== undefined) a = a.min(field.minItems);
      return a;
    }
  }
}
