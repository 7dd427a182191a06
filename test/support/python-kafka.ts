import { join } from 'node:path';
import { pythonVenv } from '../../deploy/tools';
import { stackSettings } from '../../local-stack/settings';

/** The Python client a channel team might use, pinned: librdkafka's, with its Avro deserializer and registry client. */
const CONFLUENT_KAFKA = 'confluent-kafka[avro]==2.12.1';

/** The python of a virtual environment with confluent-kafka, installed from PyPI on first use. */
export function pythonWithKafka(log: (line: string) => void = () => undefined): string {
  return pythonVenv(join(stackSettings().cacheDir, 'tools', 'python-kafka'), CONFLUENT_KAFKA, log);
}

export const READ_COMMANDS_PY = join(__dirname, 'python', 'read_commands.py');
