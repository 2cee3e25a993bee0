"""Storage adapters shared by producers, consumers and the CLI: the embedded SQLite log and the
on-disk timeline and checkpoints of long-running projectors. Nothing here knows Kafka or faust."""
