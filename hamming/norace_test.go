//go:build !race

package hamming

// raceEnabled reports whether the race detector is on.
const raceEnabled = false
