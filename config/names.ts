/**
 * Names that rule files refer to across files and that channels see
 * (counters, segments, triggers, channels, event types, identifier
 * types): lower case letters, digits and _, starting with a letter.
 */
export const NAME_PATTERN = '^[a-z][a-z0-9_]*$';

/** Score names may group with dots (intent.mortgage): names joined by '.'. */
export const DOTTED_NAME_PATTERN = '^[a-z][a-z0-9_]*(\\.[a-z0-9_]+)*$';

export const nameSchema = { type: 'string', pattern: NAME_PATTERN } as const;
export const dottedNameSchema = { type: 'string', pattern: DOTTED_NAME_PATTERN } as const;

// A name a plain object answers from its prototype would read as defined in every file.
const RESERVED = Object.getOwnPropertyNames(Object.prototype).filter((word) => new RegExp(NAME_PATTERN).test(word));

/**
 * A map keyed by names (segments, counters, channels...; `dotted`: score
 * names) whose values are `value`: ajv checks every key.
 */
export function mapByName(value: object, { minProperties = 0, dotted = false } = {}) {
  return {
    type: 'object',
    minProperties,
    propertyNames: { pattern: dotted ? DOTTED_NAME_PATTERN : NAME_PATTERN, not: { enum: RESERVED } },
    additionalProperties: value,
  } as const;
}
