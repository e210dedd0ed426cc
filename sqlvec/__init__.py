"""sqlvec: a vector database that speaks PostgreSQL."""
