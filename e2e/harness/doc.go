// Package harness holds what every end-to-end test needs to run vmcp as a user would: real
// processes on random loopback ports, readiness found by polling (never by sleeping), and the
// output of every started process kept quiet unless the test fails.
package harness
