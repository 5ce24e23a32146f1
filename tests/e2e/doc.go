// Package e2e tests the real f1fetch binary on the real pipelines/*.yaml:
// TestMain builds the binary once, each test runs it as a user would, against
// an in-process mirror of the real data (plugin/mirror/mirrortest), a real
// SQLite file and, when F1FETCH_TEST_POSTGRES_DSN is set, a real PostgreSQL.
// Only loopback traffic.
package e2e
