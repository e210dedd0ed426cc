"""core: errors with SQLSTATE, the type system, result values. Imports nothing of sqlvec."""
