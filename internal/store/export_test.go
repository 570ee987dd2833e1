package store

// Rebind lets the external tests run rewritten queries on a real PostgreSQL.
var Rebind = rebind
