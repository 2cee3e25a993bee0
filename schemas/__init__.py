"""The wire contract: input facts and derived events, as versioned msgspec Structs."""
