/**
 * Errors as types. `retriable` tells the runtime whether trying the same
 * operation again can help (a broker hiccup) or not (a malformed record,
 * a bad rule): the first is retried with back-off, the second is routed to
 * the dead-letter topic or stops start-up with a message that names the fix.
 */
export abstract class ListeningPostError extends Error {
  abstract readonly retriable: boolean;
  /** Short, stable kind; goes into DLQ headers and metric labels. */
  abstract readonly kind: string;
}

/** A record's bytes could not be turned into a value. */
export class DeserializationError extends ListeningPostError {
  readonly retriable = false;
  override name = 'DeserializationError';
  constructor(
    readonly kind: 'not-avro-wire-format' | 'unknown-schema' | 'malformed-record' | 'invalid-record',
    message: string,
  ) {
    super(message);
  }
}

/**
 * A dependency the engine cannot do without is briefly out of reach (the
 * schema registry, a broker): the same operation may succeed later, so the
 * task waits and tries again instead of dead-lettering the record.
 */
export class UnavailableError extends ListeningPostError {
  readonly retriable = true;
  override name = 'UnavailableError';
  constructor(
    readonly kind: 'registry-unavailable',
    message: string,
  ) {
    super(message);
  }
}

/** A processor threw while handling one record. */
export class ProcessingError extends ListeningPostError {
  readonly retriable = false;
  readonly kind = 'processor-error';
  override name = 'ProcessingError';
  constructor(
    readonly processor: string,
    readonly error: unknown,
  ) {
    super(`processor '${processor}' failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** A store value that its serde cannot write faithfully (checked by the test driver): a defect of the processor or the serde. */
export class StoreValueError extends ListeningPostError {
  readonly retriable = false;
  readonly kind = 'store-value';
  override name = 'StoreValueError';
}

/** A processor produced a record larger than the broker accepts; its input goes to the dead-letter topic. */
export class OutputTooLargeError extends ListeningPostError {
  readonly retriable = false;
  readonly kind = 'output-too-large';
  override name = 'OutputTooLargeError';
}

/** The topology as declared cannot run; names the node, store or topic at fault. */
export class TopologyError extends ListeningPostError {
  readonly retriable = false;
  readonly kind = 'invalid-topology';
  override name = 'TopologyError';
}

/** A config or rule file is invalid; the message names the file and the path inside it. */
export class ConfigError extends ListeningPostError {
  readonly retriable = false;
  readonly kind = 'invalid-config';
  override name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${file}: ${path || '(top level)'}: ${problem}`);
  }
}

/** A schema file or registry answer that the engine cannot use. */
export class SchemaError extends ListeningPostError {
  readonly retriable = false;
  readonly kind = 'invalid-schema';
  override name = 'SchemaError';
}
