package postgres

// Legacy are the migrations of the schema before the shared queries.
func Legacy() []string { return legacy }
