"""Reads engagement commands the way a channel team's Python service would:
confluent-kafka (librdkafka) with read_committed, and its Avro deserializer
against the registry's Confluent-compatible API. Prints one JSON line per
command; stops after `count` commands or `timeout` seconds.

usage: read_commands.py <bootstrap> <registry-url> <topic> <count> [timeout]
"""
import json
import sys
import time

from confluent_kafka import Consumer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext


def main() -> int:
    bootstrap, registry_url, topic, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 60.0
    deserialize = AvroDeserializer(SchemaRegistryClient({"url": registry_url}))
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"python-reader-{time.time_ns()}",
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        "enable.auto.commit": False,
    })
    consumer.subscribe([topic])
    read = 0
    deadline = time.monotonic() + timeout
    try:
        while read < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                raise RuntimeError(str(message.error()))
            command = deserialize(message.value(), SerializationContext(topic, MessageField.VALUE))
            print(json.dumps({"key": message.key().decode("utf-8"), "command": command}, default=str), flush=True)
            read += 1
    finally:
        consumer.close()
    return 0 if read == count else 1


if __name__ == "__main__":
    sys.exit(main())
