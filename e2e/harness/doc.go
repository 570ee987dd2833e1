// Package harness holds what every end-to-end test needs to run vmcp as a user would: real
// processes on random loopback ports, readiness found by polling (never by sleeping), and the
// output of every started process kept quiet unless the test fails; the configuration file vmcp
// reads, built from named fields (Config); files replaced as an editor does and locks on shared
// installs; and Step, which tells a long test as named steps that stop at the first failure.
package harness
