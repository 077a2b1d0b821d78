//go:build race

package hamming

// raceEnabled reports whether the race detector is on; the comparisons with brute
// force then run fewer queries, since the detector slows them tenfold.
const raceEnabled = true
