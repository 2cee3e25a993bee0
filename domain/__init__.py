"""The pure rules of the partner support line. Imports nothing from Kafka, faust or storage."""
