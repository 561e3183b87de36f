"""Pure resource code: types, schemas, defaulting, validation, printing; no I/O."""
