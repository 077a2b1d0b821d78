// Package e2e tests the dnadb binary end to end: it builds cmd/dnadb once, runs its
// commands as an operator would, and starts "dnadb serve" as real child processes
// over shared stores. It holds tests only.
package e2e
