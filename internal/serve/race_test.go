//go:build race

package serve

// raceEnabled: the race detector multiplies memory use, so a resident
// memory bound means nothing under it.
const raceEnabled = true
