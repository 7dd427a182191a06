/**
 * Replay and backtesting: the product topology over a recorded range of
 * touchpoints (a live topic's time range, or a file), with the baseline
 * rules and a variant, on the in-process driver; a report comparing them.
 * See replay/README.md.
 */
export { runReplay, type OutputSink, type ReplayOptions, type ReplayProgress, type ReplayResult, type VariantOptions } from './runner';
export { loadRuleSet, type RuleSet } from './rules';
export { ArraySource, AvroFileSource, NdjsonSource, ReplayInputError, TopicRangeSource, type ReplayRecord, type ReplaySource } from './sources';
export { fileSource, writeAvroFile, writeNdjsonFile, writeReport } from './files';
export { renderHtml } from './html';
export { REPORT_FORMAT, type ReplayReport, type VariantReport } from './report';
export { KafkaOutputSink } from './kafka-output';
